"""Lexical variants for Chinese retrieval, in numpy, on a BEIR dataset (STARD): no index, no model.

    python eval/explore_zh.py DATASET [--split dev] [--only NAME ...]

Questions are split by the parity of their id: "odd" is the tuning half, "even"
the check half. Each variant is a BM25 (bm25s weights as a sparse matrix, so a
query can weight its terms) over some term set; two-field variants add a second
BM25 with a weight. Prints Recall@10 / MAP@10 on odd, even and all.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from kb.bench.evaluate import average_precision_at, recall_at
from kb.lexical import Tokenizer, with_pairs

ASKING_ZH = sorted("请问 什么 怎么办 怎么样 怎么 怎样 如何 是否 可以 可不可以 能否 能不能 是不是 有没有 哪些 哪个 哪里 为什么 为何 多少 吗 呢 吧 谁".split(), key=len, reverse=True)
_ASK = re.compile("|".join(ASKING_ZH))


def drop_asking(text):
    return _ASK.sub(" ", text)

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def read(dataset: Path, split: str):
    corpus = [json.loads(line) for line in (dataset / "corpus.jsonl").open(encoding="utf-8")]
    queries = {str(r["_id"]): r["text"] for r in map(json.loads, (dataset / "queries.jsonl").open(encoding="utf-8"))}
    gold: dict[str, set[str]] = {}
    for line in (dataset / "qrels" / f"{split}.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        q, d, s = line.split("\t")
        if float(s) > 0:
            gold.setdefault(q, set()).add(d)
    return corpus, [(q, queries[q], gold[q]) for q in gold]


class Field:
    """One BM25 over a term set, as a (docs x vocab) CSC matrix of bm25s weights."""

    def __init__(self, doc_terms: list[list[str]], k1: float, b: float, method: str = "lucene") -> None:
        import bm25s

        r = bm25s.BM25(k1=k1, b=b, method=method)
        r.index(doc_terms, show_progress=False)
        s = r.scores
        n_vocab = len(s["indptr"]) - 1
        self.matrix = sp.csc_matrix((s["data"], s["indices"], s["indptr"]), shape=(s["num_docs"], n_vocab)).tocsr()
        self.vocab = r.vocab_dict
        self.n = s["num_docs"]
        df = np.diff(s["indptr"])
        self.df = df

    def scores(self, terms: dict[str, float]) -> np.ndarray:
        idx = [self.vocab[t] for t in terms if t in self.vocab]
        if not idx:
            return np.zeros(self.n, dtype=np.float32)
        w = np.array([terms[t] for t in terms if t in self.vocab], dtype=np.float32)
        return np.asarray(self.matrix[:, idx] @ w).ravel()


def bigram_terms(texts, stop="basic", pairs=False):
    tok = Tokenizer(stop)
    out = tok(texts)
    return [with_pairs(t) if pairs else t for t in out]


def jieba_terms(texts, mode="search", stop=frozenset()):
    import jieba

    jieba.setLogLevel(60)
    cut = jieba.cut_for_search if mode == "search" else jieba.cut
    out = []
    for t in texts:
        words = [w.lower() for w in cut(t) if w.strip() and re.search(r"\w", w)]
        out.append([w for w in words if w not in stop])
    return out


def bag(terms: list[str]) -> dict[str, float]:
    return {t: float(c) for t, c in Counter(terms).items()}


def rm3(field: Field, doc_terms, first: np.ndarray, qbag: dict[str, float], fb_docs: int, fb_terms: int, weight: float):
    """Query terms plus ``fb_terms`` terms of the top ``fb_docs`` documents, weighted by their share."""
    top = np.argsort(-first)[:fb_docs]
    w = first[top]
    w = w / w.sum() if w.sum() > 0 else np.ones_like(w) / len(w)
    mass: Counter = Counter()
    for d, wd in zip(top, w):
        counts = Counter(doc_terms[d])
        total = sum(counts.values())
        for t, c in counts.items():
            mass[t] += wd * c / total
    # idf-like filter: skip terms in over 10 % of documents
    cand = [(t, m) for t, m in mass.items() if field.df[field.vocab[t]] < 0.1 * field.n] if field.vocab else []
    cand.sort(key=lambda x: -x[1])
    expand = dict(cand[:fb_terms])
    total_q = sum(qbag.values())
    total_e = sum(expand.values()) or 1.0
    out = {t: (1 - weight) * c / total_q for t, c in qbag.items()}
    for t, m in expand.items():
        out[t] = out.get(t, 0.0) + weight * m / total_e
    return out


def evaluate(ranked_ids, questions):
    rows = {"odd": [], "even": [], "all": []}
    for (qid, _, gold), ranked in zip(questions, ranked_ids):
        r, ap = recall_at(ranked, gold, 10), average_precision_at(ranked, gold, 10)
        rows["all"].append((r, ap))
        rows["odd" if int(qid) % 2 else "even"].append((r, ap))
    return {k: (statistics.fmean(x for x, _ in v), statistics.fmean(y for _, y in v)) for k, v in rows.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    corpus, questions = read(args.dataset, args.split)
    ids = [r["_id"] for r in corpus]
    texts = [r["text"] for r in corpus]
    titles = [r.get("title", "") for r in corpus]
    qtexts = [q for _, q, _ in questions]
    cache: dict = {}

    def terms(kind):
        if kind not in cache:
            if kind == "bigram":
                cache[kind] = bigram_terms(texts)
            elif kind == "bigram+pairs":
                cache[kind] = bigram_terms(texts, pairs=True)
            elif kind == "title bigram+text bigram":
                cache[kind] = bigram_terms([f"{a} {b}" for a, b in zip(titles, texts)])
            elif kind == "title+text bigram+pairs":
                cache[kind] = bigram_terms([f"{a}\n\n{b}" for a, b in zip(titles, texts)], pairs=True)
            elif kind == "title bigram+pairs":
                cache[kind] = bigram_terms(titles, pairs=True)
            elif kind == "title bigram":
                cache[kind] = bigram_terms(titles)
            elif kind == "jieba":
                cache[kind] = jieba_terms(texts)
            elif kind == "jieba-cut":
                cache[kind] = jieba_terms(texts, "cut")
            elif kind == "mixP":
                cache[kind] = [a + ["w:" + w for w in b] for a, b in zip(terms("bigram"), terms("jieba"))]
            elif kind == "mix":
                cache[kind] = [a + b for a, b in zip(terms("bigram"), terms("jieba"))]
            elif kind == "mixcutP":
                cache[kind] = [a + ["w:" + w for w in b] for a, b in zip(terms("bigram"), terms("jieba-cut"))]
            elif kind == "title jieba":
                cache[kind] = jieba_terms(titles)
        return cache[kind]

    def qterms(kind, stop):
        if kind.startswith("mix"):
            a, b = qterms("bigram", stop), qterms("jieba-cut" if "cut" in kind else "jieba", stop)
            return [x + [("w:" if kind.endswith("P") else "") + w for w in y] for x, y in zip(a, b)]
        if kind.startswith("bigram") or kind.endswith("bigram") or "bigram" in kind:
            if stop == "zh":
                return Tokenizer("extended")([drop_asking(q) for q in qtexts])
            q = Tokenizer(stop)(qtexts)
            if "pairs" in kind:
                basic = Tokenizer("basic")(qtexts)
                q = [a + with_pairs(b)[len(b):] for a, b in zip(q, basic)]
            return q
        src = [drop_asking(q) for q in qtexts] if stop == "zh" else qtexts
        return jieba_terms(src, "cut" if kind == "jieba-cut" else "search")

    law_names = sorted(set(titles))
    law_index = {t: i for i, t in enumerate(law_names)}
    law_of = np.array([law_index[t] for t in titles])

    def law_field(kind, k1, b):
        key = ("law", kind, k1, b)
        if key not in cache:
            per_law = [[] for _ in law_names]
            for d, ts in enumerate(terms(kind)):
                per_law[law_of[d]].extend(ts)
            cache[key] = Field(per_law, k1, b)
        return cache[key]

    def run(name, fields, stop="basic", fb=None, ctx=None):
        """fields: [(kind, k1, b, weight)]; ctx: (mode, weight)"""
        if args.only and name not in args.only:
            return
        score = np.zeros((len(questions), len(corpus)), dtype=np.float32)
        for kind, k1, b, weight in fields:
            key = (kind, k1, b)
            if key not in cache:
                cache[key] = Field(terms(kind), k1, b)
            f = cache[key]
            qs = qterms(kind, stop)
            for i, q in enumerate(qs):
                qb = bag(q)
                s = f.scores(qb)
                if fb:
                    s = f.scores(rm3(f, terms(kind), s, qb, *fb))
                score[i] += weight * s
        if ctx:
            mode, lam = ctx
            for i in range(len(questions)):
                row = score[i]
                top = row.max() or 1.0
                if mode == "lawmax":
                    c = np.zeros(len(law_names), dtype=np.float32)
                    np.maximum.at(c, law_of, row)
                elif mode == "lawbm25":
                    kind, k1, b, _ = fields[0]
                    c = law_field(kind, k1, b).scores(bag(qterms(kind, stop)[i]))
                c = c / (c.max() or 1.0)
                score[i] = row / top + lam * c[law_of]
        ranked = [[ids[j] for j in np.argsort(-row)[:10]] for row in score]
        res = evaluate(ranked, questions)
        print(f"{name:55s} " + "  ".join(f"{k} {r:.4f}/{m:.4f}" for k, (r, m) in res.items()), flush=True)

    for spec in sys.stdin.read().splitlines() if not sys.stdin.isatty() else []:
        if spec.strip() and not spec.startswith("#"):
            name, code = spec.split("=", 1)
            run(name.strip(), *eval(code))


if __name__ == "__main__":
    main()
