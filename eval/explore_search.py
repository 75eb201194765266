"""Query-side ideas for ObliQA, tried in a numpy copy of the fused ranking over one built index.

Usage: python eval/explore_search.py DATASET_DIR INDEX_DIR [--only feedback context norms bm25]

Questions are encoded once and BM25 is rebuilt here with explicit parameters
(not the index's own), so each row is the 2026-11-26 search (min-max convex sum,
BM25 weight 0.5, k1 1.5, b 0.75, basic stop words, no word pairs) with one thing
changed. The copy leaves out the exact-reference bonus and the superseded
penalty, so its figures sit up to 0.003 from the Searcher's. Prints Recall@10
and MAP@10 on fold a, fold b and all of dev; README "Search settings" lists them.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from kb.config import load_settings
from kb.bench.evaluate import average_precision_at, fold_of, obliqa_questions, recall_at
from kb.fusion import minmax, top_k
from kb.index import KnowledgeBase
from kb.lexical import Tokenizer, with_pairs


class Bench:
    def __init__(self, dataset: Path, index: Path) -> None:
        import bm25s

        self.bm25s = bm25s
        self.kb = KnowledgeBase(load_settings(index=index))
        snap = self.snap = self.kb.snapshot
        self.questions = obliqa_questions(dataset, "dev")
        self.folds = np.array([fold_of(q.id) for q in self.questions])
        self.keys = np.array([c.id for c in snap.chunks], dtype=object)
        self.V = snap.vectors
        self.D = self.kb.encoder.encode([q.text for q in self.questions]) @ self.V.T
        self.texts = [self.kb.lexical_text(snap.records[c.doc_id].document, c) for c in snap.chunks]
        self.doc_terms = Tokenizer()(self.texts)
        texts = [q.text for q in self.questions]
        self.q_basic, self.q_ext = Tokenizer()(texts), Tokenizer("extended")(texts)
        self.retriever = None

    def bm25(self, k1=1.5, b=0.75, method="lucene", extended=False, pairs=False, docs=None):
        docs = docs or self.doc_terms
        if pairs:
            docs = [with_pairs(t) for t in docs]
        r = self.bm25s.BM25(k1=k1, b=b, method=method)
        r.index(docs, show_progress=False)
        queries = self.q_ext if extended else self.q_basic
        if pairs:
            queries = [q + with_pairs(b)[len(b):] for q, b in zip(queries, self.q_basic)]
        L = np.zeros(self.D.shape, dtype=np.float32)
        for i, terms in enumerate(queries):
            ids = r.get_tokens_ids(terms)
            if ids:
                L[i] = r.get_scores_from_ids(ids)
        self.retriever = r
        return L

    def score(self, ranked) -> str:
        rows = []
        for q, r in zip(self.questions, ranked):
            top = list(self.keys[r[:10]])
            rows.append((recall_at(top, set(q.gold)), average_precision_at(top, set(q.gold))))
        rows = np.array(rows)
        out = []
        for name, m in (("a", self.folds == "a"), ("b", self.folds == "b"), ("dev", slice(None))):
            out.append(f"{name}: R {rows[m, 0].mean():.4f} M {rows[m, 1].mean():.4f}")
        return "  ".join(out)


def candidates(lex, d, pool=100):
    return np.unique(np.concatenate([top_k(lex, pool), top_k(d, pool)]))


def norm(x, how, full=None):
    if how == "minmax":
        return minmax(x)
    if how == "z":  # over the candidates
        return (x - x.mean()) / (x.std() + 1e-9)
    if how == "max":
        return x / (x.max() + 1e-9)
    if how == "zfull":  # over the whole collection
        return (x - full.mean()) / (full.std() + 1e-9)
    raise ValueError(how)


def fused_ranking(L, D, w=0.5, how="minmax", pool=100):
    out = []
    for lex, d in zip(L, D):
        cand = candidates(lex, d, pool)
        f = w * norm(lex[cand], how, lex) + (1 - w) * norm(d[cand], how, d)
        out.append(cand[np.argsort(-f, kind="stable")])
    return out


def rocchio(bench, L, m, alpha, w=0.5):
    """Dense feedback: q' = normalise(q + alpha * mean of the top-m fused hits' vectors), candidates re-scored."""
    out = []
    Q = bench.kb.encoder.encode([q.text for q in bench.questions])
    for lex, d, q in zip(L, bench.D, Q):
        cand = candidates(lex, d)
        f = w * minmax(lex[cand]) + (1 - w) * minmax(d[cand])
        top = cand[np.argsort(-f, kind="stable")[:m]]
        q2 = q + alpha * bench.V[top].mean(0)
        q2 /= np.linalg.norm(q2)
        f = w * minmax(lex[cand]) + (1 - w) * minmax(bench.V[cand] @ q2)
        out.append(cand[np.argsort(-f, kind="stable")])
    return out


def rm3(bench, L, m, t, lam, w=0.5):
    """Lexical feedback: the t best new terms of the top-m fused hits (BM25 term weights of each hit,
    normalised per hit, weighted by its fused score), scored by BM25 and added at weight lam."""
    s = bench.retriever.scores
    S = sp.csc_matrix((s["data"], s["indices"], s["indptr"]), shape=(s["num_docs"], len(s["indptr"]) - 1))
    R = S.tocsr()
    out = []
    for i, (lex, d) in enumerate(zip(L, bench.D)):
        cand = candidates(lex, d)
        f = w * minmax(lex[cand]) + (1 - w) * minmax(d[cand])
        order = np.argsort(-f, kind="stable")[:m]
        rows = R[cand[order]]
        rows = sp.diags(1.0 / (np.asarray(rows.sum(1)).ravel() + 1e-9)) @ rows
        tw = np.asarray((sp.diags(f[order]) @ rows).sum(0)).ravel()
        tw[bench.retriever.get_tokens_ids(bench.q_basic[i]) or []] = 0
        terms = top_k(tw, t)
        terms = terms[tw[terms] > 0]
        if len(terms):
            ex = np.asarray(S[:, terms] @ (tw[terms] / tw[terms].sum())).ravel()
            lex = lex + lam * ex * (lex.max() / (ex.max() + 1e-9))
            cand = np.unique(np.concatenate([cand, top_k(lex, 100)]))
            f = w * minmax(lex[cand]) + (1 - w) * minmax(d[cand])
        out.append(cand[np.argsort(-f, kind="stable")])
    return out


def context(bench, L, group, agg, beta, w=0.5):
    """Add beta * (best or mean fused score among the candidates of the hit's document or parent section)."""
    snap = bench.snap
    if group == "doc":
        gid = snap.chunk_doc
    else:
        keys = {}
        gid = np.array([keys.setdefault((c.doc_id, c.section.rsplit(" > ", 1)[0]), len(keys)) for c in snap.chunks])
    out = []
    for lex, d in zip(L, bench.D):
        cand = candidates(lex, d)
        f = w * minmax(lex[cand]) + (1 - w) * minmax(d[cand])
        _, inv = np.unique(gid[cand], return_inverse=True)
        if agg == "max":
            g = np.full(inv.max() + 1, -np.inf, dtype=np.float32)
            np.maximum.at(g, inv, f)
        else:
            g = np.bincount(inv, f) / np.bincount(inv)
        f = f + beta * g[inv]
        out.append(cand[np.argsort(-f, kind="stable")])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("index", type=Path)
    parser.add_argument("--only", nargs="*", default=["feedback", "context", "norms", "bm25"])
    args = parser.parse_args()
    bench = Bench(args.dataset, args.index)
    L = bench.bm25()
    print(f"{'2026-11-26 search':58} {bench.score(fused_ranking(L, bench.D))}", flush=True)
    if "feedback" in args.only:
        for m, alpha in itertools.product((1, 3, 10), (0.3, 1.0)):
            print(f"{f'dense feedback, top {m}, alpha {alpha}':58} {bench.score(rocchio(bench, L, m, alpha))}", flush=True)
        for m, t, lam in ((3, 20, 0.1), (3, 20, 0.3), (10, 5, 0.1)):
            print(f"{f'lexical feedback, top {m}, {t} terms, weight {lam}':58} {bench.score(rm3(bench, L, m, t, lam))}",
                  flush=True)
    if "context" in args.only:
        for group, agg, beta in (("doc", "max", 0.1), ("doc", "mean", 0.1), ("parent", "max", 0.2), ("parent", "mean", 0.2)):
            print(f"{f'{group} context, {agg}, {beta}':58} {bench.score(context(bench, L, group, agg, beta))}", flush=True)
    if "norms" in args.only:
        for pool in (50, 200):
            print(f"{f'pool {pool}':58} {bench.score(fused_ranking(L, bench.D, pool=pool))}", flush=True)
        for how in ("z", "max"):
            print(f"{f'normalised by {how} over the candidates':58} {bench.score(fused_ranking(L, bench.D, how=how))}",
                  flush=True)
    if "bm25" in args.only:
        for method in ("robertson", "bm25l", "bm25+"):
            print(f"{f'BM25 {method}':58} {bench.score(fused_ranking(bench.bm25(method=method), bench.D))}", flush=True)
        for k1 in (0.9, 0.5):
            print(f"{f'k1 {k1}':58} {bench.score(fused_ranking(bench.bm25(k1=k1), bench.D))}", flush=True)
        L = bench.bm25(k1=0.5, extended=True)
        print(f"{'k1 0.5, extended query stop words':58} {bench.score(fused_ranking(L, bench.D))}", flush=True)
        print(f"{'  + z-score over the collection, weight 0.35':58} {bench.score(fused_ranking(L, bench.D, 0.35, 'zfull'))}",
              flush=True)
        ext_docs = Tokenizer("extended")(bench.texts)
        L = bench.bm25(k1=0.5, extended=True, docs=ext_docs)
        print(f"{'k1 0.5, extended stop words in documents too':58} {bench.score(fused_ranking(L, bench.D))}", flush=True)
        snap = bench.snap
        body = Tokenizer()([c.text for c in snap.chunks])
        heads = Tokenizer()([f"{snap.records[c.doc_id].document.title}\n{c.section}" for c in snap.chunks])
        for pairs in (False, True):
            L = bench.bm25(k1=0.5, extended=True, pairs=pairs, docs=body)
            L = L + (0.25 if not pairs else 0.15) * bench.bm25(k1=0.5, extended=True, pairs=pairs, docs=heads)
            name = f"fields: text + {0.25 if not pairs else 0.15} x (title, headings){', pairs' if pairs else ''}, z, 0.35"
            print(f"{name:58} {bench.score(fused_ranking(L, bench.D, 0.35, 'zfull'))}", flush=True)
        L = bench.bm25(k1=0.5, extended=True, pairs=True)
        for w in (0.3, 0.35):
            print(f"{f'  + word pairs, weight {w}':58} {bench.score(fused_ranking(L, bench.D, w, 'zfull'))}", flush=True)
        words = bench.bm25(k1=0.5, extended=True)
        only_pairs = [with_pairs(t)[len(t):] for t in bench.doc_terms]
        q_pairs, bench.q_ext = bench.q_ext, [with_pairs(b)[len(b):] for b in bench.q_basic]
        L = words + 0.5 * bench.bm25(k1=0.5, extended=True, docs=only_pairs)
        bench.q_ext = q_pairs
        print(f"{'  pairs as a second BM25 at weight 0.5, weight 0.35':58} {bench.score(fused_ranking(L, bench.D, 0.35, 'zfull'))}",
              flush=True)


if __name__ == "__main__":
    main()
