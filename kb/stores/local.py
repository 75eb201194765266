"""The embedded store: FAISS for vectors and bm25s for words, in memory, saved to a directory.

Vectors sit in an exact inner-product index addressed by chunk id (kb.dense.DenseIndex); a
filter becomes the set of ids FAISS may return (an IDSelector), so it acts inside the search.
BM25 (kb.lexical.LexicalIndex, the project's tokenizer) is rebuilt from the texts on the first
lexical search after a change: its scores depend on every text, through IDF and mean length.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.dense import DenseIndex
from kb.errors import IndexDamagedError, IndexMismatchError
from kb.lexical import LexicalIndex
from kb.stores import (
    MISSING,
    ChunkMeta,
    ChunkRows,
    LexicalParams,
    Ranking,
    StoredChunk,
    StoreFilter,
    check_k,
    check_texts,
    check_vectors,
)

FORMAT = 1
MANIFEST = "manifest.json"


@dataclass(frozen=True, eq=False)
class _Columns:
    """The chunks' metadata as arrays over positions, for vectorised filters."""

    doc_id: np.ndarray
    doc_type: np.ndarray
    status: np.ndarray
    date: np.ndarray  # "" where a chunk has no date
    level: np.ndarray
    grouped: np.ndarray  # whether a chunk has any group
    members: dict[str, np.ndarray]  # group -> positions of the chunks it may see

    @classmethod
    def of(cls, metas: list[ChunkMeta]) -> _Columns:
        def column(values: list) -> np.ndarray:
            return np.array(values or [""], dtype=object)[: len(values)]

        members: dict[str, list[int]] = {}
        for pos, meta in enumerate(metas):
            for group in meta.groups:
                members.setdefault(group, []).append(pos)
        return cls(
            column([m.doc_id for m in metas]),
            column([m.doc_type for m in metas]),
            column([m.status for m in metas]),
            column([m.date or "" for m in metas]),
            np.fromiter((m.level for m in metas), np.int64, len(metas)),
            np.fromiter((bool(m.groups) for m in metas), bool, len(metas)),
            {g: np.array(p, dtype=np.int64) for g, p in members.items()},
        )

    def mask(self, where: StoreFilter) -> np.ndarray:
        """Boolean array over positions: the chunks ``where`` lets through."""
        keep = np.ones(len(self.level), dtype=bool)
        if where.types:
            keep &= np.isin(self.doc_type, list(where.types))
        if where.statuses:
            keep &= np.isin(self.status, list(where.statuses))
        if where.doc_ids:
            keep &= np.isin(self.doc_id, list(where.doc_ids))
        if where.exclude_doc_ids:
            keep &= ~np.isin(self.doc_id, list(where.exclude_doc_ids))
        if where.date_from or where.date_to:
            keep &= self.date != ""
        if where.date_from:
            keep &= self.date >= where.date_from
        if where.date_to:
            keep &= self.date <= where.date_to
        if where.max_level is not None:
            keep &= self.level <= where.max_level
        if where.groups is not None:
            visible = ~self.grouped
            for group in where.groups:
                if group in self.members:
                    visible[self.members[group]] = True
            keep &= visible
        return keep


