"""Score the sentence checker on the labelled pairs of eval/grounding_pairs.jsonl, over a sweep of thresholds.

    python eval/check_grounding.py                 # the packaged encoder; prints a table, writes eval/results/grounding-pairs.json
    python eval/check_grounding.py --encoder hashing

Each line of the pairs file is one sentence of a reply with the passages it was given
({"id", "kind", "supported", "sentence", "passages": [{"title", "number", "date", "section", "text"}]}).
For each threshold: the share of supported sentences kept, and of unsupported ones caught, by kind.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb.readers.grounding import MIN_SUPPORT, Grounding  # noqa: E402

PAIRS = ROOT / "eval/grounding_pairs.jsonl"


def read_pairs(path: Path = PAIRS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def context(passage: dict) -> str:
    return "\n".join(passage.get(k) or "" for k in ("title", "number", "date", "section"))


def judge(grounding: Grounding, pairs: list[dict]) -> list[dict]:
    """Each pair with the checker's verdict (passed, score, reason)."""
    out = []
    for pair in pairs:
        evidence = grounding.evidence([(p["text"], context(p)) for p in pair["passages"]])
        verdict = grounding.check(pair["sentence"], evidence)
        out.append({**pair, "passed": verdict.supported, "score": verdict.support, "reason": verdict.reason})
    return out


def summarise(judged: list[dict]) -> dict:
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for row in judged:
        by_kind[row["kind"]].append(row["passed"] == row["supported"])  # kept if supported, caught if not
    good = [r["passed"] for r in judged if r["supported"]]
    bad = [not r["passed"] for r in judged if not r["supported"]]
    return {"supported_kept": round(sum(good) / len(good), 4), "unsupported_caught": round(sum(bad) / len(bad), 4),
            "pairs": len(judged), "by_kind": {k: f"{sum(v)}/{len(v)}" for k, v in sorted(by_kind.items())}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder", default="", help='"" for the packaged model, or "hashing".')
    parser.add_argument("--out", type=Path, default=ROOT / "eval/results/grounding-pairs.json")
    args = parser.parse_args()
    from kb.config import Settings
    from kb.encoder import make_encoder

    s = Settings()
    encoder = make_encoder(args.encoder, s.batch_size, s.backend, s.cache_dir)
    pairs = read_pairs()
    rows = []
    for threshold in [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7]:
        judged = judge(Grounding(encoder, threshold), pairs)
        rows.append({"min_support": threshold, **summarise(judged)})
        print(f"{threshold:.2f}  kept {rows[-1]['supported_kept']:.3f}  caught {rows[-1]['unsupported_caught']:.3f}  "
              f"{rows[-1]['by_kind']}")
    judged = judge(Grounding(encoder, MIN_SUPPORT), pairs)
    for row in judged:
        if row["passed"] != row["supported"]:
            print(f"  wrong at {MIN_SUPPORT}: {row['id']} {row['kind']} score {row['score']:.3f} {row['sentence']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"encoder": encoder.name, "default": MIN_SUPPORT, "sweep": rows,
                                    "pairs": [{k: r[k] for k in ("id", "kind", "supported", "passed", "score", "reason")}
                                              for r in judged]}, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
