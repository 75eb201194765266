"""Precedent search: whole documents ranked for a query, their facets, and documents alike.

Drafters look for "a notice like the one I am writing": the unit is the
document, so passage hits are grouped by document and each keeps its best
passage to show why it matched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kb.errors import KbError
from kb.snapshot import Filters
from kb.store import DocRecord
from kb.types import Hit

FACETS = ("type", "issuer", "year", "status")


@dataclass(frozen=True)
class DocHit:
    """A document that matched, with its best passage."""

    record: DocRecord
    score: float
    best: Hit
    passages: int  # how many of the candidate passages came from it


def facet_value(record: DocRecord, facet: str) -> str:
    doc = record.document
    if facet == "year":
        return (doc.date or "")[:4] or "undated"
    if facet == "issuer":
        return doc.issuer or "unknown"
    return getattr(doc, facet)


def search_documents(kb, query: str, filters: Filters | None = None, k: int = 10, pool: int = 50) -> list[DocHit]:
    """Documents ranked by their best passage among the ``pool`` best passages."""
    hits = kb.search(query, k=pool, filters=filters)
    records = kb.snapshot.records
    best: dict[str, Hit] = {}
    count: Counter[str] = Counter()
    for hit in hits:  # already in rank order: the first hit of a document is its best
        best.setdefault(hit.chunk.doc_id, hit)
        count[hit.chunk.doc_id] += 1
    found = [DocHit(records[d], h.score, h, count[d]) for d, h in best.items() if d in records]
    return found[:k]


def facet_counts(found: list[DocHit]) -> dict[str, Counter[str]]:
    """For each facet, how many of the found documents carry each value."""
    return {f: Counter(facet_value(d.record, f) for d in found) for f in FACETS}


def narrow(found: list[DocHit], chosen: dict[str, list[str]]) -> list[DocHit]:
    """Keep the documents whose facet values are among the chosen ones (an empty choice keeps all)."""
    return [d for d in found if all(not v or facet_value(d.record, f) in v for f, v in chosen.items())]


def _centroids(snap) -> np.ndarray:
    """Each document's mean chunk vector, unit length, in the order of ``snap.doc_ids``."""
    centroids = np.zeros((len(snap.doc_ids), snap.vectors.shape[1]), dtype=np.float32)
    np.add.at(centroids, snap.chunk_doc, snap.vectors)
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    return centroids


def _ranked(snap, sims: np.ndarray, k: int) -> list[tuple[DocRecord, float]]:
    order = np.argsort(-sims, kind="stable")[:k]
    return [(snap.records[snap.doc_ids[i]], float(sims[i])) for i in order if np.isfinite(sims[i])]


def similar_documents(kb, doc_id: str, k: int = 5) -> list[tuple[DocRecord, float]]:
    """Documents whose mean chunk vector is closest to ``doc_id``'s, best first."""
    snap = kb.snapshot
    if doc_id not in snap.records:
        raise KbError(f"no document {doc_id!r} in the knowledge base: `kb docs` lists the ids")
    centroids = _centroids(snap)
    me = snap.doc_ids.index(doc_id)
    sims = centroids @ centroids[me]
    sims[me] = -np.inf
    return _ranked(snap, sims, k)


def similar_to_text(kb, passages: list[str], k: int = 3,
                    keep: Callable[[DocRecord], bool] | None = None) -> list[tuple[DocRecord, float]]:
    """Documents whose mean chunk vector is closest to the mean vector of ``passages`` (a draft's
    paragraphs, say), best first; ``keep`` chooses which documents may be returned."""
    snap = kb.snapshot
    passages = [p for p in passages if p.strip()]
    if not passages or not snap.doc_ids:
        return []
    vector = kb.encoder.encode(passages).mean(axis=0)
    vector /= max(float(np.linalg.norm(vector)), 1e-12)
    sims = _centroids(snap) @ vector.astype(np.float32)
    if keep is not None:
        allowed = np.array([keep(snap.records[d]) for d in snap.doc_ids], dtype=bool)
        sims = np.where(allowed, sims, -np.inf)
    return _ranked(snap, sims, k)
