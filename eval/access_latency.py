"""What the permission filter costs a search: the same questions searched as someone who sees everything
and as a reader who sees part of the index, on an existing index (e.g. ObliQA's 13k passages).

    python eval/access_latency.py INDEX --questions ../shared/datasets/obliqa/...json --n 300

The index's documents are given levels and groups in memory (nothing is written): by their position,
a share ``--hidden`` of them above the reader's clearance or in another department. Prints one JSON
object: search p50/p95 for both people, the first search of the reader (the view is made then), and the
share of the reader's hits that were hidden documents (must be 0).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

from kb.access import Principal
from kb.config import load_settings
from kb.index import KnowledgeBase
from kb.snapshot import Snapshot


def questions_from(path: Path, n: int) -> list[str]:
    rows = json.loads(path.read_text(encoding="utf-8")) if path.suffix == ".json" else [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [r.get("Question") or r.get("question") or r.get("text") for r in rows]
    return [q for q in texts if q][:n]


def labelled(snap: Snapshot, hidden: float) -> Snapshot:
    """``snap`` with every document given a level and groups: of each 10, the first ``hidden`` share
    secret (alternately) or in the finance department only; the rest public."""
    records = {}
    for n, (doc_id, rec) in enumerate(snap.records.items()):
        meta = dict(rec.document.meta)
        if (n % 10) < hidden * 10:
            meta.update({"level": "secret"} if n % 2 else {"level": "internal", "groups": ["finance"]})
        records[doc_id] = dataclasses.replace(rec, document=dataclasses.replace(rec.document, meta=meta))
    return Snapshot(records, snap.chunks, snap.dense, snap.lexical)


def timed(kb: KnowledgeBase, questions: list[str]) -> tuple[list[float], list]:
    times, found = [], []
    for q in questions:
        start = time.perf_counter()
        hits = kb.search(q, k=10)
        times.append((time.perf_counter() - start) * 1000)
        found.append(hits)
    return times, found


def pct(values: list[float], q: float) -> float:
    return round(statistics.quantiles(values, n=100)[int(q) - 1], 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index", type=Path)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--hidden", type=float, default=0.5)
    args = parser.parse_args()
    kb = KnowledgeBase(load_settings(index=args.index))
    full = labelled(kb.snapshot, args.hidden)
    kb._install(full)  # the labelled snapshot, in memory only
    questions = questions_from(args.questions, args.n)
    reader = kb.as_user(Principal("reader", "reader", 1, ("secretariat",)))
    kb.search(questions[0])  # warm the encoder
    start = time.perf_counter()
    reader.search(questions[0])
    first = (time.perf_counter() - start) * 1000
    everyone_ms, _ = timed(kb, questions)
    reader_ms, found = timed(reader, questions)
    visible = set(reader.snapshot.records)
    leaked = sum(h.chunk.doc_id not in visible for hits in found for h in hits)
    print(json.dumps({
        "chunks": len(full), "documents": len(full.records), "reader_sees_chunks": len(reader.snapshot),
        "questions": len(questions), "first_reader_search_ms": round(first, 1),
        "everyone_p50_ms": pct(everyone_ms, 50), "everyone_p95_ms": pct(everyone_ms, 95),
        "reader_p50_ms": pct(reader_ms, 50), "reader_p95_ms": pct(reader_ms, 95),
        "hidden_hits": leaked,
    }, indent=2))


if __name__ == "__main__":
    main()
