"""Sweep fusion methods and BM25 weights on ObliQA (passage mode) over one built index.

Usage: python eval/sweep_fusion.py DATASET_DIR INDEX_DIR [--split dev]
Build INDEX_DIR first, e.g. with `kb eval obliqa DATASET_DIR --workdir W`, which keeps it in W/index.
Each question is encoded once; candidates and their raw scores are cached,
so every (method, weight) pair is scored on the same candidates.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np

from kb.config import load_settings
from kb.bench.evaluate import average_precision_at, obliqa_questions, recall_at
from kb.fusion import fuse, top_k
from kb.index import KnowledgeBase


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("index", type=Path)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--pool", type=int, default=100)
    args = parser.parse_args()
    kb = KnowledgeBase(load_settings(index=args.index))
    snap = kb.snapshot
    questions = obliqa_questions(args.dataset, args.split)
    qvecs = kb.encoder.encode([q.text for q in questions])
    cache = []
    for q, qv in zip(questions, qvecs):
        lex = snap.lexical.scores(q.text)
        ids, _ = snap.dense.search(qv[None, :], args.pool)
        cand = np.unique(np.concatenate([top_k(lex, args.pool), snap.positions(ids[0][ids[0] >= 0])]))
        cache.append((cand, snap.vectors[cand] @ qv, lex[cand], set(q.gold)))
    keys = np.array([c.id for c in snap.chunks], dtype=object)
    grid = [("bm25", 1.0), ("dense", 0.0), ("rrf", 0.5)] + [("convex", w / 10) for w in range(3, 9)]
    for method, w in grid:
        recall, ap = [], []
        for cand, dense, lex, gold in cache:
            fused = fuse(method, dense, lex, w)
            ranked = list(keys[cand[np.argsort(-fused, kind="stable")[:10]]])
            recall.append(recall_at(ranked, gold))
            ap.append(average_precision_at(ranked, gold))
        print(f"{method:7} w={w:.1f}  recall@10={statistics.fmean(recall):.4f}  map@10={statistics.fmean(ap):.4f}")


if __name__ == "__main__":
    main()
