"""The store's records check their input."""

from __future__ import annotations

import numpy as np
import pytest

from kb.stores import ChunkMeta, ChunkRows, LexicalParams, Ranking, StoreFilter


def test_chunk_rows_check_their_shape() -> None:
    ids, vectors = np.arange(3, dtype=np.int64), np.ones((3, 4), dtype=np.float32)
    metas = tuple(ChunkMeta("d") for _ in range(3))
    with pytest.raises(ValueError, match="3 ids, 2 texts, 3 vectors, 3 metas"):
        ChunkRows(ids, ("a", "b"), vectors, metas)
    with pytest.raises(ValueError, match="ids must be a 1-d int64 numpy array"):
        ChunkRows(ids.astype(np.int32), ("a", "b", "c"), vectors, metas)
    with pytest.raises(ValueError, match="chunk ids in one batch must be unique"):
        ChunkRows(np.zeros(3, dtype=np.int64), ("a", "b", "c"), vectors, metas)
    with pytest.raises(ValueError, match="chunk ids must not be negative, got -1"):
        ChunkRows(ids - 1, ("a", "b", "c"), vectors, metas)
    with pytest.raises(ValueError, match="vectors hold NaN"):
        ChunkRows(ids, ("a", "b", "c"), vectors * np.nan, metas)
    assert len(ChunkRows(ids, ("a", "b", "c"), vectors, metas)) == 3


def test_meta_filter_and_params_check_their_values() -> None:
    with pytest.raises(ValueError, match="level of 'd' must be an int of 0 or more, not -1"):
        ChunkMeta("d", level=-1)
    with pytest.raises(ValueError, match="groups of 'd' must be a tuple of non-empty strings"):
        ChunkMeta("d", groups=["finance"])
    with pytest.raises(ValueError, match="types must be a tuple of strings"):
        StoreFilter(types="minutes")
    with pytest.raises(ValueError, match="query_stopwords 'all' is not one of basic, extended"):
        LexicalParams(query_stopwords="all")
    assert StoreFilter().empty() and not StoreFilter(groups=()).empty() and not StoreFilter(max_level=0).empty()


def test_ranking_rows_leave_out_missing_slots() -> None:
    ranking = Ranking.from_rows([([7, 3], [0.9, 0.5]), ([], [])], 3)
    assert ranking.ids.tolist() == [[7, 3, -1], [-1, -1, -1]]
    assert ranking.row(0)[0].tolist() == [7, 3] and ranking.row(1)[0].tolist() == []
