"""Fusion arithmetic, the BM25 index and the FAISS index, each saved and loaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kb.dense import DenseIndex
from kb.fusion import convex, fuse, minmax, rrf, top_k
from kb.lexical import LexicalIndex, Tokenizer


def test_minmax_and_convex() -> None:
    assert minmax(np.array([2.0, 4.0, 3.0])).tolist() == [0.0, 1.0, 0.5]
    assert minmax(np.array([5.0, 5.0])).tolist() == [0.0, 0.0]
    fused = convex(dense=np.array([0.9, 0.1]), lexical=np.array([0.0, 10.0]), bm25_weight=0.6)
    assert fused.tolist() == pytest.approx([0.4, 0.6])


def test_rrf_and_top_k() -> None:
    fused = rrf(np.array([0.9, 0.5, 0.1]), np.array([1.0, 3.0, 2.0]), bm25_weight=0.5, k=60)
    assert fused.tolist() == pytest.approx([0.5 / 63 + 0.5 / 61, 0.5 / 61 + 0.5 / 62, 0.5 / 62 + 0.5 / 63])
    assert top_k(np.array([0.1, 0.7, 0.3, 0.9]), 2).tolist() == [3, 1]
    assert top_k(np.array([0.1]), 5).tolist() == [0]
    with pytest.raises(ValueError, match="unknown fusion method 'max'"):
        fuse("max", np.zeros(1), np.zeros(1), 0.5)


def test_tokenizer_stems_drops_stop_words_and_bigrams_chinese() -> None:
    assert Tokenizer()(["The notices of the meeting", "会议通知"]) == [["notic", "meet"], ["会议", "议通", "通知"]]


def test_lexical_index_scores_save_and_load(tmp_path: Path) -> None:
    index = LexicalIndex.build(["meeting notices are sent early", "archives are kept", "会议通知应当提前发出"])
    scores = index.scores("notice of the meeting")
    assert scores.shape == (3,) and scores[0] > 0 and scores[1] == 0
    assert index.scores("会议通知")[2] > 0
    assert index.scores("zebra").tolist() == [0.0, 0.0, 0.0]
    index.save(tmp_path / "bm25")
    assert LexicalIndex.load(tmp_path / "bm25").scores("archives").tolist() == index.scores("archives").tolist()
    assert LexicalIndex.build([]).scores("anything").shape == (0,)


def test_dense_index_contract(tmp_path: Path) -> None:
    index = DenseIndex(4)
    vectors = np.eye(4, dtype=np.float32)
    index.add(np.array([11, 22, 33, 44]), vectors)
    ids, scores = index.search(vectors[:1], 10)
    assert ids.shape == (1, 4) and ids[0, 0] == 11 and scores[0, 0] == pytest.approx(1.0)
    ids, _ = index.search(vectors[:1], 2, allowed=np.array([33, 44]))
    assert set(ids[0].tolist()) == {33, 44}
    index.remove(np.array([11]))
    assert len(index) == 3
    index.save(tmp_path / "dense.faiss")
    loaded = DenseIndex.load(tmp_path / "dense.faiss")
    assert loaded.vectors(np.array([22])).tolist() == [[0.0, 1.0, 0.0, 0.0]]
    copy = loaded.copy()
    copy.remove(np.array([22]))
    assert (len(copy), len(loaded)) == (2, 3)
    assert DenseIndex(4).search(vectors[:1], 5)[0].shape == (1, 0)


def test_tokenizer_joins_word_families_the_stemmer_splits() -> None:
    assert Tokenizer()(["it was decided", "Decisions", "attendees attend"]) == [["decis"], ["decis"], ["attend", "attend"]]
