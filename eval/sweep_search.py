"""Score search settings on both ObliQA dev folds over one built index, without re-encoding.

Usage: python eval/sweep_search.py DATASET_DIR WORKDIR [--model DIR] [--split dev]
                                   --grid bm25_k1=0.5,1.5 fusion_norm=zscore,minmax bm25_weight=0.3,0.5 ...

With ``--beir`` the dataset is in the BEIR layout (STARD), the index is the one
``kb eval beir --workdir WORKDIR`` built, and the folds are the questions of odd
ids (a, the tuning half) and of even ids (b). ``--rerank`` lets the configured
reranker reorder the hits, as ``kb eval`` does.

Every combination of the grid's values runs the real Searcher once per question
(questions encoded once). Settings the BM25 index is built with (bm25_k1, bm25_b,
bm25_bigrams) rebuild BM25 in memory, as an index built otherwise does on load.
Choose on fold a (best MAP@10, then Recall@10); fold b is the held-out check.
The index is built in WORKDIR/index when it is missing or holds another model.
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import fields
from pathlib import Path

from kb.config import Settings, _coerce, load_settings
from kb.bench.benchmarks import beir_questions
from kb.bench.evaluate import CURVE, obliqa_index, obliqa_questions, score_run
from kb.index import KnowledgeBase
from kb.search import Searcher

try:
    from eval.sweep_folds import CachedQueries
except ImportError:  # run as a script from eval/
    from sweep_folds import CachedQueries


def parse_grid(items: list[str]) -> dict[str, list]:
    names = {f.name for f in fields(Settings)}
    grid = {}
    for item in items:
        name, _, values = item.partition("=")
        if name not in names or not values:
            raise SystemExit(f"bad grid item {item!r}: write NAME=V1,V2 with a setting name")
        grid[name] = [_coerce(name, v) for v in values.split(",")]
    return grid


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--model", default=None)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--grid", nargs="*", default=[])
    parser.add_argument("--out", type=Path, help="Write the table as JSON here.")
    parser.add_argument("--beir", action="store_true", help="A BEIR dataset; folds by odd (a) and even (b) ids.")
    parser.add_argument("--rerank", action="store_true", help="Rerank with the configured reranker.")
    args = parser.parse_args()

    grid = parse_grid(args.grid)
    settings = load_settings(index=args.workdir / "index", model=args.model)
    if args.beir:
        kb = KnowledgeBase(settings)
        every = beir_questions(args.dataset, args.split)
        folds = {"a": [q for q in every if int(q.id) % 2], "b": [q for q in every if not int(q.id) % 2]}
    else:
        kb = obliqa_index(args.dataset, args.workdir, settings)
        folds = {f: obliqa_questions(args.dataset, args.split, f) for f in ("a", "b")}
    folds["all"] = folds["a"] + folds["b"]
    encoder = CachedQueries(kb.encoder, [q.text for q in folds["all"]])
    rows = []
    print(f"model {kb.encoder.name}; " + ", ".join(f"fold {f} {len(qs)}" for f, qs in folds.items()))
    for combo in itertools.product(*grid.values()):
        changes = dict(zip(grid, combo))
        variant = KnowledgeBase(settings.replace(**changes), encoder)
        searcher = Searcher(variant.snapshot, encoder, variant.settings, variant.reranker if args.rerank else None)
        ranked = {q.text: [h.chunk.id for h in searcher.search(q.text, k=CURVE)] for q in folds["all"]}
        scores = {f: score_run(qs, ranked.__getitem__) for f, qs in folds.items()}
        rows.append({**changes, **{f: {k: s[k] for k in ("recall@10", "map@10")} for f, s in scores.items()}})
        print(" ".join(f"{k}={v}" for k, v in changes.items()) + "  " + "  ".join(
            f"{f}: R {s['recall@10']:.4f} M {s['map@10']:.4f}" for f, s in scores.items()), flush=True)
    if rows:
        best = max(rows, key=lambda r: (r["a"]["map@10"], r["a"]["recall@10"]))
        print("chosen on fold a (MAP@10):", {k: best[k] for k in grid}, "fold b there:", best["b"])
    if args.out:
        args.out.write_text(json.dumps({"model": kb.manifest()["encoder"], "runs": rows}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
