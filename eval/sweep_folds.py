"""Score one model on both ObliQA folds over a range of BM25 weights, to choose the weight on fold a.

Usage: python eval/sweep_folds.py DATASET_DIR WORKDIR [--model DIR] [--split dev] [--weights 0.3 0.4 ...]

After `kb tune` on the pairs of fold a (`kb eval obliqa-pairs DATASET --fold a -o pairs.jsonl`),
the weight is chosen on fold a (best MAP@10) and only fold b is reported as held out.
Mind that a model tuned on fold a flatters dense retrieval on fold a, which pulls the
chosen weight towards dense.

The index is built once in WORKDIR/index (kept, and reused when its model matches);
every question is encoded once, and each weight runs the real Searcher once per
question over the cached query vectors. Fold b is also split by whether a question's gold passages
were gold for some fold-a question (seen in training) or not.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from kb.config import load_settings
from kb.bench.evaluate import CURVE, obliqa_index, obliqa_questions, score_run
from kb.search import Searcher


class CachedQueries:
    """An encoder that answers known texts from a cache (the questions, encoded in one batch)."""

    def __init__(self, encoder, texts: list[str]) -> None:
        self.inner = encoder
        self.name, self.max_tokens = encoder.name, encoder.max_tokens
        self.cache = dict(zip(texts, encoder.encode(texts)))

    @property
    def dim(self) -> int:
        return self.inner.dim

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def unknown_share(self, texts: list[str]) -> np.ndarray:
        return self.inner.unknown_share(texts)

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in texts if t not in self.cache]
        if missing:
            self.cache.update(zip(missing, self.inner.encode(missing)))
        return np.stack([self.cache[t] for t in texts])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--model", default=None, help="Model directory (default: the configured or packaged one).")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
    args = parser.parse_args()

    settings = load_settings(index=args.workdir / "index", model=args.model)
    kb = obliqa_index(args.dataset, args.workdir, settings)
    folds = {f: obliqa_questions(args.dataset, args.split, f) for f in ("a", "b")}
    seen = {key for q in folds["a"] for key in q.gold}
    folds["b seen"] = [q for q in folds["b"] if q.gold & seen]
    folds["b unseen"] = [q for q in folds["b"] if not q.gold & seen]
    encoder = CachedQueries(kb.encoder, [q.text for qs in folds.values() for q in qs])
    snap = kb.snapshot
    runs = [("dense", 0.0), ("bm25", 1.0)] + [("convex", w) for w in args.weights]
    table: dict = {"model": kb.manifest()["encoder"], "runs": []}
    print(f"model {kb.encoder.name}; fold sizes " + ", ".join(f"{f} {len(qs)}" for f, qs in folds.items()))
    print(f"{'fusion':8} {'w':>4}  " + "  ".join(f"{f:>17}" for f in folds))
    for method, weight in runs:
        searcher = Searcher(snap, encoder, settings.replace(fusion=method, bm25_weight=weight))
        ranked = {q.text: [h.chunk.id for h in searcher.search(q.text, k=CURVE)] for q in folds["a"] + folds["b"]}
        scores = {f: score_run(qs, ranked.__getitem__) for f, qs in folds.items()}
        table["runs"].append({"fusion": method, "bm25_weight": weight,
                              **{f: {k: s[k] for k in ("recall@10", "map@10", "ndcg@10", "mrr@10")}
                                 for f, s in scores.items()}})
        print(f"{method:8} {weight:4.1f}  " + "  ".join(
            f"R {s['recall@10']:.4f} M {s['map@10']:.4f}" for s in scores.values()), flush=True)
    convex = [r for r in table["runs"] if r["fusion"] == "convex"]
    best = max(convex, key=lambda r: (r["a"]["map@10"], r["a"]["recall@10"]))
    table["chosen_on_fold_a"] = best["bm25_weight"]
    print(f"chosen on fold a (MAP@10): bm25 weight {best['bm25_weight']}; fold b there: "
          f"Recall@10 {best['b']['recall@10']:.4f}, MAP@10 {best['b']['map@10']:.4f}")
    (args.workdir / "sweep.json").write_text(json.dumps(table, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
