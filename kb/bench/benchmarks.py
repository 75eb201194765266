"""Benchmarks over our own chunks and over other datasets.

* ObliQA, files mode: the 40 regulations' text files go through our loaders
  and chunker as a user's files would, and a retrieved chunk is scored by
  where it lies in the document text (span overlap, as the dataset's README
  describes) rather than by passage id.
* BEIR: any dataset in the BEIR layout, indexed as pre-chunked passages and
  scored like ObliQA's passage mode.

Passage mode and the shared metrics live in kb.bench.evaluate.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.errors import KbError
from kb.bench.evaluate import CURVE, Question, _peak_rss_mb, index_and_score, passage_key, percentile

COVER_SHARE = 0.8  # a chunk inside a longer gold passage counts when this share of it is gold text

Span = tuple[str, int, int]  # (doc_id, start, end), offsets into the whitespace-normalised document text

OBLIQA_FILES_LAYOUT = "txt/*.txt, document_map.json (DocumentID -> txt file) and ObliQA_<split>.json"
BEIR_LAYOUT = "corpus.jsonl (_id, title, text), queries.jsonl (_id, text) and qrels/<split>.tsv (query-id, corpus-id, score)"


# --- spans ---------------------------------------------------------------------------


_TOKEN = re.compile(r"\S+")


def normalise_space(text: str) -> str:
    """``text`` with every run of white space made one space, and no space at either end."""
    return " ".join(_TOKEN.findall(text))


class NormalisedText:
    """A text with its white space normalised, and the map from original offsets into it.

    Gold passages are matched in the normalised text (one ``str.find`` per
    passage); chunk offsets into the original text are mapped into the same
    coordinates, so that overlaps are measured in characters of text, not of
    white space.
    """

    def __init__(self, text: str) -> None:
        tokens = list(_TOKEN.finditer(text))
        self.text = " ".join(m.group() for m in tokens)
        self._starts = np.fromiter((m.start() for m in tokens), np.int64, len(tokens))
        self._ends = np.fromiter((m.end() for m in tokens), np.int64, len(tokens))
        lengths = self._ends - self._starts
        # Token i starts after the earlier tokens and one space between each pair.
        self._norm_starts = np.concatenate([[0], np.cumsum(lengths + 1)])[: len(tokens)].astype(np.int64)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The normalised offsets of the original ``text[start:end]`` (white space at its ends dropped)."""
        n = len(self._starts)
        j = int(np.searchsorted(self._ends, start, side="right"))  # first token ending after start
        lo = len(self.text) if j == n else int(self._norm_starts[j] + max(0, start - self._starts[j]))
        i = int(np.searchsorted(self._starts, end, side="left")) - 1  # last token starting before end
        hi = 0 if i < 0 else int(self._norm_starts[i] + min(end, self._ends[i]) - self._starts[i])
        return lo, max(lo, hi)

    def find_all(self, passage: str) -> list[tuple[int, int]]:
        """Every place where ``passage`` stands in the text, white space normalised."""
        needle = normalise_space(passage)
        found: list[tuple[int, int]] = []
        if not needle:
            return found
        at = self.text.find(needle)
        while at >= 0:
            found.append((at, at + len(needle)))
            at = self.text.find(needle, at + 1)
        return found


def covers(chunk: tuple[int, int], gold: tuple[int, int], share: float = COVER_SHARE) -> bool:
    """Whether a chunk counts for a gold passage in the same document.

    It does when it contains the passage, or when at least ``share`` of the
    chunk's own text is passage text (a passage longer than a chunk).
    """
    (cs, ce), (gs, ge) = chunk, gold
    if cs <= gs and ge <= ce:
        return True
    overlap = min(ce, ge) - max(cs, gs)
    return ce > cs and overlap >= share * (ce - cs)


@dataclass(frozen=True)
class SpanQuestion:
    """A question whose gold passages are places in the documents.

    Attributes:
        gold: Each gold passage's key ("<DocumentID>|<PassageID>") and the
            spans where its text stands; no spans when it was not found.
    """

    id: str
    text: str
    gold: tuple[tuple[str, tuple[Span, ...]], ...]


def covered_gold(ranked: Sequence[Span], question: SpanQuestion) -> list[frozenset[str]]:
    """For each ranked chunk, the keys of the gold passages it counts for."""
    out = []
    for doc_id, start, end in ranked:
        out.append(frozenset(
            key for key, spans in question.gold
            if any(d == doc_id and covers((start, end), (gs, ge)) for d, gs, ge in spans)
        ))
    return out


