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
    from kb.bench.tune import Pair, tune_reranker

    with pytest.raises(KbError, match="a reranker learns from negatives too"):
        tune_reranker([Pair("q", "p")], tmp_path / "reranker")
    assert not (tmp_path / "reranker").exists()


@pytest.mark.slow
def test_a_trained_reranker_is_exported_loaded_and_prefers_what_it_learned(tmp_path: Path) -> None:
    from kb.bench.tune import Pair, RerankParams, tune_reranker

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


class _Recording:
    """A reranker that records what it is given and prefers passages naming the word "minutes"."""

    name = "recording"

    def __init__(self, passage_format: str) -> None:
        self.passage_format, self.seen = passage_format, []

    def unknown_share(self, texts):
        return np.zeros(len(texts))

    def score(self, question, passages):
        self.seen.extend(passages)
        return np.array([float("minutes" in p.lower()) for p in passages], dtype=np.float32)


@pytest.mark.parametrize("passage_format", ["text", "title_section_text"])
def test_search_gives_the_reranker_passages_as_it_was_trained_to_read_them(built, passage_format: str) -> None:
    from kb.rerank import passage_text
    from kb.search import Searcher

    reranker = _Recording(passage_format)
    snap = built.snapshot
    Searcher(snap, built.encoder, built.settings.replace(rerank_depth=5), reranker).search("flood season decisions")
    as_read = {passage_text(snap.records[c.doc_id].document.title, c, passage_format) for c in snap.chunks}
    bare = {c.text for c in snap.chunks}
    assert len(reranker.seen) == 5 and set(reranker.seen) <= as_read
    assert set(reranker.seen) <= bare if passage_format == "text" else not set(reranker.seen) & bare


def test_a_reranker_of_an_unknown_passage_format_is_refused(tmp_path: Path) -> None:
    import json

    for name in ("model.xml", "model.bin", "tokenizer.json"):
        (tmp_path / name).write_text("x")
    (tmp_path / "reranker.json").write_text(json.dumps({"max_tokens": 160, "inputs": [], "passage": "summary"}))
    with pytest.raises(KbError, match="reads passages as 'summary', which this program does not know"):
        CrossEncoderReranker(tmp_path)
