"""One loaded generation of the index: records, vectors, BM25 and lookup arrays.

A snapshot never changes once loaded; an ingest makes a new one. Readers
holding the old snapshot keep answering while a write goes on.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kb.dense import DenseIndex
from kb.lexical import LexicalIndex
from kb.references import Ref, chunk_refs, matches
from kb.store import DocRecord, read_records, vector_id
from kb.types import Chunk


@dataclass(frozen=True)
class Filters:
    """Restrict a search to some documents; None or empty means no restriction.

    Dates are ISO strings compared as text; a document without a date is
    left out when a date bound is given.
    """

    types: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    exclude_doc_ids: tuple[str, ...] = ()

    def empty(self) -> bool:
        return not (self.types or self.statuses or self.doc_ids or self.date_from or self.date_to
                    or self.exclude_doc_ids)


@dataclass
class Snapshot:
    """Everything a search needs, aligned by chunk position 0..n-1."""

    records: dict[str, DocRecord]
    chunks: list[Chunk]
    dense: DenseIndex
    lexical: LexicalIndex
    doc_ids: list[str] = field(init=False)
    chunk_doc: np.ndarray = field(init=False)  # position -> document number
    vector_ids: np.ndarray = field(init=False)  # position -> FAISS id
    vectors: np.ndarray = field(init=False)  # position -> unit vector
    _id_order: np.ndarray = field(init=False)
    _refs: dict[str, list[tuple[str, int, int]]] = field(init=False)  # number -> (kind, pos, strength)
    _moments: tuple[np.ndarray, np.ndarray] | None = field(init=False, default=None)
    _unknown: dict[str, np.ndarray] = field(init=False, default_factory=dict)  # encoder name -> shares

    def __post_init__(self) -> None:
        self.doc_ids = list(self.records)
        number = {d: i for i, d in enumerate(self.doc_ids)}
        self.chunk_doc = np.fromiter((number[c.doc_id] for c in self.chunks), np.int64, len(self.chunks))
        self.vector_ids = np.fromiter((vector_id(c) for c in self.chunks), np.int64, len(self.chunks))
        self._id_order = np.argsort(self.vector_ids)
        self.vectors = self.dense.vectors(self.vector_ids)
        docs = [self.records[d].document for d in self.doc_ids]
        self._doc_type = np.array([d.type for d in docs] or [""], dtype=object)
        self._doc_status = np.array([d.status for d in docs] or [""], dtype=object)
        self._doc_date = np.array([d.date or "" for d in docs] or [""], dtype=object)
        self._doc_id = np.array(self.doc_ids or [""], dtype=object)
        self.in_force = (self._doc_status == "in_force")[self.chunk_doc] if self.chunks else np.zeros(0, bool)
        self._refs = defaultdict(list)
        for pos, chunk in enumerate(self.chunks):
            for (kind, number), strength in chunk_refs(chunk.section, chunk.text):
                self._refs[number].append((kind, pos, strength))

    @classmethod
    def empty(cls, dim: int) -> Snapshot:
        return cls({}, [], DenseIndex(dim), LexicalIndex.build([]))

    @classmethod
    def load(cls, directory: Path) -> Snapshot:
        records, chunks = read_records(directory)
        return cls(records, chunks, DenseIndex.load(directory / "dense.faiss"), LexicalIndex.load(directory / "lexical"))

    def __len__(self) -> int:
        return len(self.chunks)

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """Chunk positions of FAISS ids (all must be present)."""
        sorted_ids = self.vector_ids[self._id_order]
        return self._id_order[np.searchsorted(sorted_ids, ids)]

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        """Boolean array over chunk positions, or None when nothing is filtered."""
        if filters is None or filters.empty() or not self.chunks:
            return None
        keep = np.ones(len(self.doc_ids), dtype=bool)
        if filters.types:
            keep &= np.isin(self._doc_type, list(filters.types))
        if filters.statuses:
            keep &= np.isin(self._doc_status, list(filters.statuses))
        if filters.doc_ids:
            keep &= np.isin(self._doc_id, list(filters.doc_ids))
        if filters.exclude_doc_ids:
            keep &= ~np.isin(self._doc_id, list(filters.exclude_doc_ids))
        if filters.date_from:
            keep &= (self._doc_date != "") & (self._doc_date >= filters.date_from)
        if filters.date_to:
            keep &= (self._doc_date != "") & (self._doc_date <= filters.date_to)
        return keep[self.chunk_doc]

    def dense_stats(self, query: np.ndarray) -> tuple[float, float]:
        """Mean and standard deviation of ``query``'s dense scores over every chunk.

        From the vectors' mean and second moment (computed once per snapshot), so a
        query costs a (dim x dim) product rather than one over all chunks.
        """
        if not self.chunks:
            return 0.0, 0.0
        if self._moments is None:
            v = self.vectors.astype(np.float64)
            self._moments = (v.mean(axis=0), v.T @ v / len(v))
        mean_vec, second = self._moments
        q = np.asarray(query, dtype=np.float64).ravel()
        mean = float(mean_vec @ q)
        return mean, float(np.sqrt(max(float(q @ second @ q) - mean * mean, 0.0)))

    def unknown_shares(self, encoder) -> np.ndarray:
        """Each chunk's share of word pieces ``encoder`` cannot read (kb.readability), computed once per
        snapshot and encoder (about 1 s for 20,000 passages)."""
        if encoder.name not in self._unknown:
            self._unknown[encoder.name] = np.asarray(
                encoder.unknown_share([c.text for c in self.chunks]), dtype=np.float32).reshape(len(self.chunks))
        return self._unknown[encoder.name]

    def ref_positions(self, ref: Ref) -> list[tuple[int, int]]:
        """(position, strength) of chunks under a reference key, any kind matching."""
        kind, number = ref
        return [(pos, strength) for k, pos, strength in self._refs.get(number, ()) if matches(ref, (k, number))]
