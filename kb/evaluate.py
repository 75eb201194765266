"""Benchmarks: ObliQA passage retrieval scored as in the RIRAG shared task.

The dataset stays outside the repository; these functions read it where it
lies and write only temporary files.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kb.errors import KbError

HEADING_CHARS = 100  # a passage this short with no sentence end is a heading


def recall_at(ranked: Sequence[str], gold: set[str], k: int = 10) -> float:
    """|gold ∩ top k| / |gold|."""
    return len(gold & set(ranked[:k])) / len(gold) if gold else 0.0


def average_precision_at(ranked: Sequence[str], gold: set[str], k: int = 10) -> float:
    """Sum of precision@r over hits at rank r <= k, over min(|gold|, k)."""
    hits, total = 0, 0.0
    for r, item in enumerate(ranked[:k], 1):
        if item in gold:
            hits += 1
            total += hits / r
    return total / min(len(gold), k) if gold else 0.0


def reciprocal_rank_at(ranked: Sequence[str], gold: set[str], k: int = 10) -> float:
    for r, item in enumerate(ranked[:k], 1):
        if item in gold:
            return 1.0 / r
    return 0.0


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else 0.0


def _norm_id(passage_id: str) -> str:
    return passage_id.strip().rstrip(".")


def passage_key(document_id: int | str, passage_id: str) -> str:
    """The id a passage gets in the index: "<DocumentID>|<PassageID>" ("1.1" and "1.1." stay apart)."""
    return f"{document_id}|{passage_id.strip()}"


def _is_heading(text: str) -> bool:
    text = text.strip()
    return 0 < len(text) <= HEADING_CHARS and not re.search(r"[.:;]$", text) and "\n" not in text


def obliqa_to_jsonl(dataset: Path, out: Path) -> int:
    """Write ObliQA's structured passages as our JSONL; returns the passages written.

    Each passage gets its parent headings as its section path, derived from the
    dotted PassageID ("1.1.2" under "1.1" under "1"), since a passage's own
    text does not say what it is about. Repeated (DocumentID, PassageID)
    pairs count as one passage; passages without text are left out.
    """
    names = json.loads((dataset / "document_map.json").read_text(encoding="utf-8"))
    written = 0
    with open(out, "w", encoding="utf-8") as sink:
        for path in sorted((dataset / "docs").glob("*.json"), key=lambda p: int(p.stem)):
            passages = json.loads(path.read_text(encoding="utf-8"))
            doc_number = path.stem
            title = max(names.get(doc_number, {}).get("names", [doc_number]), key=len)
            headings: dict[str, str] = {}
            seen: set[str] = set()
            for p in passages:
                pid = _norm_id(p["PassageID"])
                text = p["Passage"] or ""
                if _is_heading(text) and pid not in headings:
                    headings[pid] = text.strip()
                key = passage_key(p["DocumentID"], p["PassageID"])
                if not text.strip() or key in seen:
                    continue
                seen.add(key)
                parts = pid.split(".")
                parents = [headings[".".join(parts[:i])] for i in range(1, len(parts)) if ".".join(parts[:i]) in headings]
                row = {"id": key, "text": text, "doc_id": f"obliqa/{doc_number}", "title": title,
                       "section": " > ".join([*parents, pid]), "type": "regulation"}
                sink.write(json.dumps(row, ensure_ascii=False) + "\n")
                written += 1
    return written


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    gold: frozenset[str]


def obliqa_questions(dataset: Path, split: str) -> list[Question]:
    path = dataset / f"ObliQA_{split}.json"
    if not path.is_file():
        raise KbError(f"no {path.name} in {dataset}: give the folder that holds ObliQA_{split}.json")
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [
        Question(r["QuestionID"], r["Question"], frozenset(passage_key(p["DocumentID"], p["PassageID"]) for p in r["Passages"]))
        for r in rows
    ]


def score_run(
    questions: Sequence[Question], retrieve: Callable[[str], list[str]], k: int = 10
) -> dict[str, float]:
    """Recall@k, MAP@k, MRR@k and per-query latency of ``retrieve`` over the questions."""
    recall, ap, rr, times = [], [], [], []
    for q in questions:
        t0 = time.perf_counter()
        ranked = retrieve(q.text)
        times.append((time.perf_counter() - t0) * 1000)
        ranked = list(dict.fromkeys(ranked))[:k]
        recall.append(recall_at(ranked, set(q.gold), k))
        ap.append(average_precision_at(ranked, set(q.gold), k))
        rr.append(reciprocal_rank_at(ranked, set(q.gold), k))
    return {
        f"recall@{k}": round(statistics.fmean(recall), 4),
        f"map@{k}": round(statistics.fmean(ap), 4),
        f"mrr@{k}": round(statistics.fmean(rr), 4),
        "queries": len(questions),
        "p50_ms": round(percentile(times, 50), 2),
        "p95_ms": round(percentile(times, 95), 2),
    }


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_obliqa_passages(dataset: Path, split: str, settings, workdir: Path, baseline: bool = True) -> dict:
    """Index ObliQA's passages as given, ask every question of the split, score the top 10.

    Args:
        dataset: Folder holding docs/, document_map.json and ObliQA_<split>.json.
        split: "dev", or any split with the same layout.
        settings: Settings to evaluate; their ``index`` is replaced by one under ``workdir``.
        workdir: Scratch folder for the JSONL and the index.
        baseline: Also time a plain sentence-transformers encode of the same passages.
    """
    from kb.index import KnowledgeBase

    questions = obliqa_questions(dataset, split)
    workdir.mkdir(parents=True, exist_ok=True)
    jsonl = workdir / "obliqa-passages.jsonl"
    passages = obliqa_to_jsonl(dataset, jsonl)
    kb = KnowledgeBase(settings.replace(index=workdir / "index"))
    kb.encoder.encode(["warm up"])  # load the model outside the timings
    result: dict = {"passages": passages}
    if baseline and hasattr(kb.encoder, "model"):
        texts = [json.loads(line)["text"] for line in jsonl.open(encoding="utf-8")]
        t0 = time.perf_counter()
        kb.encoder.model.encode(texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                                show_progress_bar=False)
        result["baseline_encode_passages_per_s"] = round(passages / (time.perf_counter() - t0), 1)
    t0 = time.perf_counter()
    report = kb.ingest([jsonl], rebuild=True)
    elapsed = time.perf_counter() - t0
    if report.failed:
        raise KbError(f"ingest of the passages failed: {report.failed[0].reason}")
    result["ingest_passages_per_s"] = round(passages / elapsed, 1)
    kb.search("warm up")

    def retrieve(question: str) -> list[str]:
        return [h.chunk.id for h in kb.search(question, k=10)]

    result.update(score_run(questions, retrieve))
    result["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    result["fusion"] = f"{settings.fusion} (bm25 weight {settings.bm25_weight})"
    return result
