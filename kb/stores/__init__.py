"""Where chunks live: the ChunkStore protocol and the frozen records it takes and returns.

A store holds each chunk's text, unit vector and the metadata a filter needs, and answers
top-k searches, dense and lexical, for a batch of queries at once. A filter restricts the
candidates *before* ranking, so a filter never starves the top k and a hidden chunk never
shows through a score or a count.

Backends: ``kb.stores.local.LocalStore`` (FAISS and bm25s in memory, saved to a directory)
and ``kb.stores.milvus.MilvusStore`` (a Milvus server or a milvus-lite file). Every one
passes the contract suite in ``tests/stores/contract.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from kb.lexical import DEFAULT_B, DEFAULT_K1, QUERY_STOPWORDS

MISSING = -1  # the id of an empty slot in a Ranking


@dataclass(frozen=True)
class ChunkMeta:
    """What a filter may ask of a chunk: its document's id, type, status and date, and who may see it.

    Attributes:
        doc_id: The document the chunk belongs to.
        doc_type: "regulation", "document", "minutes" or "other" (kb.types.DOC_TYPES).
        status: "in_force", "superseded" or "repealed" (kb.types.STATUSES).
        date: ISO date of the document ("2023-06-15"), or None when it has none.
        level: Security level, 0 (public) upwards; a user sees it when cleared to this level.
        groups: The groups that may see the chunk; empty means everyone.
    """

    doc_id: str
    doc_type: str = "other"
    status: str = "in_force"
    date: str | None = None
    level: int = 0
    groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.doc_id, str) or not self.doc_id:
            raise ValueError(f"doc_id must be a non-empty string, not {self.doc_id!r}")
        if isinstance(self.level, bool) or not isinstance(self.level, int) or self.level < 0:
            raise ValueError(f"level of {self.doc_id!r} must be an int of 0 or more, not {self.level!r}")
        if not isinstance(self.groups, tuple) or not all(isinstance(g, str) and g for g in self.groups):
            raise ValueError(f"groups of {self.doc_id!r} must be a tuple of non-empty strings, not {self.groups!r}")


@dataclass(frozen=True, eq=False)
class ChunkRows:
    """A batch of chunks to add: row i of each field belongs to chunk i.

    Attributes:
        ids: (n,) int64 chunk ids, unique and not negative (kb.store.vector_id gives them).
        texts: The chunks' texts.
        vectors: (n, dim) float32 unit vectors.
        metas: Each chunk's ChunkMeta.
    """

    ids: np.ndarray
    texts: tuple[str, ...]
    vectors: np.ndarray
    metas: tuple[ChunkMeta, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.ids, np.ndarray) or self.ids.dtype != np.int64 or self.ids.ndim != 1:
            raise ValueError("ids must be a 1-d int64 numpy array")
        if not isinstance(self.vectors, np.ndarray) or self.vectors.dtype != np.float32 or self.vectors.ndim != 2:
            raise ValueError("vectors must be a 2-d float32 numpy array (n, dim)")
        if not isinstance(self.texts, tuple) or not isinstance(self.metas, tuple):
            raise ValueError("texts and metas must be tuples")
        n = len(self.ids)
        if not len(self.texts) == len(self.vectors) == len(self.metas) == n:
            raise ValueError(
                f"a batch needs one text, vector and meta per id: {n} ids, {len(self.texts)} texts, "
                f"{len(self.vectors)} vectors, {len(self.metas)} metas"
            )
        if n and int(self.ids.min()) < 0:
            raise ValueError(f"chunk ids must not be negative, got {int(self.ids.min())}")
        if len(np.unique(self.ids)) != n:
            raise ValueError("chunk ids in one batch must be unique")
        if not np.isfinite(self.vectors).all():
            raise ValueError("vectors hold NaN or infinite values")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


@dataclass(frozen=True)
class StoreFilter:
    """Which chunks a search may return; an empty field restricts nothing.

    Attributes:
        types: Document types allowed.
        statuses: Statuses allowed.
        doc_ids: Only these documents.
        exclude_doc_ids: Never these documents.
        date_from: Earliest date, ISO, inclusive; an undated chunk is left out when a bound is given.
        date_to: Latest date, ISO, inclusive.
        max_level: The user's clearance: chunks above this level are hidden; None for no limit.
        groups: The user's groups: a chunk that has groups is visible only when they share one,
            a chunk without groups is visible to all. None means no group check (a single-user
            install); an empty tuple is a user in no group, who sees only ungrouped chunks.
    """

    types: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    exclude_doc_ids: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    max_level: int | None = None
    groups: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("types", "statuses", "doc_ids", "exclude_doc_ids"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{name} must be a tuple of strings, not {value!r}")
        if self.groups is not None and (
            not isinstance(self.groups, tuple) or not all(isinstance(g, str) for g in self.groups)
        ):
            raise ValueError(f"groups must be None or a tuple of strings, not {self.groups!r}")
        if self.max_level is not None and (isinstance(self.max_level, bool) or not isinstance(self.max_level, int)):
            raise ValueError(f"max_level must be an int or None, not {self.max_level!r}")

    def empty(self) -> bool:
        """Whether the filter lets every chunk through."""
        return not (self.types or self.statuses or self.doc_ids or self.exclude_doc_ids or self.date_from
                    or self.date_to) and self.max_level is None and self.groups is None


@dataclass(frozen=True, eq=False)
class Ranking:
    """Top-k results of a batch of queries, best first in each row.

    Attributes:
        ids: (m, k) int64 chunk ids; MISSING (-1) where fewer than k chunks qualify.
        scores: (m, k) float32, descending along each row; -inf where the id is MISSING.
            Dense: inner product. Lexical: the BM25 score as bm25s computes it (no (k1 + 1) factor).
    """

    ids: np.ndarray
    scores: np.ndarray

    @classmethod
    def empty(cls, m: int, k: int) -> Ranking:
        """m rows of k missing slots."""
        return cls(np.full((m, k), MISSING, dtype=np.int64), np.full((m, k), -np.inf, dtype=np.float32))

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[Sequence[int], Sequence[float]]], k: int) -> Ranking:
        """Pad each row's (ids, scores), best first and at most k long, to k slots."""
        ranking = cls.empty(len(rows), k)
        for i, (ids, scores) in enumerate(rows):
            ranking.ids[i, : len(ids)] = ids
            ranking.scores[i, : len(scores)] = scores
        return ranking

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Query i's (ids, scores) without the missing slots."""
        keep = self.ids[i] != MISSING
        return self.ids[i][keep], self.scores[i][keep]


