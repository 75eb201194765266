"""Benchmarks: ObliQA passage retrieval scored as in the RIRAG shared task.

The dataset stays outside the repository; these functions read it where it
lies and write only temporary files.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kb.errors import KbError

if TYPE_CHECKING:
    from kb.config import Settings
    from kb.index import KnowledgeBase

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


def obliqa_index(dataset: Path, workdir: Path, settings: Settings) -> KnowledgeBase:
    """The knowledge base of ObliQA's passages kept in ``workdir/index`` (as ``kb eval obliqa
    --workdir`` leaves it), built again when it is missing or holds another encoder's vectors."""
    from kb.index import KnowledgeBase, _same_encoder

    kb = KnowledgeBase(settings.replace(index=workdir / "index"))
    built = kb.manifest().get("encoder")
    if not built or not _same_encoder(built, kb.encoder):
        workdir.mkdir(parents=True, exist_ok=True)
        jsonl = workdir / "obliqa-passages.jsonl"
        obliqa_to_jsonl(dataset, jsonl)
        kb.ingest([jsonl], rebuild=True)
    return kb


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


FOLDS = ("a", "b")


def fold_of(question_id: str) -> str:
    """The fold, "a" or "b", of a question: the parity of the SHA-256 of its id.

    Stable (a question keeps its fold whatever else the split holds) and
    about half and half; on ObliQA dev, 1,357 questions in a and 1,431 in b.
    """
    return FOLDS[hashlib.sha256(question_id.encode("utf-8")).digest()[0] % 2]


def _obliqa_rows(dataset: Path, split: str, fold: str | None) -> list[dict]:
    path = dataset / f"ObliQA_{split}.json"
    if not path.is_file():
        raise KbError(f"no {path.name} in {dataset}: give the folder that holds ObliQA_{split}.json")
    if fold is not None and fold not in FOLDS:
        raise KbError(f"fold {fold!r} is not one of {', '.join(FOLDS)}")
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [r for r in rows if fold is None or fold_of(r["QuestionID"]) == fold]


def obliqa_questions(dataset: Path, split: str, fold: str | None = None) -> list[Question]:
    """The questions of a split (or of one fold of it) with their gold passage keys."""
    return [
        Question(r["QuestionID"], r["Question"], frozenset(passage_key(p["DocumentID"], p["PassageID"]) for p in r["Passages"]))
        for r in _obliqa_rows(dataset, split, fold)
    ]


def obliqa_pairs(dataset: Path, split: str, fold: str | None, out: Path, negatives: bool = False) -> int:
    """Write the question–gold-passage pairs of a split (or one fold) as PAIRS.jsonl for `kb tune`; returns the pairs.

    The passage text is the one indexed (docs/), so training sees what
    retrieval sees; a gold passage without text there is left out.

    Args:
        negatives: Also give each pair a hard negative: the passage BM25 ranks
            highest for the question that is neither one of its gold passages,
            nor the same text as one (ObliQA repeats some passages verbatim),
            nor a heading (a bare title teaches the model little).
    """
    from kb.fusion import top_k
    from kb.lexical import LexicalIndex

    texts: dict[str, str] = {}
    for path in sorted((dataset / "docs").glob("*.json"), key=lambda p: int(p.stem)):
        for p in json.loads(path.read_text(encoding="utf-8")):
            if (p["Passage"] or "").strip():
                texts.setdefault(passage_key(p["DocumentID"], p["PassageID"]), p["Passage"])
    keys = list(texts)
    bm25 = LexicalIndex.build([texts[k] for k in keys]) if negatives else None
    written = 0
    with open(out, "w", encoding="utf-8") as sink:
        for q in obliqa_questions(dataset, split, fold):
            extra = {}
            if bm25 is not None:
                same = {" ".join(texts[k].split()) for k in q.gold if k in texts}
                extra["negative"] = next(
                    texts[keys[i]] for i in top_k(bm25.scores(q.text), 50)
                    if keys[i] not in q.gold and not _is_heading(texts[keys[i]])
                    and " ".join(texts[keys[i]].split()) not in same
                )
            for key in sorted(q.gold):
                if key in texts:
                    row = {"question": q.text, "passage": texts[key], **extra, "id": q.id, "passage_id": key}
                    sink.write(json.dumps(row, ensure_ascii=False) + "\n")
                    written += 1
    return written


