"""The bundled gold question set: does the assistant cite the right section, and say "not found" when it should?

Each line of a gold file is ``{"id", "kind", "question", "answerable", "gold": [{"doc_id", "section"?}], "answer"}``.
A hit matches a gold entry when it is from that document and, where the entry names a
section, that label is one component of the hit's section path.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from kb.errors import KbError
from kb.bench.evaluate import percentile
from kb.types import Hit


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    kind: str
    question: str
    answerable: bool
    gold: tuple[tuple[str, str | None], ...]
    answer: str = ""


def read_gold(path: Path) -> list[GoldQuestion]:
    """Parse a gold file; KbError names the line of any malformed entry."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            gold = tuple((g["doc_id"], g.get("section")) for g in row.get("gold", []))
            out.append(GoldQuestion(row["id"], row["kind"], row["question"], bool(row["answerable"]), gold,
                                    row.get("answer", "")))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise KbError(f"{path}:{n}: not a gold entry ({exc}); see kb/bench/gold.py for the format") from None
        if out[-1].answerable and not gold:
            raise KbError(f"{path}:{n}: answerable question {row['id']} has no gold section")
    return out


def in_fold(question_id: str, fold: str) -> bool:
    """Whether a question belongs to ``fold``: "odd" or "even" (by the number in its id), or "all"."""
    if fold == "all":
        return True
    number = int(re.sub(r"\D", "", question_id) or 0)
    return (number % 2 == 1) == (fold == "odd")


def matches(hit_doc: str, hit_section: str, gold: tuple[tuple[str, str | None], ...]) -> bool:
    """Whether a hit of ``hit_doc`` at ``hit_section`` is one of the ``gold`` (doc_id, section) entries.

    A gold section matches a component of the path that is the same label, or that names
    the same article, rule or 第…条 ("Article 9 Reception plans are approved as follows"
    is Article 9, however its heading line is labelled).
    """
    parts = hit_section.split(" > ")
    return any(hit_doc == doc and (section is None or section in parts or _same_unit(section, parts))
               for doc, section in gold)


def _same_unit(section: str, parts: list[str]) -> bool:
    from kb.references import label_refs

    wanted = [ref for ref in label_refs(section) if ref[0]]  # a kind: Article 9, 第九条, not a bare "1."
    return bool(wanted) and any(set(wanted) & set(label_refs(part)) for part in parts)


def _hit_matches(hit: Hit, gold) -> bool:
    return matches(hit.chunk.doc_id, hit.chunk.section, gold)


def run_gold(kb, questions: list[GoldQuestion]) -> dict:
    """Score search and answers of ``kb`` on the gold questions."""
    import time

    records = kb.snapshot.records
    recall5, rr10, cited, nf, found_answerable, superseded, times, misses = [], [], [], [], [], [], [], []
    evidence: list[tuple[bool, float]] = []  # (answerable, best cosine) for the threshold sweep
    for q in questions:
        t0 = time.perf_counter()
        answer = kb.ask(q.question)
        times.append((time.perf_counter() - t0) * 1000)
        hits = kb.search(q.question, k=10)
        if not any(h.exact for h in hits):
            evidence.append((q.answerable, max((h.dense for h in hits), default=0.0)))
        if not q.answerable:
            nf.append(not answer.found)
            continue
        ranks = [i for i, h in enumerate(hits, 1) if _hit_matches(h, q.gold)]
        recall5.append(bool(ranks) and ranks[0] <= 5)
        rr10.append(1 / ranks[0] if ranks else 0.0)
        # The quote's own section: a merged passage's later article, or an item, is where the answer is.
        first_ok = bool(answer.citations) and matches(answer.citations[0].hit.chunk.doc_id,
                                                      answer.citations[0].where, q.gold)
        cited.append(answer.found and first_ok)
        found_answerable.append(answer.found)
        superseded.append(any(
            c.hit.status != "in_force" and c.hit.superseded_by in records for c in answer.citations
        ))
        if not first_ok:
            got = answer.citations[0].hit if answer.citations else None
            misses.append({"id": q.id, "question": q.question, "gold": [list(g) for g in q.gold],
                           "cited": [got.chunk.doc_id, answer.citations[0].where] if got else None})
    mean = lambda xs: round(statistics.fmean(xs), 4) if xs else 0.0  # noqa: E731
    by_kind = {}
    for kind in sorted({q.kind for q in questions if q.answerable}):
        idx = [i for i, q in enumerate(q for q in questions if q.answerable) if q.kind == kind]
        by_kind[kind] = {"questions": len(idx), "recall@5": mean([recall5[i] for i in idx]),
                         "citation_accuracy": mean([cited[i] for i in idx])}
    return {
        "recall@5": mean(recall5),
        "mrr@10": mean(rr10),
        "citation_accuracy": mean(cited),
        "not_found_accuracy": mean(nf),
        "superseded_rate": mean(superseded),
        "answered_rate": mean(found_answerable),
        "questions": len(questions),
        "answerable": len(recall5),
        "unanswerable": len(nf),
        "p50_ms": round(percentile(times, 50), 1),
        "p95_ms": round(percentile(times, 95), 1),
        "by_kind": by_kind,
        "threshold_sweep": _sweep(evidence),
        "misses": misses,
    }


def _sweep(evidence: list[tuple[bool, float]]) -> list[dict]:
    """For candidate answer thresholds: the share of unanswerable questions refused
    and of answerable ones still answered (questions naming a unit exactly are left out:
    they are answered whatever the threshold)."""
    rows = []
    for t in [x / 100 for x in range(20, 61, 2)]:
        unans = [best < t for answerable, best in evidence if not answerable]
        ans = [best >= t for answerable, best in evidence if answerable]
        rows.append({"threshold": t, "not_found_accuracy": round(statistics.fmean(unans), 4) if unans else 0.0,
                     "answered_rate": round(statistics.fmean(ans), 4) if ans else 0.0})
    return rows
