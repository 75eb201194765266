"""Dense and reranker votes follow how much of a text the model can read ([UNK] share)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kb.config import Settings
from kb.encoder import HashingEncoder, make_encoder
from kb.errors import KbError
from kb.fusion import convex, rrf
from kb.index import KnowledgeBase
from kb.readability import trust, unknown_shares
from kb.search import Searcher
from tests.conftest import write

ENGLISH = "the meeting notice is sent five days before"
CHINESE = "会议通知应当提前五日送达"


def wordpiece(vocab: list[str]):
    """A WordPiece tokenizer over ``vocab`` (plus the special tokens), splitting CJK characters apart."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordPiece

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *vocab]
    tok = Tokenizer(WordPiece({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(handle_chinese_chars=True, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tok


def tiny_model(path: Path, vocab: list[str]) -> Path:
    """A two-layer, 32-wide sentence-transformers model with ``vocab``, saved to ``path`` (no download)."""
    import torch
    from sentence_transformers import SentenceTransformer

    try:
        from sentence_transformers.sentence_transformer import modules as models
    except ImportError:  # sentence-transformers before 6
        from sentence_transformers import models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(0)
    tok = wordpiece(vocab)
    fast = BertTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                             sep_token="[SEP]", mask_token="[MASK]", model_max_length=64)
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    raw = path / "raw"
    BertModel(config).save_pretrained(raw)
    fast.save_pretrained(raw)
    word = models.Transformer(str(raw), max_seq_length=64)
    SentenceTransformer(modules=[word, models.Pooling(32, "mean")], device="cpu").save(str(path / "model"))
    return path / "model"


def test_unknown_shares_count_unknown_word_pieces() -> None:
    tok = wordpiece(["the", "meeting", "notice", "会", "议"])
    shares = unknown_shares(tok, ["the meeting notice", "会议通知", "", "会议 notice 通"])
    assert shares.tolist() == pytest.approx([0.0, 0.5, 0.0, 0.25])


def test_trust_falls_from_readable_to_unreadable() -> None:
    assert trust(np.array([0.0, 0.1, 0.2, 0.3, 0.7]), 0.1, 0.3).tolist() == pytest.approx([1, 1, 0.5, 0, 0])
    assert trust(np.array([0.1, 0.3]), 0.3, 0.3).tolist() == [1.0, 0.0]


def test_fusion_drops_the_dense_vote_where_it_is_not_trusted() -> None:
    dense, lexical = np.array([0.9, 0.1, 0.5]), np.array([1.0, 3.0, 2.0])
    # Dense alone would put candidate 0 first; with no trust BM25 alone orders them.
    assert np.argsort(-convex(dense, lexical, 0.3, dense_trust=np.zeros(3))).tolist() == [1, 2, 0]
    assert np.argsort(-convex(dense, lexical, 0.3, (0.5, 0.2, 2.0, 1.0), np.zeros(3))).tolist() == [1, 2, 0]
    assert np.argsort(-convex(dense, lexical, 0.3)).tolist()[0] == 0
    assert np.argsort(-rrf(dense, lexical, 0.3, dense_trust=np.zeros(3))).tolist() == [1, 2, 0]


def test_gate_settings_are_checked() -> None:
    with pytest.raises(KbError, match=r"readable_unknown_share \(0.5\) and unreadable_unknown_share \(0.3\) must lie"):
        Settings(readable_unknown_share=0.5, unreadable_unknown_share=0.3)
    with pytest.raises(KbError, match=r"dense_gate \('maybe'\) must be true or false"):
        Settings(dense_gate="maybe")


class BlindEncoder(HashingEncoder):
    """The hashing encoder, but it claims it cannot read Chinese (every CJK character is [UNK])."""

    def unknown_share(self, texts: list[str]) -> np.ndarray:
        return np.array([sum("\u4e00" <= c <= "\u9fff" for c in t) / max(1, len(t.replace(" ", ""))) for t in texts],
                        dtype=np.float32)


class RecordingReranker:
    """A reranker that reverses the order it is given, and records that it was asked."""

    name = "recording"

    def __init__(self, share: float) -> None:
        self.share, self.asked = share, 0

    def unknown_share(self, texts: list[str]) -> np.ndarray:
        return np.full(len(texts), self.share, dtype=np.float32)

    def score(self, question: str, passages: list[str]) -> np.ndarray:
        self.asked += 1
        return np.arange(len(passages), dtype=np.float32)


@pytest.fixture
def mixed(settings: Settings, tmp_path: Path) -> KnowledgeBase:
    root = tmp_path / "docs"
    write(root / "notice.md", f"# Notices\n\n{ENGLISH}.\n")
    write(root / "tongzhi.md", f"# 通知\n\n{CHINESE}。\n")
    write(root / "leave.md", "# Leave\n\nAnnual leave is approved by the head of the unit.\n")
    kb = KnowledgeBase(settings.replace(bm25_weight=0.5), BlindEncoder())
    assert not kb.ingest([root]).failed
    return kb


def test_a_query_the_encoder_cannot_read_is_ranked_by_bm25_alone(mixed: KnowledgeBase) -> None:
    snap = mixed.snapshot
    gated = Searcher(snap, mixed.encoder, mixed.settings)
    bm25 = Searcher(snap, mixed.encoder, mixed.settings.replace(fusion="bm25"))
    ungated = Searcher(snap, mixed.encoder, mixed.settings.replace(dense_gate=False))
    query = "会议通知提前几日送达"
    assert mixed.encoder.unknown_share([query])[0] == 1.0
    assert [h.chunk.id for h in gated.search(query, k=3)] == [h.chunk.id for h in bm25.search(query, k=3)]
    # Passages: the Chinese one gets no dense vote, the English ones keep theirs.
    shares = snap.unknown_shares(mixed.encoder)
    assert sorted(shares.tolist())[:2] == [0.0, 0.0] and shares.max() > 0.3
    assert gated._dense_trust(1.0, np.arange(len(snap))).tolist() == (shares == 0).astype(float).tolist()
    assert ungated._dense_trust(1.0, np.arange(len(snap))) is None


def test_the_reranker_is_skipped_for_a_query_it_cannot_read(mixed: KnowledgeBase) -> None:
    blind, reading = RecordingReranker(share=0.7), RecordingReranker(share=0.0)
    Searcher(mixed.snapshot, mixed.encoder, mixed.settings, blind).search("会议通知", k=3)
    Searcher(mixed.snapshot, mixed.encoder, mixed.settings, reading).search("meeting notice", k=3)
    Searcher(mixed.snapshot, mixed.encoder, mixed.settings.replace(dense_gate=False), blind).search("会议通知", k=3)
    assert (blind.asked, reading.asked) == (1, 1)  # only the ungated search asked the blind reranker


def test_a_multilingual_model_reads_chinese_and_keeps_its_dense_vote(tmp_path: Path) -> None:
    vocab = ["the", "meeting", "notice", "is", "sent", "five", "days", "before", *dict.fromkeys(CHINESE + "。")]
    english_only = tiny_model(tmp_path / "en", vocab[:8])
    multilingual = tiny_model(tmp_path / "zh", vocab)
    for backend in ("torch", "openvino"):
        en = make_encoder(str(english_only), backend=backend, cache_dir=tmp_path / "cache")
        zh = make_encoder(str(multilingual), backend=backend, cache_dir=tmp_path / "cache")
        assert en.unknown_share([CHINESE, ENGLISH]).tolist() == [1.0, 0.0]
        assert zh.unknown_share([CHINESE, ENGLISH]).tolist() == [0.0, 0.0]
    settings = Settings(index=tmp_path / "index", model=str(multilingual), backend="torch", reranker="none",
                        answerability="none")
    write(tmp_path / "docs" / "tongzhi.md", f"# 通知\n\n{CHINESE}。\n")
    kb = KnowledgeBase(settings)
    assert not kb.ingest([tmp_path / "docs"]).failed
    searcher = kb.searcher()
    assert searcher._trust(kb.encoder, "会议通知") == 1.0
    assert searcher._dense_trust(1.0, np.arange(len(kb.snapshot))).tolist() == [1.0] * len(kb.snapshot)