def obliqa_reranker_pairs(dataset: Path, split: str, fold: str | None, out: Path, negatives: int,
                          settings: Settings, workdir: Path, random_negatives: int = 0, seed: int = 0) -> int:
    """Write PAIRS.jsonl for ``kb tune --reranker``: each gold passage of each question, with the
    question's ``negatives`` best BM25 passages of the index (``obliqa_index``) that are not gold,
    not the same text as a gold one, and not shorter than 100 characters (headings, stubs), then
    ``random_negatives`` passages of the index drawn at random (seeded; not gold): easy ones,
    which teach the model the topic as well as the fine distinctions of the hard ones.
    Returns the pairs written; a question with no such passage is left out."""
    import random

    from kb.fusion import top_k

    rng = random.Random(seed)

    kb = obliqa_index(dataset, workdir, settings)
    snap = kb.snapshot
    text = {c.id: c.text for c in snap.chunks}
    keys = [c.id for c in snap.chunks]
    written = 0
    with open(out, "w", encoding="utf-8") as sink:
        for q in obliqa_questions(dataset, split, fold):
            gold_texts = {" ".join(text[k].split()) for k in q.gold if k in text}
            wrong: list[str] = []
            for i in top_k(snap.lexical.scores(q.text, "extended"), 60):
                candidate = text[keys[i]]
                if keys[i] in q.gold or " ".join(candidate.split()) in gold_texts or len(candidate) < 100:
                    continue
                wrong.append(candidate)
                if len(wrong) == negatives:
                    break
            if not wrong:
                continue
            target = len(wrong) + random_negatives
            while len(wrong) < target:
                key = rng.choice(keys)
                if key not in q.gold and len(text[key]) >= 100 and text[key] not in wrong:
                    wrong.append(text[key])
            for key in sorted(q.gold):
                if key in text:
                    row = {"question": q.text, "passage": text[key], "negatives": wrong, "id": q.id, "passage_id": key}
                    sink.write(json.dumps(row, ensure_ascii=False) + "\n")
                    written += 1
    return written


