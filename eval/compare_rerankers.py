"""Rerankers side by side on the office's question sets (one index of corpus/, built once).

    python eval/compare_rerankers.py none "" DIR... [--sets eval/office-train.jsonl:even eval/heldout.jsonl ...]

Each reranker setting ("none", "" for the shipped one, or a directory) answers every question of
every set; a set may be limited to its odd or even ids (``FILE:odd``), so a model trained on one
half of eval/office-train.jsonl is measured on the other. Prints citation accuracy, not-found
accuracy, Recall@5 and MRR@10 per set, and p50 of `ask`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from kb.config import load_settings
from kb.bench.gold import in_fold, read_gold, run_gold
from kb.index import KnowledgeBase

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SETS = ["eval/office-train.jsonl:even", "eval/heldout.jsonl", "eval/gold.jsonl", "eval/gold-zh.jsonl"]


def read_set(spec: str):
    path, _, fold = spec.partition(":")
    questions = read_gold(ROOT / path if not Path(path).is_absolute() else Path(path))
    if fold:
        questions = [q for q in questions if in_fold(q.id, fold)]
    return Path(path).stem + (f":{fold}" if fold else ""), questions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rerankers", nargs="+")
    parser.add_argument("--sets", nargs="+", default=DEFAULT_SETS)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kb-compare"))
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args()
    settings = load_settings().replace(index=args.workdir / "index", reranker="none")
    base = KnowledgeBase(settings)
    if not base.exists():
        base.ingest([args.corpus])
    sets = dict(read_set(s) for s in args.sets)
    results = {}
    for setting in args.rerankers:
        kb = KnowledgeBase(dataclasses.replace(settings, reranker=setting), encoder=base.encoder)
        row = {}
        for name, questions in sets.items():
            r = run_gold(kb, questions)
            row[name] = {k: r[k] for k in ("citation_accuracy", "not_found_accuracy", "recall@5", "mrr@10", "p50_ms")}
        results[setting or "shipped"] = row
        print(f"{setting or 'shipped':40} " + "  ".join(
            f"{n}: {v['citation_accuracy']:.3f}/{v['not_found_accuracy']:.3f} r5 {v['recall@5']:.3f}"
            for n, v in row.items()), flush=True)
    if args.output:
        args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