def _span_metrics(covered: Sequence[frozenset[str]], n_gold: int, k: int) -> tuple[float, float, float, float, list[float]]:
    """Recall@k, AP@k, nDCG@k, RR@k and the Recall@1..CURVE curve when chunk r covers ``covered[r - 1]``.

    A rank is a hit when its chunk covers a gold passage no higher chunk
    covered; with one gold id per chunk this is exactly kb.bench.evaluate's scoring.
    """
    seen: set[str] = set()
    hit_ranks, curve = [], []
    for r, keys in enumerate(covered[:CURVE], 1):
        if keys - seen:
            hit_ranks.append(r)
        seen |= keys
        curve.append(len(seen) / n_gold)
    curve += [curve[-1] if curve else 0.0] * (CURVE - len(curve))
    hits_k = [r for r in hit_ranks if r <= k]
    ap = sum(n / r for n, r in enumerate(hits_k, 1)) / min(n_gold, k)
    dcg = sum(1.0 / math.log2(r + 1) for r in hits_k)
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(n_gold, k) + 1))
    rr = 1.0 / hits_k[0] if hits_k else 0.0
    return curve[k - 1], ap, dcg / ideal, rr, curve


def score_spans(questions: Sequence[SpanQuestion], retrieve: Callable[[str], list[Span]], k: int = 10) -> dict:
    """Like kb.bench.evaluate.score_run, with chunks scored by span overlap with the gold passages.

    ``retrieve`` returns the ranked chunks as spans; only it is timed.
    """
    recall, ap, ndcg, rr, times = [], [], [], [], []
    curve = [0.0] * CURVE
    for q in questions:
        t0 = time.perf_counter()
        ranked = retrieve(q.text)
        times.append((time.perf_counter() - t0) * 1000)
        ranked = list(dict.fromkeys(ranked))[:CURVE]
        rec, p, n, r, c = _span_metrics(covered_gold(ranked, q), len(q.gold), k)
        recall.append(rec)
        ap.append(p)
        ndcg.append(n)
        rr.append(r)
        curve = [a + b for a, b in zip(curve, c)]
    return {
        f"recall@{k}": round(statistics.fmean(recall), 4) if questions else 0.0,
        f"map@{k}": round(statistics.fmean(ap), 4) if questions else 0.0,
        f"ndcg@{k}": round(statistics.fmean(ndcg), 4) if questions else 0.0,
        f"mrr@{k}": round(statistics.fmean(rr), 4) if questions else 0.0,
        "queries": len(questions),
        "p50_ms": round(percentile(times, 50), 2),
        "p95_ms": round(percentile(times, 95), 2),
        "recall_curve": [round(c / len(questions), 4) for c in curve] if questions else [],
    }


# --- ObliQA over its text files ---------------------------------------------------------


def _require(path: Path, dataset: Path, layout: str) -> Path:
    if not path.exists():
        raise KbError(f"no {path.relative_to(dataset).as_posix()} in {dataset}: the dataset folder must hold {layout}")
    return path


def obliqa_span_questions(
    dataset: Path, split: str, texts: dict[str, NormalisedText], doc_of: dict[str, str]
) -> tuple[list[SpanQuestion], int]:
    """The split's questions with their gold passages located in the document texts.

    Args:
        texts: Normalised text of each indexed document, by doc_id.
        doc_of: The doc_id of each ObliQA DocumentID (as a string).

    Returns:
        The questions, and how many of their gold passages were not found
        (these stay in the gold sets, as misses).
    """
    path = _require(dataset / f"ObliQA_{split}.json", dataset, OBLIQA_FILES_LAYOUT)
    rows = json.loads(path.read_text(encoding="utf-8"))
    stored: dict[str, str] | None = None  # passage texts from docs/, read only if a question lacks one
    found: dict[tuple[str, str], tuple[Span, ...]] = {}
    questions, unlocated = [], 0
    for row in rows:
        gold: dict[str, tuple[Span, ...]] = {}
        for p in row["Passages"]:
            key = passage_key(p["DocumentID"], p["PassageID"])
            if key in gold:
                continue
            text = p.get("Passage") or ""
            if not text.strip():
                stored = stored if stored is not None else _stored_passages(dataset)
                text = stored.get(key, "")
            doc_id = doc_of.get(str(p["DocumentID"]))
            if doc_id is None:
                raise KbError(f"{path.name}: DocumentID {p['DocumentID']} is not in document_map.json")
            if (doc_id, text) not in found:
                found[doc_id, text] = tuple((doc_id, s, e) for s, e in texts[doc_id].find_all(text))
            gold[key] = found[doc_id, text]
            unlocated += not gold[key]
        questions.append(SpanQuestion(row["QuestionID"], row["Question"], tuple(gold.items())))
    return questions, unlocated