def ndcg_at(ranked: Sequence[str], gold: set[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k."""
    dcg = sum(1.0 / math.log2(r + 1) for r, item in enumerate(ranked[:k], 1) if item in gold)
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(len(gold), k) + 1))
    return dcg / ideal if ideal else 0.0


CURVE = 20  # Recall@k is reported for k = 1..CURVE


def score_run(
    questions: Sequence[Question], retrieve: Callable[[str], list[str]], k: int = 10
) -> dict:
    """Recall@k, MAP@k, nDCG@k, MRR@k, the Recall@1..20 curve and per-query latency of ``retrieve``."""
    recall, ap, ndcg, rr, times = [], [], [], [], []
    curve = [0.0] * CURVE
    for q in questions:
        t0 = time.perf_counter()
        ranked = retrieve(q.text)
        times.append((time.perf_counter() - t0) * 1000)
        ranked = list(dict.fromkeys(ranked))[:CURVE]
        gold = set(q.gold)
        recall.append(recall_at(ranked, gold, k))
        ap.append(average_precision_at(ranked, gold, k))
        ndcg.append(ndcg_at(ranked, gold, k))
        rr.append(reciprocal_rank_at(ranked, gold, k))
        for i in range(CURVE):
            curve[i] += recall_at(ranked, gold, i + 1)
    return {
        f"recall@{k}": round(statistics.fmean(recall), 4),
        f"map@{k}": round(statistics.fmean(ap), 4),
        f"ndcg@{k}": round(statistics.fmean(ndcg), 4),
        f"mrr@{k}": round(statistics.fmean(rr), 4),
        "queries": len(questions),
        "p50_ms": round(percentile(times, 50), 2),
        "p95_ms": round(percentile(times, 95), 2),
        "recall_curve": [round(c / len(questions), 4) for c in curve] if questions else [],
    }


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_obliqa_passages(
    dataset: Path, split: str, settings, workdir: Path, baseline: bool = True, baselines: bool = False,
    fold: str | None = None,
) -> dict:
    """Index ObliQA's passages as given, ask every question of the split, score the top 10.

    Args:
        dataset: Folder holding docs/, document_map.json and ObliQA_<split>.json.
        split: "dev", or any split with the same layout.
        settings: Settings to evaluate; their ``index`` is replaced by one under ``workdir``.
        workdir: Scratch folder for the JSONL and the index.
        baseline: Also time a plain sentence-transformers fp32 encode of the same passages (batch 64)
            and, when the settings' backend is not torch, score the index those fp32 vectors make
            (key ``fp32_index``), so speed and recall are compared within one run.
        baselines: Also score BM25 alone, dense alone and the tutorial pipeline.
        fold: Ask only the questions of this fold ("a" or "b"; see fold_of).
    """
    from kb.encoder import make_encoder
    from kb.index import KnowledgeBase

    questions = obliqa_questions(dataset, split, fold)
    workdir.mkdir(parents=True, exist_ok=True)
    jsonl = workdir / "obliqa-passages.jsonl"
    passages = obliqa_to_jsonl(dataset, jsonl)
    kb = KnowledgeBase(settings.replace(index=workdir / "index"))
    kb.encoder.encode(["warm up"])  # load (and if need be convert) the model outside the timings
    result: dict = {"passages": passages, "backend": _backend(kb.encoder)}
    fp32 = fp32_vectors = None
    if baseline and kb.encoder.backend != "hashing":
        fp32 = make_encoder(settings.model, 64, "torch")
        fp32.encode(["warm up"])
        rows = [json.loads(line) for line in jsonl.open(encoding="utf-8")]
        t0 = time.perf_counter()
        fp32_vectors = fp32.model.encode([r["text"] for r in rows], batch_size=64, convert_to_numpy=True,
                                         normalize_embeddings=True, show_progress_bar=False)
        result["baseline_encode_passages_per_s"] = round(passages / (time.perf_counter() - t0), 1)
    result.update(index_and_score(kb, jsonl, passages, questions, baselines))
    result["dense"] = dense_alone_scores(kb.snapshot, kb.encoder.encode([q.text for q in questions]), questions)
    if fp32_vectors is not None:
        result["ingest_vs_baseline"] = round(result["ingest_passages_per_s"] / result["baseline_encode_passages_per_s"], 2)
        if kb.encoder.backend != "torch":
            by_id = {r["id"]: n for n, r in enumerate(rows)}
            vectors = np.ascontiguousarray(fp32_vectors[[by_id[c.id] for c in kb.snapshot.chunks]], dtype=np.float32)
            result["fp32_index"] = fp32_index_scores(kb, fp32, vectors, questions)
    if fold is not None:
        result["fold"] = fold
    return result


def _backend(encoder) -> str:
    precision = getattr(encoder, "precision", None)
    return f"{encoder.backend} ({precision})" if precision else encoder.backend


class _Lookup:
    """An encoder answering from vectors computed beforehand (batch-encoding the questions once)."""

    def __init__(self, encoder, texts: list[str]) -> None:
        self.name, self.max_tokens, self.backend, self.dim = encoder.name, encoder.max_tokens, encoder.backend, encoder.dim
        self._encoder = encoder
        self._rows = dict(zip(texts, encoder.encode(texts)))

    def count_tokens(self, text: str) -> int:
        return self._encoder.count_tokens(text)

    def unknown_share(self, texts: list[str]) -> np.ndarray:
        return self._encoder.unknown_share(texts)

    def encode(self, texts: list[str]) -> np.ndarray:
        if all(t in self._rows for t in texts):
            return np.array([self._rows[t] for t in texts], dtype=np.float32).reshape(len(texts), self.dim)
        return self._encoder.encode(texts)


def dense_alone_scores(snapshot, query_vectors: np.ndarray, questions: Sequence[Question]) -> dict:
    """Recall@10 and MAP@10 of the snapshot's vectors alone (flat inner product), queries given as vectors."""
    found, _ = snapshot.dense.search(query_vectors, CURVE)
    position = snapshot.positions(found.clip(min=0).ravel()).reshape(found.shape)
    rankings = {q.text: [snapshot.chunks[p].id for p, f in zip(row, ids) if f >= 0]
                for q, row, ids in zip(questions, position, found)}
    scored = score_run(questions, rankings.__getitem__)
    return {key: scored[key] for key in ("recall@10", "map@10", "ndcg@10", "mrr@10")}


def fp32_index_scores(kb, fp32, vectors: np.ndarray, questions: Sequence[Question]) -> dict:
    """Hybrid and dense-alone scores of ``kb``'s index with its vectors replaced by ``vectors``
    (one per chunk, in snapshot order) and queries encoded by ``fp32``: the same index as the
    plain fp32 encoder would have built it."""
    from kb.dense import DenseIndex
    from kb.search import Searcher
    from kb.snapshot import Snapshot

    snap = kb.snapshot
    dense = DenseIndex(vectors.shape[1])
    dense.add(snap.vector_ids, vectors)
    fp32_snap = Snapshot(snap.records, snap.chunks, dense, snap.lexical)
    lookup = _Lookup(fp32, [q.text for q in questions])
    searcher = Searcher(fp32_snap, lookup, kb.settings)
    scored = score_run(questions, lambda q: [h.chunk.id for h in searcher.search(q, k=CURVE)])
    out = {key: scored[key] for key in ("recall@10", "map@10", "ndcg@10", "mrr@10")}
    out["dense"] = dense_alone_scores(fp32_snap, lookup.encode([q.text for q in questions]), questions)
    return out


def index_and_score(kb, jsonl: Path, passages: int, questions: Sequence[Question], baselines: bool) -> dict:
    """Index pre-chunked passages afresh, then score every question (and, if asked, the baselines)."""
    t0 = time.perf_counter()
    report = kb.ingest([jsonl], rebuild=True)
    elapsed = time.perf_counter() - t0
    if report.failed:
        raise KbError(f"ingest of the passages failed: {report.failed[0].reason}")
    result: dict = {"ingest_passages_per_s": round(passages / elapsed, 1)}
    kb.search("warm up")

    def retrieve(question: str) -> list[str]:
        return [h.chunk.id for h in kb.search(question, k=CURVE)]

    result.update(score_run(questions, retrieve))
    if baselines:
        result["baselines"] = {name: score_run(questions, run) for name, run in _baselines(kb, jsonl).items()}
    result["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    result["fusion"] = f"{kb.settings.fusion} (bm25 weight {kb.settings.bm25_weight})"
    result["encoder"] = kb.manifest()["encoder"]
    return result


def _baselines(kb, jsonl: Path) -> dict[str, Callable[[str], list[str]]]:
    """The systems ours is compared with, over the same passages and the same model.

    - BM25 alone: bm25s over the passage text (English stemmer, stop words).
    - dense alone: the passage vectors in a flat FAISS index.
    - tutorial: RecursiveCharacterTextSplitter(1,000 characters, 200 overlap) over each
      passage, the same model, flat FAISS; a passage ranks by its best piece.
    """
    import numpy as np
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from kb.dense import DenseIndex
    from kb.fusion import top_k
    from kb.lexical import LexicalIndex

    rows = [json.loads(line) for line in jsonl.open(encoding="utf-8")]
    ids = [r["id"] for r in rows]
    snap = kb.snapshot
    by_id = {c.id: i for i, c in enumerate(snap.chunks)}
    vectors = snap.vectors[[by_id[i] for i in ids]]
    bm25 = LexicalIndex.build([r["text"] for r in rows])
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    piece_owner, piece_text = [], []
    for n, r in enumerate(rows):
        for piece in splitter.split_text(r["text"]):
            piece_owner.append(n)
            piece_text.append(piece)
    owner = np.array(piece_owner)
    # A passage that stays whole is its own piece: reuse its vector rather than encode it again.
    whole = {n for n, count in zip(*np.unique(owner, return_counts=True)) if count == 1}
    piece_vecs = np.zeros((len(piece_text), vectors.shape[1]), dtype=np.float32)
    single = [i for i, n in enumerate(piece_owner) if n in whole]
    piece_vecs[single] = vectors[owner[single]]
    split = [i for i, n in enumerate(piece_owner) if n not in whole]
    if split:
        piece_vecs[split] = kb.encoder.encode([piece_text[i] for i in split])
    flat = DenseIndex(vectors.shape[1])
    flat.add(np.arange(len(ids)), vectors)
    pieces = DenseIndex(vectors.shape[1])
    pieces.add(np.arange(len(piece_text)), piece_vecs)

    def bm25_alone(q: str) -> list[str]:
        return [ids[i] for i in top_k(bm25.scores(q), CURVE)]

    def dense_alone(q: str) -> list[str]:
        found, _ = flat.search(kb.encoder.encode([q]), CURVE)
        return [ids[i] for i in found[0] if i >= 0]

    def tutorial(q: str) -> list[str]:
        found, _ = pieces.search(kb.encoder.encode([q]), CURVE * 3)
        return list(dict.fromkeys(ids[owner[i]] for i in found[0] if i >= 0))[:CURVE]

    return {"bm25 (bm25s)": bm25_alone, "dense (flat FAISS)": dense_alone, "tutorial (1000/200 splitter)": tutorial}


def markdown_table(result: dict) -> str:
    """Ours and the baselines side by side, as a Markdown table."""
    rows = [("**ours** (" + result.get("fusion", "") + ")", result)]
    rows += list(result.get("baselines", {}).items())
    lines = ["| system | Recall@10 | MAP@10 | nDCG@10 | MRR@10 | p50 ms | p95 ms |", "|---|---|---|---|---|---|---|"]
    for name, r in rows:
        lines.append(f"| {name} | {r['recall@10']:.4f} | {r['map@10']:.4f} | {r['ndcg@10']:.4f} | "
                     f"{r['mrr@10']:.4f} | {r['p50_ms']} | {r['p95_ms']} |")
    return "\n".join(lines)


def recall_chart(result: dict, path: Path, title: str) -> None:
    """A PNG of Recall@k for k = 1..20, ours against the baselines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    ks = list(range(1, CURVE + 1))
    ax.plot(ks, result["recall_curve"], marker="o", linewidth=2.2, label="ours")
    for name, r in result.get("baselines", {}).items():
        ax.plot(ks, r["recall_curve"], marker=".", linewidth=1.2, label=name)
    ax.set_xlabel("k")
    ax.set_ylabel("Recall@k")
    ax.set_title(title)
    ax.set_xticks(ks)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def answerability_data(kb: KnowledgeBase, questions: Sequence[Question]) -> tuple[np.ndarray, np.ndarray]:
    """Features (kb.answerability) of each ObliQA question asked twice: as it is (label 1), and with the
    documents of its gold passages filtered out of the index (label 0, as if the office did not hold them)."""
    from kb.answer import PASSAGES
    from kb.answerability import features
    from kb.snapshot import Filters

    searcher, snap = kb.searcher(), kb.snapshot
    rows, labels = [], []
    for q in questions:
        gold_docs = tuple(sorted({f"obliqa/{key.split('|')[0]}" for key in q.gold}))
        for label, filters in ((1, None), (0, Filters(exclude_doc_ids=gold_docs))):
            hits = searcher.run(q.text, PASSAGES, filters).hits
            rows.append(features(q.text, hits, snap))
            labels.append(label)
    return np.array(rows), np.array(labels)


def gold_answerability_data(kb: KnowledgeBase, questions) -> tuple[np.ndarray, np.ndarray]:
    """Features (kb.answerability) of gold-format questions (kb.bench.gold) as `kb ask` searches them, labelled
    by ``answerable``. With a reranker, only the questions it reads (a model trained on its signals
    decides nothing else: kb.answer falls back to the similarity threshold there)."""
    from kb.answer import PASSAGES
    from kb.answerability import features

    snap = kb.snapshot
    searcher = kb.searcher(snap)
    rows, labels = [], []
    for q in questions:
        searched = kb.spell(q.question, snap)
        hits = searcher.run(searched, max(kb.settings.k, PASSAGES)).hits
        if kb.reranker is not None and not any(h.rerank is not None for h in hits):
            continue
        rows.append(features(searched, hits, snap))
        labels.append(int(q.answerable))
    return np.array(rows), np.array(labels)


def refusal_rates(model, x: np.ndarray, y: np.ndarray) -> dict:
    """Shares refused by ``model``: of the unanswerable rows (should be high) and of the answerable (low)."""
    p = np.array([model.probability_of(row) for row in x])
    refused = p < model.threshold
    return {"unanswerable_refused": round(float(refused[y == 0].mean()), 4) if (y == 0).any() else None,
            "answerable_refused": round(float(refused[y == 1].mean()), 4) if (y == 1).any() else None,
            "rows": int(len(y))}