class LocalStore:
    """Chunks in memory: exact inner product in FAISS, BM25 with bm25s; ``save`` and ``load`` a directory.

    Args:
        dim: Dimension of the vectors.
        lexical: How BM25 is built and queried.
    """

    def __init__(self, dim: int, lexical: LexicalParams = LexicalParams()) -> None:
        if dim < 1:
            raise ValueError(f"dim must be positive, not {dim}")
        self.dim = int(dim)
        self.lexical = lexical
        self._dense = DenseIndex(self.dim)
        self._ids = np.zeros(0, dtype=np.int64)
        self._texts: list[str] = []
        self._metas: list[ChunkMeta] = []
        self._position: dict[int, int] = {}
        self._columns: _Columns | None = None  # built on the first filter after a change
        self._bm25: LexicalIndex | None = None  # built on the first lexical search after a change

    def count(self) -> int:
        return len(self._ids)

    def add(self, rows: ChunkRows) -> None:
        check_vectors(rows.vectors, self.dim)
        if not len(rows):
            return
        stored = [i for i in rows.ids.tolist() if i in self._position]
        if stored:
            self._keep(~np.isin(self._ids, np.array(stored, dtype=np.int64)))
        self._dense.add(rows.ids, rows.vectors)
        start = len(self._ids)
        self._ids = np.concatenate([self._ids, rows.ids])
        self._texts.extend(rows.texts)
        self._metas.extend(rows.metas)
        self._position.update((i, start + n) for n, i in enumerate(rows.ids.tolist()))
        self._changed()

    def remove_docs(self, doc_ids: Sequence[str]) -> None:
        if isinstance(doc_ids, str):
            raise ValueError("doc_ids must be a list of document ids, not one string")
        gone = set(doc_ids)
        if self._ids.size and gone:
            self._keep(np.array([m.doc_id not in gone for m in self._metas], dtype=bool))

    def dense_search(self, queries: np.ndarray, k: int, where: StoreFilter | None = None) -> Ranking:
        check_vectors(queries, self.dim, "queries")
        check_k(k)
        mask = self._mask(where)
        allowed = None if mask is None else self._ids[mask]
        if not self.count() or (allowed is not None and not allowed.size):
            return Ranking.empty(len(queries), k)
        ids, scores = self._dense.search(queries, k, allowed)
        ranking = Ranking.empty(len(queries), k)
        found = ids != MISSING
        ranking.ids[:, : ids.shape[1]] = np.where(found, ids, MISSING)
        ranking.scores[:, : ids.shape[1]] = np.where(found, scores, -np.inf)
        return ranking

    def lexical_search(self, queries: Sequence[str], k: int, where: StoreFilter | None = None) -> Ranking:
        check_texts(queries)
        check_k(k)
        mask = self._mask(where)
        if not self.count() or (mask is not None and not mask.any()):
            return Ranking.empty(len(queries), k)
        bm25 = self._lexical_index()
        rows = []
        for query in queries:
            scores = bm25.scores(query, self.lexical.query_stopwords)
            hits = np.flatnonzero((scores > 0) if mask is None else (scores > 0) & mask)
            if len(hits) > k:
                hits = hits[np.argpartition(-scores[hits], k - 1)[:k]]
            # Best first; equal scores by id, so the order does not hang on positions.
            hits = hits[np.lexsort((self._ids[hits], -scores[hits]))]
            rows.append((self._ids[hits], scores[hits]))
        return Ranking.from_rows(rows, k)

    def fetch(self, ids: np.ndarray) -> list[StoredChunk]:
        found = [(int(i), self._position[int(i)]) for i in np.asarray(ids, dtype=np.int64) if int(i) in self._position]
        if not found:
            return []
        vectors = self._dense.vectors(np.array([i for i, _ in found], dtype=np.int64))
        return [StoredChunk(i, self._texts[p], self._metas[p], vectors[n]) for n, (i, p) in enumerate(found)]

    def close(self) -> None:
        """Nothing to release: the store lives in memory."""

    def save(self, directory: Path) -> None:
        """Write the store to ``directory`` atomically: built beside it, then renamed into place.

        A reader of ``directory`` sees the old store or the new one, never a mix; a failed write
        leaves the old one as it was.
        """
        directory = Path(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = directory.parent / f".{directory.name}.tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            self._dense.save(tmp / "dense.faiss")
            self._lexical_index().save(tmp / "lexical")
            with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as out:
                for i, text, m in zip(self._ids.tolist(), self._texts, self._metas):
                    row = {"id": i, "text": text, "doc_id": m.doc_id, "doc_type": m.doc_type, "status": m.status,
                           "date": m.date, "level": m.level, "groups": list(m.groups)}
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
            manifest = {"format": FORMAT, "store": "local", "dim": self.dim, "count": self.count(),
                        "dense_index": "IndexIDMap2(IndexFlatIP)", "lexical": self.lexical.build}
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            _swap(tmp, directory)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @classmethod
    def load(cls, directory: Path, dim: int | None = None, lexical: LexicalParams | None = None) -> LocalStore:
        """Read a store ``save`` wrote, checking it against its manifest.

        Args:
            directory: Where it was saved.
            dim: The dimension the caller's encoder gives; a store of another raises IndexMismatchError.
            lexical: BM25 parameters wanted; if they differ from the saved ones, BM25 is rebuilt
                in memory on the first lexical search.
        """
        directory = Path(directory)
        try:
            manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise IndexDamagedError(f"{directory / MANIFEST} cannot be read ({e}): save the store again") from e
        if manifest.get("format") != FORMAT or manifest.get("store") != "local":
            raise IndexMismatchError(
                f"{directory} holds store format {manifest.get('format')!r} ({manifest.get('store')!r}), "
                f"this code reads format {FORMAT} ('local'): rebuild the index"
            )
        if dim is not None and dim != manifest["dim"]:
            raise IndexMismatchError(
                f"store built with {manifest['dim']}-d vectors, the encoder gives {dim}-d: rebuild the index"
            )
        saved = LexicalParams(**manifest["lexical"])
        store = cls(manifest["dim"], lexical if lexical is not None else saved)
        store._dense = DenseIndex.load(directory / "dense.faiss")
        with open(directory / "chunks.jsonl", encoding="utf-8") as lines:
            rows = [json.loads(line) for line in lines]
        if not len(rows) == len(store._dense) == manifest["count"] or store._dense.dim != manifest["dim"]:
            raise IndexDamagedError(
                f"{directory}: the manifest says {manifest['count']} chunks of {manifest['dim']} d, the files hold "
                f"{len(rows)} texts and {len(store._dense)} vectors of {store._dense.dim} d: save the store again"
            )
        store._ids = np.array([r["id"] for r in rows], dtype=np.int64)
        store._texts = [r["text"] for r in rows]
        store._metas = [ChunkMeta(r["doc_id"], r["doc_type"], r["status"], r["date"], r["level"], tuple(r["groups"]))
                        for r in rows]
        store._position = {i: p for p, i in enumerate(store._ids.tolist())}
        if store.lexical.build == saved.build:
            store._bm25 = LexicalIndex.load(directory / "lexical")
        return store

    def _keep(self, keep: np.ndarray) -> None:
        """Drop the chunks at the positions where ``keep`` is false."""
        self._dense.remove(self._ids[~keep])
        self._ids = self._ids[keep]
        self._texts = [t for t, k in zip(self._texts, keep) if k]
        self._metas = [m for m, k in zip(self._metas, keep) if k]
        self._position = {i: p for p, i in enumerate(self._ids.tolist())}
        self._changed()

    def _changed(self) -> None:
        self._columns = None
        self._bm25 = None

    def _mask(self, where: StoreFilter | None) -> np.ndarray | None:
        if where is None or where.empty():
            return None
        if self._columns is None:
            self._columns = _Columns.of(self._metas)
        return self._columns.mask(where)

    def _lexical_index(self) -> LexicalIndex:
        if self._bm25 is None:
            self._bm25 = LexicalIndex.build(self._texts, **self.lexical.build)
        return self._bm25


def _swap(new: Path, directory: Path) -> None:
    """Put ``new`` where ``directory`` is, replacing it; both sit in the same parent."""
    if not directory.exists():
        os.rename(new, directory)
        return
    old = directory.parent / f".{directory.name}.old-{uuid.uuid4().hex}"
    os.rename(directory, old)
    try:
        os.rename(new, directory)
    except BaseException:
        os.rename(old, directory)
        raise
    shutil.rmtree(old, ignore_errors=True)
