"""Dense vectors in FAISS: exact inner product over unit vectors, addressed by int64 ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class DenseIndex:
    """A flat inner-product FAISS index whose rows carry chunk ids, so they can be removed."""

    def __init__(self, dim: int, index=None) -> None:
        import faiss

        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def copy(self) -> DenseIndex:
        """An independent copy, so a write never touches what readers hold."""
        import faiss

        return DenseIndex(self.dim, faiss.clone_index(self._index))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add unit-norm ``vectors`` (n, dim) under int64 ``ids``."""
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape[1] != self.dim:
            raise ValueError(f"vectors have {vectors.shape[1]} dimensions, the index {self.dim}")
        self._index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> None:
        import faiss

        if len(ids):
            self._index.remove_ids(faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64)))

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (ids, scores), each shaped (len(queries), k); missing slots have id -1.

        Args:
            queries: (m, dim) unit vectors.
            k: Results per query; capped at the index size.
            allowed: Only these ids may be returned (a filter), or None for all.
        """
        import faiss

        k = min(k, len(self))
        if k == 0:
            empty = np.zeros((len(queries), 0))
            return empty.astype(np.int64), empty.astype(np.float32)
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64)))
        scores, ids = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k, params=params)
        return ids, scores

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of ``ids`` (n, dim)."""
        if len(ids) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64))

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        import faiss

        index = faiss.read_index(str(path))
        return cls(index.d, index)
