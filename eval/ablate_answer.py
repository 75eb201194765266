"""Each step of composing an answer, alone and left out, on the gold sets (README: rule ablation).

    python eval/ablate_answer.py [--workdir DIR] [--sets eval/heldout.jsonl eval/gold.jsonl] [-o results.json]

One index of corpus/ (built once in --workdir with the configured settings) is asked
every question under each variant of ``answer_off``: all steps on, all off, each step
alone (the others off), and each step left out (the others on). Prints citation
accuracy / not-found accuracy per set and variant.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from kb.config import ANSWER_STEPS, load_settings
from kb.bench.gold import read_gold, run_gold
from kb.index import KnowledgeBase

ROOT = Path(__file__).resolve().parents[1]


def variants() -> list[tuple[str, str]]:
    steps = list(ANSWER_STEPS)
    out = [("all steps", ""), ("no step", ",".join(steps))]
    out += [(f"only {s}", ",".join(t for t in steps if t != s)) for s in steps]
    return out + [(f"without {s}", s) for s in steps]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kb-ablate"))
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--sets", nargs="+", type=Path, default=[ROOT / "eval/heldout.jsonl", ROOT / "eval/gold.jsonl"])
    parser.add_argument("--only", nargs="*", help="Variant names to run (default: all).")
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args()
    settings = load_settings().replace(index=args.workdir / "index")
    base = KnowledgeBase(settings)
    report = base.ingest([args.corpus])
    if report.failed:
        raise SystemExit(f"{len(report.failed)} corpus files failed: {report.failed[0].reason}")
    sets = {path.stem: read_gold(path) for path in args.sets}
    results = {}
    for name, off in variants():
        if args.only and name not in args.only:
            continue
        kb = KnowledgeBase(dataclasses.replace(settings, answer_off=off), encoder=base.encoder)
        kb._shared.reranker = base.reranker  # one load of each model for every variant
        row = {}
        for set_name, questions in sets.items():
            r = run_gold(kb, questions)
            row[set_name] = {k: r[k] for k in ("citation_accuracy", "not_found_accuracy", "answered_rate", "p50_ms")}
        results[name] = row
        print(f"{name:24} " + "  ".join(f"{s}: {v['citation_accuracy']:.4f} / {v['not_found_accuracy']:.4f}"
                                       for s, v in row.items()), flush=True)
    if args.output:
        args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