@dataclass(frozen=True, eq=False)
class StoredChunk:
    """A chunk as a store holds it."""

    id: int
    text: str
    meta: ChunkMeta
    vector: np.ndarray


@dataclass(frozen=True)
class LexicalParams:
    """How a store's BM25 is built and queried; both backends take the same, for the same terms.

    Attributes:
        k1: Term-frequency saturation.
        b: Length normalisation, 0 to 1.
        bigrams: Also index each pair of neighbouring terms (kb.lexical.with_pairs).
        cjk_pairs: With bigrams, pair Chinese terms too.
        query_stopwords: Stop words a query drops: "basic" or "extended" (kb.lexical.QUERY_STOPWORDS).
    """

    k1: float = DEFAULT_K1
    b: float = DEFAULT_B
    bigrams: bool = False
    cjk_pairs: bool = False
    query_stopwords: str = "basic"

    def __post_init__(self) -> None:
        if self.query_stopwords not in QUERY_STOPWORDS:
            raise ValueError(f"query_stopwords {self.query_stopwords!r} is not one of {', '.join(QUERY_STOPWORDS)}")
        if not 0.0 <= self.b <= 1.0:
            raise ValueError(f"b ({self.b}) must lie between 0 and 1")
        if self.k1 < 0:
            raise ValueError(f"k1 ({self.k1}) must not be negative")

    @property
    def build(self) -> dict:
        """The parameters fixed when the index is built (not the query's stop words)."""
        return {"k1": float(self.k1), "b": float(self.b), "bigrams": bool(self.bigrams),
                "cjk_pairs": bool(self.cjk_pairs)}


@runtime_checkable
class ChunkStore(Protocol):
    """Chunks with their vectors and words, searched top-k under a filter.

    Adding a chunk whose id is already stored replaces it. Searches take a batch of
    queries and return a Ranking with one row per query; the filter is applied before
    ranking.
    """

    dim: int

    def count(self) -> int:
        """How many chunks the store holds."""
        ...

    def add(self, rows: ChunkRows) -> None:
        """Add the chunks of ``rows``, replacing any stored under the same ids."""
        ...

    def remove_docs(self, doc_ids: Sequence[str]) -> None:
        """Remove every chunk of these documents; unknown ids are ignored."""
        ...

    def dense_search(self, queries: np.ndarray, k: int, where: StoreFilter | None = None) -> Ranking:
        """Top-k chunks by inner product with each row of ``queries`` (m, dim) float32."""
        ...

    def lexical_search(self, queries: Sequence[str], k: int, where: StoreFilter | None = None) -> Ranking:
        """Top-k chunks by BM25 for each query text; only chunks sharing a term with it."""
        ...

    def fetch(self, ids: np.ndarray) -> list[StoredChunk]:
        """The stored chunks of ``ids``, in that order; ids not stored are left out."""
        ...

    def close(self) -> None:
        """Release connections and files; the store is not used afterwards."""
        ...


def check_vectors(vectors: np.ndarray, dim: int, what: str = "vectors") -> None:
    """Raise ValueError unless ``vectors`` is a (n, dim) float32 array."""
    if not isinstance(vectors, np.ndarray) or vectors.dtype != np.float32 or vectors.ndim != 2:
        raise ValueError(f"{what} must be a 2-d float32 numpy array (n, {dim})")
    if vectors.shape[1] != dim:
        raise ValueError(f"{what} have dimension {vectors.shape[1]}, the store holds dimension {dim}")


def check_k(k: int) -> None:
    """Raise ValueError unless ``k`` is a positive int."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive int, not {k!r}")


def check_texts(queries: Sequence[str]) -> None:
    """Raise ValueError unless ``queries`` is a sequence of strings (not one string)."""
    if isinstance(queries, str) or not all(isinstance(q, str) for q in queries):
        raise ValueError("lexical queries must be a list of strings")
