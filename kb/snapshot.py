"""One loaded generation of the index: records, vectors, BM25 and lookup arrays.

A snapshot never changes once loaded; an ingest makes a new one. Readers
holding the old snapshot keep answering while a write goes on.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kb.access import LEVELS, Principal, document_access
from kb.dense import DenseIndex
from kb.errors import KbError
from kb.lexical import LexicalIndex, unknown_words
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
    _parent: Snapshot | None = field(init=False, default=None)  # a view's whole snapshot
    _positions: np.ndarray | None = field(init=False, default=None)  # a view's chunks in its parent
    _views: dict[tuple, Snapshot] = field(init=False, default_factory=dict)  # Principal.key -> view

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
        self._doc_access = [_stored_access(d.meta) for d in docs]
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

    def visible_to(self, person: Principal) -> Snapshot:
        """The part of this snapshot ``person`` may see: a snapshot of their documents only, whose
        searches, references, vocabulary, counts and similar-document lists never reach the others.

        Made once per snapshot for each set of people who see the same (Principal.key). Scores are
        those of the whole index (BM25's term statistics and the dense moments are shared), so a
        document ranks the same for everyone who sees it.
        """
        if person.everything:
            return self
        key = person.key
        view = self._views.get(key)
        if view is None:
            keep = np.fromiter((person.may_see(*a) for a in self._doc_access), bool, len(self.doc_ids))
            view = self if keep.all() else self._view(keep)
            self._views[key] = view
        return view

    def access_of(self, doc_id: str) -> tuple[int, tuple[str, ...]]:
        """(level, groups) of a document of this snapshot."""
        return self._doc_access[self._numbers()[doc_id]]

    def _numbers(self) -> dict[str, int]:
        if "_number" not in self.__dict__:
            self.__dict__["_number"] = {d: i for i, d in enumerate(self.doc_ids)}
        return self.__dict__["_number"]

    def _view(self, keep_docs: np.ndarray) -> Snapshot:
        """A snapshot of the documents ``keep_docs`` marks, sharing this one's indexes (read-only)."""
        keep_pos = np.flatnonzero(keep_docs[self.chunk_doc]) if self.chunks else np.zeros(0, np.int64)
        view = object.__new__(Snapshot)
        view.doc_ids = [d for d, k in zip(self.doc_ids, keep_docs) if k]
        view.records = {d: self.records[d] for d in view.doc_ids}
        view.chunks = [self.chunks[p] for p in keep_pos]
        view.dense = DenseView(self.dense, self.vector_ids[keep_pos])
        view.lexical = LexicalView(self.lexical, keep_pos, view)
        number = np.cumsum(keep_docs) - 1
        view.chunk_doc = number[self.chunk_doc[keep_pos]] if len(keep_pos) else np.zeros(0, np.int64)
        view.vector_ids = self.vector_ids[keep_pos]
        view._id_order = np.argsort(view.vector_ids)
        view.vectors = self.vectors[keep_pos]
        some = keep_docs if keep_docs.any() else None
        for name in ("_doc_type", "_doc_status", "_doc_date", "_doc_id"):
            column = getattr(self, name)
            setattr(view, name, column[some] if some is not None else np.array([""], dtype=object))
        view._doc_access = [a for a, k in zip(self._doc_access, keep_docs) if k]
        view.in_force = self.in_force[keep_pos]
        moved = np.full(len(self.chunks), -1, dtype=np.int64)
        moved[keep_pos] = np.arange(len(keep_pos))
        view._refs = defaultdict(list)
        for number_key, places in self._refs.items():
            kept = [(kind, int(moved[pos]), strength) for kind, pos, strength in places if moved[pos] >= 0]
            if kept:
                view._refs[number_key] = kept
        view._moments, view._unknown, view._views = None, {}, {}
        view._parent, view._positions = self, keep_pos
        return view

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
        if self._parent is not None:
            return self._parent.dense_stats(query)
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
        if self._parent is not None:
            return self._parent.unknown_shares(encoder)[self._positions]
        if encoder.name not in self._unknown:
            self._unknown[encoder.name] = np.asarray(
                encoder.unknown_share([c.text for c in self.chunks]), dtype=np.float32).reshape(len(self.chunks))
        return self._unknown[encoder.name]

    def ref_positions(self, ref: Ref) -> list[tuple[int, int]]:
        """(position, strength) of chunks under a reference key, any kind matching."""
        kind, number = ref
        return [(pos, strength) for k, pos, strength in self._refs.get(number, ()) if matches(ref, (k, number))]


def _stored_access(meta) -> tuple[int, tuple[str, ...]]:
    """A stored document's (level, groups); a level that cannot be read counts as the highest, so a
    damaged label hides the document rather than showing it."""
    try:
        return document_access(meta)
    except KbError:
        return len(LEVELS) - 1, ("\x00unreadable level",)


class DenseView:
    """The dense index restricted to some ids: a view's searches never return the others."""

    def __init__(self, full: DenseIndex, ids: np.ndarray) -> None:
        self._full, self._ids = full, np.ascontiguousarray(ids, dtype=np.int64)
        self.dim = full.dim

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None):
        allowed = self._ids if allowed is None else np.intersect1d(allowed, self._ids)
        if len(allowed) == 0:
            empty = np.zeros((len(queries), 0))
            return empty.astype(np.int64), empty.astype(np.float32)
        return self._full.search(queries, min(k, len(allowed)), allowed)

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        return self._full.vectors(ids)


class LexicalView:
    """BM25 over a view's chunks: the whole index's scores, kept for those chunks only; a vocabulary of
    their words alone (so "unknown words" says nothing of the others)."""

    def __init__(self, full: LexicalIndex, positions: np.ndarray, view: Snapshot) -> None:
        self._full, self._positions, self._view = full, positions, view
        self._vocabulary: frozenset[str] | None = None
        self.size = len(positions)

    @property
    def params(self) -> dict:
        return self._full.params

    def query_terms(self, query: str, stopwords: str = "basic") -> list[str]:
        return self._full.query_terms(query, stopwords)

    def scores(self, query: str, stopwords: str = "basic") -> np.ndarray:
        return self._full.scores(query, stopwords)[self._positions]

    def unknown_words(self, query: str) -> tuple[list[str], int]:
        if self._vocabulary is None:
            view = self._view  # read only when asked: the unknown-words step is off by default
            self._vocabulary = self._full.vocabulary_of(
                [f"{view.records[c.doc_id].document.title}\n{c.section}\n{c.text}" for c in view.chunks])
        return unknown_words(query, self._vocabulary, self._full._tokenize)
