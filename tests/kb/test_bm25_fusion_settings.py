"""BM25 k1/b, bigrams and query stop words, and z-score fusion: settings, index and search."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kb.config import Settings, load_settings
from kb.encoder import HashingEncoder
from kb.errors import KbError
from kb.fusion import convex, fuse, minmax, zscore
from kb.index import KnowledgeBase
from kb.lexical import LexicalIndex, Tokenizer, with_pairs
from kb.search import Searcher


def test_defaults_and_environment(tmp_path: Path, monkeypatch) -> None:
    s = Settings()
    assert (s.fusion_norm, s.bm25_weight, s.bm25_k1, s.bm25_b, s.bm25_bigrams, s.query_stopwords) == (
        "zscore", 0.3, 0.5, 0.75, True, "extended")
    monkeypatch.setenv("KB_BM25_BIGRAMS", "off")
    assert load_settings(tmp_path / "absent.toml").bm25_bigrams is False
    monkeypatch.setenv("KB_BM25_BIGRAMS", "maybe")
    with pytest.raises(KbError, match="setting bm25_bigrams = 'maybe' is not a valid bool"):
        load_settings(tmp_path / "absent.toml")
    monkeypatch.setenv("KB_BM25_BIGRAMS", "1")
    monkeypatch.setenv("KB_FUSION_NORM", "minmax")
    monkeypatch.setenv("KB_BM25_K1", "1.2")
    monkeypatch.setenv("KB_BM25_B", "0.6")
    monkeypatch.setenv("KB_QUERY_STOPWORDS", "basic")
    s = load_settings(tmp_path / "absent.toml")
    assert (s.fusion_norm, s.bm25_k1, s.bm25_b, s.bm25_bigrams, s.query_stopwords) == ("minmax", 1.2, 0.6, True, "basic")


def test_bad_values_name_the_problem() -> None:
    with pytest.raises(KbError, match="fusion_norm 'max' is not one of zscore, minmax"):
        Settings(fusion_norm="max")
    with pytest.raises(KbError, match="query_stopwords 'all' is not one of basic, extended"):
        Settings(query_stopwords="all")
    with pytest.raises(KbError, match=r"bm25_k1 \(-0.1\) must not be negative"):
        Settings(bm25_k1=-0.1)
    with pytest.raises(KbError, match=r"bm25_b \(1.5\) must lie between 0 and 1"):
        Settings(bm25_b=1.5)
    with pytest.raises(KbError, match=r"bm25_bigrams \('no'\) must be true or false"):
        Settings(bm25_bigrams="no")
    with pytest.raises(ValueError, match="stop words 'none' are not one of basic, extended"):
        Tokenizer("none")


def test_extended_stop_words_drop_the_words_of_asking() -> None:
    question = "What should a firm do when which notice is late?"
    assert Tokenizer()([question]) == [["what", "should", "firm", "do", "when", "which", "notic", "late"]]
    assert Tokenizer("extended")([question]) == [["firm", "notic", "late"]]


def test_query_stop_words_change_only_the_query() -> None:
    index = LexicalIndex.build(["what the rules say", "notices are sent early"])
    assert index.scores("what notices", "basic")[0] > 0
    assert index.scores("what notices", "extended").tolist()[0] == 0.0
    assert index.scores("what notices", "extended")[1] == pytest.approx(index.scores("notices")[1])
    assert index.scores("what which how", "extended").tolist() == [0.0, 0.0]


def test_k1_and_b_are_built_in_saved_and_loaded(tmp_path: Path) -> None:
    texts = ["notice notice notice notice", "notice archives"]
    # A low k1 saturates repeats: four "notice" count for little more than one.
    high = LexicalIndex.build(texts, k1=2.0, b=0.0).scores("notice")
    low = LexicalIndex.build(texts, k1=0.2, b=0.0).scores("notice")
    assert high[0] / high[1] > low[0] / low[1] > 1.0
    index = LexicalIndex.build(texts, k1=0.2, b=0.3, bigrams=True)
    index.save(tmp_path / "bm25")
    loaded = LexicalIndex.load(tmp_path / "bm25")
    assert loaded.params == {"k1": 0.2, "b": 0.3, "bigrams": True, "cjk_pairs": False}
    assert loaded.scores("notice archives").tolist() == index.scores("notice archives").tolist()
    meta = json.loads((tmp_path / "bm25" / "lexical.json").read_text())
    del meta["k1"], meta["b"], meta["bigrams"], meta["cjk_pairs"]  # written before the parameters were recorded
    (tmp_path / "bm25" / "lexical.json").write_text(json.dumps(meta))
    assert LexicalIndex.load(tmp_path / "bm25").params == {"k1": 1.5, "b": 0.75, "bigrams": False, "cjk_pairs": True}


def test_bigrams_prefer_the_words_standing_together() -> None:
    assert with_pairs(["money", "launder", "risk"]) == ["money", "launder", "risk", "money launder", "launder risk"]
    texts = ["the person is relevant to the risk", "a relevant person reports the risk"]
    plain = LexicalIndex.build(texts, k1=0.5)
    pairs = LexicalIndex.build(texts, k1=0.5, bigrams=True)
    assert plain.scores("relevant person")[0] == pytest.approx(plain.scores("relevant person")[1], rel=0.2)
    assert pairs.scores("relevant person")[1] > 2 * pairs.scores("relevant person")[0]
    # Query pairs are made from the words less the basic stop words, as the documents' are:
    # "what" goes from the words but still pairs, so "what relevant" is looked up (and is unknown here).
    assert pairs.query_terms("What is a relevant person?", "extended") == [
        "relev", "person", "what relev", "relev person"]
    assert plain.query_terms("What is a relevant person?", "extended") == ["relev", "person"]


def test_chinese_bigrams_pair_only_when_asked() -> None:
    terms = ["合同", "同法", "notic", "meet"]
    assert with_pairs(terms, cjk=False) == [*terms, "notic meet"]
    assert with_pairs(terms) == [*terms, "合同 同法", "同法 notic", "notic meet"]
    plain = LexicalIndex.build(["合同法的规定", "notice of meeting"], bigrams=True)
    assert plain.query_terms("合同法") == ["合同", "同法"]
    paired = LexicalIndex.build(["合同法的规定"], bigrams=True, cjk_pairs=True)
    assert paired.query_terms("合同法") == ["合同", "同法", "合同 同法"]
    with pytest.raises(KbError, match=r"bm25_cjk_pairs \('no'\) must be true or false"):
        Settings(bm25_cjk_pairs="no")


def test_other_k1_rebuilds_bm25_on_load_and_on_disk_at_the_next_ingest(
    settings: Settings, corpus: Path
) -> None:
    KnowledgeBase(settings.replace(bm25_k1=0.5), HashingEncoder()).ingest([corpus])
    manifest = json.loads((settings.index / "manifest.json").read_text())
    assert {k: manifest["lexical"][k] for k in ("k1", "b", "bigrams")} == {"k1": 0.5, "b": 0.75, "bigrams": True}
    other = KnowledgeBase(settings.replace(bm25_k1=1.2), HashingEncoder())
    assert other.snapshot.lexical.params == {"k1": 1.2, "b": 0.75, "bigrams": True, "cjk_pairs": False}
    fresh = LexicalIndex.build(
        [other.lexical_text(other.snapshot.records[c.doc_id].document, c) for c in other.snapshot.chunks],
        k1=1.2, bigrams=True,
    )
    query = "how long are duty records kept"
    assert other.snapshot.lexical.scores(query).tolist() == fresh.scores(query).tolist()
    report = other.ingest([corpus])  # nothing changed but the parameters: BM25 is written again
    assert set(r.status for r in report.results) == {"unchanged"}
    manifest = json.loads((settings.index / "manifest.json").read_text())
    assert manifest["generation"] == "gen-000002" and manifest["lexical"]["k1"] == 1.2
    again = KnowledgeBase(settings.replace(bm25_k1=1.2), HashingEncoder())
    again.ingest([corpus])
    assert json.loads((settings.index / "manifest.json").read_text())["generation"] == "gen-000002"
    plain = KnowledgeBase(settings.replace(bm25_k1=1.2, bm25_bigrams=False), HashingEncoder())
    assert plain.snapshot.lexical.params["bigrams"] is False
    assert plain.snapshot.lexical.query_terms("duty records") == ["duti", "record"]


def test_zscore_and_convex_with_collection_stats() -> None:
    assert zscore(np.array([1.0, 3.0]), 2.0, 0.5).tolist() == [-2.0, 2.0]
    assert zscore(np.array([1.0, 3.0]), 2.0, 0.0).tolist() == [0.0, 0.0]
    dense, lexical = np.array([0.9, 0.5, 0.4]), np.array([0.0, 10.0, 50.0])
    stats = (0.2, 0.1, 1.0, 5.0)
    fused = convex(dense, lexical, 0.4, stats)
    raw = 0.4 * (lexical - 1.0) / 5.0 + 0.6 * (dense - 0.2) / 0.1
    assert fused.tolist() == pytest.approx(minmax(raw).tolist(), abs=1e-6)
    assert fused.min() == 0.0 and fused.max() == pytest.approx(1.0)
    # Min-max over the candidates makes the best BM25 score worth no more than the best dense one;
    # against the collection's spread, a BM25 score far above the usual one counts for more.
    assert np.argmax(convex(dense, lexical, 0.4)) == 0 and np.argmax(fused) == 2
    assert fuse("convex", dense, lexical, 0.4, stats).tolist() == fused.tolist()
    assert fuse("rrf", dense, lexical, 0.4, stats).tolist() == fuse("rrf", dense, lexical, 0.4).tolist()


def test_dense_stats_match_the_scores_over_every_chunk(built: KnowledgeBase) -> None:
    snap = built.snapshot
    q = built.encoder.encode(["how long are duty records kept"])[0]
    scores = snap.vectors @ q
    mean, std = snap.dense_stats(q)
    assert mean == pytest.approx(float(scores.mean()), abs=1e-5)
    assert std == pytest.approx(float(scores.std()), abs=1e-5)


@pytest.mark.parametrize("norm", ["zscore", "minmax"])
def test_search_with_either_norm(built: KnowledgeBase, norm: str) -> None:
    searcher = Searcher(built.snapshot, built.encoder, built.settings.replace(fusion_norm=norm))
    hits = searcher.search("how long are duty records kept", k=3)
    assert hits[0].chunk.doc_id == "regulations/duty-rules"
    assert all(0.0 <= h.score <= 1.0 for h in hits)


def test_a_query_of_stop_words_alone_still_finds_by_meaning(built: KnowledgeBase) -> None:
    hits = built.search("what is it about?")
    assert hits and all(h.lexical == 0.0 for h in hits)