def _stored_passages(dataset: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for path in (dataset / "docs").glob("*.json"):
        for p in json.loads(path.read_text(encoding="utf-8")):
            out.setdefault(passage_key(p["DocumentID"], p["PassageID"]), p["Passage"] or "")
    return out


def run_obliqa_files(dataset: Path, split: str, settings, workdir: Path, baselines: bool = False) -> dict:
    """Ingest ObliQA's text files as a user would, ask every question, score chunks by span overlap.

    Args:
        dataset: Folder holding txt/, document_map.json and ObliQA_<split>.json.
        split: "dev", or any split with the same layout.
        settings: Settings to evaluate; their ``index`` is replaced by one under ``workdir``.
        workdir: Scratch folder for the index.
        baselines: Also score BM25 alone and dense alone over our chunks, and the tutorial pipeline.
    """
    from kb.index import KnowledgeBase

    txt = _require(dataset / "txt", dataset, OBLIQA_FILES_LAYOUT)
    names = json.loads(_require(dataset / "document_map.json", dataset, OBLIQA_FILES_LAYOUT).read_text(encoding="utf-8"))
    _require(dataset / f"ObliQA_{split}.json", dataset, OBLIQA_FILES_LAYOUT)
    workdir.mkdir(parents=True, exist_ok=True)
    kb = KnowledgeBase(settings.replace(index=workdir / "index"))
    kb.encoder.encode(["warm up"])  # load the model outside the timings
    t0 = time.perf_counter()
    report = kb.ingest([txt], rebuild=True)
    elapsed = time.perf_counter() - t0
    if report.failed:
        raise KbError(f"ingest of {txt} failed: {report.failed[0].reason}")
    snap = kb.snapshot
    by_file = {Path(rec.document.source).name: doc_id for doc_id, rec in snap.records.items()}
    doc_of = {}
    for number, entry in names.items():
        if entry.get("txt") not in by_file:
            raise KbError(f"document_map.json maps DocumentID {number} to {entry.get('txt')!r}, "
                          f"which is not a text file in {txt}")
        doc_of[number] = by_file[entry["txt"]]
    texts = {doc_id: NormalisedText(rec.document.text) for doc_id, rec in snap.records.items()}
    questions, unlocated = obliqa_span_questions(dataset, split, texts, doc_of)
    where = {c.id: (c.doc_id, *texts[c.doc_id].span(c.start, c.end)) for c in snap.chunks}
    result: dict = {
        "documents": len(snap.records), "chunks": len(snap),
        "ingest_passages_per_s": round(len(snap) / elapsed, 1),
        "max_chunk_tokens": max(kb.encoder.count_tokens(c.text) for c in snap.chunks),
        "encoder_window": kb.encoder.max_tokens - 2,
        "gold_passages": sum(len(q.gold) for q in questions), "unlocated_gold": unlocated,
    }
    kb.search("warm up")

    def retrieve(question: str) -> list[Span]:
        return [where[h.chunk.id] for h in kb.search(question, k=CURVE)]

    result.update(score_spans(questions, retrieve))
    if baselines:
        runs = _files_baselines(kb, texts)
        result["baselines"] = {name: score_spans(questions, run) for name, run in runs.items()}
    result["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    result["fusion"] = f"{settings.fusion} (bm25 weight {settings.bm25_weight})"
    return result


def _files_baselines(kb, texts: dict[str, NormalisedText]) -> dict[str, Callable[[str], list[Span]]]:
    """The systems ours is compared with in files mode, with the same model.

    - BM25 alone: bm25s over our chunks' text (English stemmer, stop words).
    - dense alone: our chunks' vectors in a flat FAISS index.
    - tutorial: RecursiveCharacterTextSplitter(1,000 characters, 200 overlap)
      over each document's whole text (the text file as loaded), flat FAISS.
    """
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from kb.dense import DenseIndex
    from kb.fusion import top_k
    from kb.lexical import LexicalIndex

    snap = kb.snapshot
    chunk_spans = [(c.doc_id, *texts[c.doc_id].span(c.start, c.end)) for c in snap.chunks]
    bm25 = LexicalIndex.build([c.text for c in snap.chunks])
    flat = DenseIndex(snap.vectors.shape[1])
    flat.add(np.arange(len(snap.chunks)), snap.vectors)

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
    piece_spans, piece_text = [], []
    for doc_id, rec in snap.records.items():
        text = rec.document.text
        for piece in splitter.create_documents([text]):
            start = piece.metadata.get("start_index", -1)
            if start < 0 or text[start : start + len(piece.page_content)] != piece.page_content:
                start = text.find(piece.page_content)
            piece_spans.append((doc_id, *texts[doc_id].span(start, start + len(piece.page_content))))
            piece_text.append(piece.page_content)
    pieces = DenseIndex(snap.vectors.shape[1])
    pieces.add(np.arange(len(piece_text)), kb.encoder.encode(piece_text))

    def bm25_alone(q: str) -> list[Span]:
        return [chunk_spans[i] for i in top_k(bm25.scores(q), CURVE)]

    def dense_alone(q: str) -> list[Span]:
        found, _ = flat.search(kb.encoder.encode([q]), CURVE)
        return [chunk_spans[i] for i in found[0] if i >= 0]

    def tutorial(q: str) -> list[Span]:
        found, _ = pieces.search(kb.encoder.encode([q]), CURVE)
        return [piece_spans[i] for i in found[0] if i >= 0]

    return {"bm25 (bm25s, our chunks)": bm25_alone, "dense (flat FAISS, our chunks)": dense_alone,
            "tutorial (1000/200 splitter)": tutorial}


# --- BEIR --------------------------------------------------------------------------------


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as lines:
        for n, line in enumerate(lines, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise KbError(f"{path}, line {n}: not JSON ({exc.msg}); each line must be one object") from None
    return rows


def beir_to_jsonl(dataset: Path, out: Path) -> int:
    """Write a BEIR corpus as our pre-chunked JSONL (id = corpus _id, doc_id ``beir/<_id>``); returns the passages."""
    corpus = _require(dataset / "corpus.jsonl", dataset, BEIR_LAYOUT)
    written = 0
    with open(out, "w", encoding="utf-8") as sink:
        for row in _read_jsonl(corpus):
            doc = str(row["_id"])
            title = (row.get("title") or "").strip()
            text = (row.get("text") or "").strip() or title  # a title-only entry is still findable
            if not text:
                continue
            record = {"id": doc, "text": text, "doc_id": f"beir/{doc}", "title": title or doc}
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += 1
    if not written:
        raise KbError(f"{corpus} holds no entry with text: each line needs _id and a non-empty text or title")
    return written


def beir_questions(dataset: Path, split: str) -> list[Question]:
    """The queries judged in ``qrels/<split>.tsv``, each with the corpus ids of relevance > 0."""
    qrels = _require(dataset / "qrels" / f"{split}.tsv", dataset, BEIR_LAYOUT)
    queries = {str(r["_id"]): r.get("text") or "" for r in _read_jsonl(_require(dataset / "queries.jsonl", dataset, BEIR_LAYOUT))}
    gold: dict[str, set[str]] = {}
    for n, line in enumerate(qrels.read_text(encoding="utf-8").splitlines(), 1):
        cells = line.split("\t")
        if not line.strip() or (n == 1 and cells[0].strip() == "query-id"):
            continue
        try:
            query, doc, score = cells[0].strip(), cells[1].strip(), float(cells[2])
        except (IndexError, ValueError):
            raise KbError(f"{qrels}, line {n}: expected query-id<TAB>corpus-id<TAB>score, got {line!r}") from None
        if score > 0:
            gold.setdefault(query, set()).add(doc)
    questions = [Question(q, queries[q], frozenset(ids)) for q, ids in gold.items() if queries.get(q, "").strip()]
    if not questions:
        raise KbError(f"{qrels} judges no query of queries.jsonl relevant to anything (score > 0)")
    return questions


def run_beir(dataset: Path, split: str, settings, workdir: Path, baselines: bool = False) -> dict:
    """Index a BEIR dataset's corpus as given, ask the judged queries of ``split``, score the top 10.

    Args:
        dataset: Folder in the BEIR layout (corpus.jsonl, queries.jsonl, qrels/<split>.tsv).
        split: The qrels file to score, e.g. "test".
        settings: Settings to evaluate; their ``index`` is replaced by one under ``workdir``.
        workdir: Scratch folder for the JSONL and the index.
        baselines: Also score BM25 alone, dense alone and the tutorial pipeline.

    Some BEIR queries are whole arguments (ArguAna): the query length limit
    is raised to the longest query, since the benchmark's queries are given.
    """
    from kb.index import KnowledgeBase

    questions = beir_questions(dataset, split)
    workdir.mkdir(parents=True, exist_ok=True)
    jsonl = workdir / "beir-corpus.jsonl"
    passages = beir_to_jsonl(dataset, jsonl)
    longest = max(len(q.text.strip()) for q in questions)
    settings = settings.replace(index=workdir / "index", max_query_chars=max(settings.max_query_chars, longest))
    kb = KnowledgeBase(settings)
    kb.encoder.encode(["warm up"])  # load the model outside the timings
    result: dict = {"dataset": dataset.name, "split": split, "passages": passages}
    result.update(index_and_score(kb, jsonl, passages, questions, baselines))
    return result
