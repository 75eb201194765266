"""Rerankers: the blend with the fused score, the settings that name one, and a trained one (slow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kb.errors import KbError
from kb.rerank import CrossEncoderReranker, blend, load_reranker


def test_blend_weighs_standardised_scores() -> None:
    logits, fused = np.array([0.0, 10.0, 5.0]), np.array([1.0, 0.0, 0.5])
    assert np.argmax(blend(logits, fused, 1.0)) == 1
    assert np.argmax(blend(logits, fused, 0.0)) == 0
    assert np.allclose(blend(np.ones(3), fused, 1.0), 0.0)  # no spread: no vote


def test_settings_name_none_or_a_directory(tmp_path: Path) -> None:
    assert load_reranker("none") is None and load_reranker("off") is None
    (tmp_path / "model.xml").write_text("<net/>")
    with pytest.raises(KbError, match=r"lacks model.bin, tokenizer.json, reranker.json: rebuild it with "
                                      r"`kb tune --reranker PAIRS --output .*`, or set reranker = none"):
        CrossEncoderReranker(tmp_path)


def test_pairs_without_negatives_train_no_reranker(tmp_path: Path) -> None:
    from kb.tune import Pair, tune_reranker

    with pytest.raises(KbError, match="a reranker learns from negatives too"):
        tune_reranker([Pair("q", "p")], tmp_path / "reranker")
    assert not (tmp_path / "reranker").exists()


@pytest.mark.slow
def test_a_trained_reranker_is_exported_loaded_and_prefers_what_it_learned(tmp_path: Path) -> None:
    from kb.tune import Pair, RerankParams, tune_reranker

    answer = "Article 21 The notice of a plenary meeting is sent 5 working days before the meeting."
    other = "Article 22 A meeting notice states the name of the meeting, its date, venue and agenda."
    pairs = [Pair(q, answer, other) for q in ("How many days ahead is a meeting notice sent?",
                                              "When must the notice of a plenary meeting go out?",
                                              "How early is a plenary meeting notice sent?")] * 8
    info = tune_reranker(pairs, tmp_path / "reranker", RerankParams(epochs=3, batch_size=8, learning_rate=1e-4))
    assert info["steps"] == 3 * 24 // (8 // 2) and (tmp_path / "reranker" / "model.bin").stat().st_size < 30_000_000
    reranker = load_reranker(str(tmp_path / "reranker"))
    scores = reranker.score("How many days before a plenary meeting is its notice sent?", [other, answer])
    assert scores.dtype == np.float32 and scores[1] > scores[0]
    with pytest.raises(KbError, match="already exists: pass --force"):
        tune_reranker(pairs, tmp_path / "reranker")
