"""Lab: which passage settles the question? Candidate rerankers on ObliQA, trained on fold a, scored on fold b.

    python eval/rerank_lab.py candidates DATASET WORKDIR           # hybrid top 50 per dev question, cached
    python eval/rerank_lab.py score WORKDIR --scores ce.npy        # metrics on fold a and b of a candidate scoring

Writes WORKDIR/candidates.json: per question, its fold, gold keys, and the hybrid's
top 50 (chunk id, fused, dense and BM25 scores). Rerankers then only have to score
those lists; this script reports Recall@10, MAP@10, MRR@10 and nDCG@10 for a
scoring (an array aligned with the candidate lists) against the hybrid order.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from kb.evaluate import FOLDS, average_precision_at, fold_of, ndcg_at, obliqa_index, obliqa_questions, recall_at
from kb.evaluate import reciprocal_rank_at

DEPTH = 50


def candidates(dataset: Path, workdir: Path) -> None:
    from kb.config import load_settings

    kb = obliqa_index(dataset, workdir, load_settings())
    searcher = kb.searcher()
    rows = []
    for q in obliqa_questions(dataset, "dev"):
        hits = searcher.search(q.text, DEPTH)
        rows.append({"id": q.id, "fold": fold_of(q.id), "question": q.text, "gold": sorted(q.gold),
                     "ids": [h.chunk.id for h in hits], "fused": [h.score for h in hits],
                     "dense": [h.dense for h in hits], "bm25": [h.lexical for h in hits]})
    (workdir / "candidates.json").write_text(json.dumps(rows), encoding="utf-8")
    print(f"{len(rows)} questions, top {DEPTH} each")


def metrics(rows: list[dict], scores: list[np.ndarray] | None, depth: int = DEPTH) -> dict:
    """Metrics by fold of the order ``scores`` give the first ``depth`` candidates (hybrid order below)."""
    out = {}
    for fold in FOLDS:
        r, ap, rr, nd = [], [], [], []
        for i, row in enumerate(rows):
            if row["fold"] != fold:
                continue
            ids = row["ids"]
            if scores is not None:
                s = np.asarray(scores[i][:depth], dtype=float)
                head = [ids[j] for j in np.argsort(-s, kind="stable")]
                ranked = head + ids[depth:]
            else:
                ranked = ids
            gold = set(row["gold"])
            r.append(recall_at(ranked, gold))
            ap.append(average_precision_at(ranked, gold))
            rr.append(reciprocal_rank_at(ranked, gold))
            nd.append(ndcg_at(ranked, gold))
        out[fold] = {"recall@10": round(float(np.mean(r)), 4), "map@10": round(float(np.mean(ap)), 4),
                     "mrr@10": round(float(np.mean(rr)), 4), "ndcg@10": round(float(np.mean(nd)), 4)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("candidates")
    c.add_argument("dataset", type=Path)
    c.add_argument("workdir", type=Path)
    s = sub.add_parser("score")
    s.add_argument("workdir", type=Path)
    s.add_argument("--scores", type=Path)
    args = parser.parse_args()
    if args.cmd == "candidates":
        candidates(args.dataset, args.workdir)
    else:
        rows = json.loads((args.workdir / "candidates.json").read_text())
        scores = list(np.load(args.scores, allow_pickle=True)) if args.scores else None
        print(json.dumps(metrics(rows, scores), indent=2))


if __name__ == "__main__":
    main()


def ce_pairs(dataset: Path, workdir: Path, fold: str, negatives: int) -> list[tuple[str, str, float]]:
    """(question, passage, label) for one fold: gold passages and the top BM25 passages that are not gold."""
    from kb.config import load_settings
    from kb.fusion import top_k

    kb = obliqa_index(dataset, workdir, load_settings())
    snap = kb.snapshot
    by_key = {c.id: c.text for c in snap.chunks}
    keys = [c.id for c in snap.chunks]
    out = []
    for q in obliqa_questions(dataset, "dev", fold):
        gold_texts = {" ".join(by_key[k].split()) for k in q.gold if k in by_key}
        for k in sorted(q.gold):
            if k in by_key:
                out.append((q.text, by_key[k], 1.0))
        taken = 0
        for i in top_k(snap.lexical.scores(q.text, "extended"), 60):
            text = by_key[keys[i]]
            if keys[i] in q.gold or " ".join(text.split()) in gold_texts or len(text) < 100:
                continue
            out.append((q.text, text, 0.0))
            taken += 1
            if taken == negatives:
                break
    return out
