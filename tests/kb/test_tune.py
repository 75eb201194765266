"""`kb tune`: pairs parsing, refusals, failure safety, and one real fine-tune of the packaged model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kb.cli import cli
from kb.config import Settings
from kb.encoder import SentenceTransformerEncoder, make_encoder
from kb.errors import IndexMismatchError, KbError
from kb.index import KnowledgeBase
from kb.bench.tune import Pair, TuneParams, read_pairs, tune

# Office questions asked in other words than the passages use, so that the
# packaged model ranks some answers low and tuning has room to improve.
PAIRS = [
    ("Who signs off the minutes?", "The chair approves the record of the meeting before it is circulated."),
    ("How early do invitations to a meeting go out?", "Notices are dispatched no later than three working days ahead."),
    ("Where do I hand in papers for the agenda?", "Materials are lodged with the Meetings Division two days before."),
    ("How long do we keep the duty log?", "Records of the duty roster are retained for three years."),
    ("What happens to a leaked secret file?", "Any loss of a classified document is reported to the Security Office at once."),
    ("Who pays for new pumps?", "The Finance Bureau funds the drainage equipment from the contingency budget."),
    ("When must a request for instructions be answered?", "Replies to superior bodies are issued within fifteen working days."),
    ("Can I take a car to the airport?", "Official vehicles serve only business trips approved by the division head."),
    ("Who checks drafts before signature?", "The Secretariat Division reviews every text submitted for signing."),
    ("How is the date written on a notice?", "The issue date uses Arabic numerals with the full year, month and day."),
    ("What goes below the body of a letter?", "The attachment note sits one line under the text and lists each enclosure."),
    ("Who follows up on decisions?", "The Supervision Office tracks each resolution and reports every month."),
    ("How fast is an emergency phoned in?", "A major incident is reported to the Duty Office by telephone within thirty minutes."),
    ("Who keeps the annual plan of meetings?", "The Meetings Division maintains the yearly schedule of sessions."),
    ("What if the archives lose a folder?", "A missing file is searched for by the Archives Office and its loss recorded."),
    ("Who may destroy classified paper?", "Shredding of secret documents requires two witnesses and a signed record."),
]

FAST = TuneParams(epochs=2, batch_size=8, max_seq_length=32, learning_rate=2e-4, warmup=0.0)


def write_pairs(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def passages_jsonl(path: Path) -> Path:
    rows = [{"id": f"p{i:02d}", "text": passage, "doc_id": "faq", "title": "Office FAQ"}
            for i, (_, passage) in enumerate(PAIRS)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def gold_ranks(encoder) -> np.ndarray:
    """The rank (1 = first) of each question's own passage among all sixteen passages."""
    q = encoder.encode([question for question, _ in PAIRS])
    p = encoder.encode([passage for _, passage in PAIRS])
    sims = q @ p.T
    return (sims > np.diag(sims)[:, None]).sum(axis=1) + 1


# --- pairs -------------------------------------------------------------------------


def test_pairs_accept_the_alternative_keys_and_skip_blank_lines(tmp_path: Path) -> None:
    path = write_pairs(tmp_path / "pairs.jsonl", [
        {"question": "q1", "passage": "p1"}, "", {"query": "q2", "positive": "p2"}, {"query": "q3", "text": "p3"},
    ])
    assert read_pairs(path) == [Pair("q1", "p1"), Pair("q2", "p2"), Pair("q3", "p3")]


@pytest.mark.parametrize(("rows", "message"), [
    ([{"question": "q", "passage": "p"}, "{not json"], r"pairs.jsonl:2 is not JSON .*\"question\""),
    ([["q", "p"], {"question": "q", "passage": "p"}], r"pairs.jsonl:1 is a JSON list, not an object"),
    ([{"question": "q", "passage": "p"}, {"question": "q2"}],
     r"pairs.jsonl:2: no passage \(give 'passage' or 'positive' or 'text'\)"),
    ([{"passage": "p"}, {"question": "q", "passage": "p"}], r"pairs.jsonl:1: no question \(give 'question' or 'query'\)"),
    ([{"question": "  ", "passage": "p"}, {"question": "q", "passage": "p"}],
     r"pairs.jsonl:1: 'question' must be non-empty text"),
    ([{"question": "q", "passage": 3}, {"question": "q", "passage": "p"}], r"pairs.jsonl:1: 'passage' must be non-empty text, got 3"),
    ([{"question": "q", "passage": "p", "negative": "n"}, {"question": "q2", "passage": "p2"}],
     r"pairs.jsonl:2 has no 'negative' but line 1 has one"),
    ([{"question": "q", "passage": "p"}], r"holds one pair; in-batch negatives need at least two"),
    (["", "  "], r"pairs.jsonl holds no pairs: write one JSON object a line"),
])
def test_bad_pairs_name_the_line_and_the_fix(tmp_path: Path, rows, message) -> None:
    with pytest.raises(KbError, match=message):
        read_pairs(write_pairs(tmp_path / "pairs.jsonl", rows))


def test_empty_pairs_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pairs.jsonl").write_bytes(b"")
    with pytest.raises(KbError, match="holds no pairs"):
        read_pairs(tmp_path / "pairs.jsonl")


@pytest.mark.parametrize(("change", "message"), [
    ({"epochs": 0}, r"epochs \(0\) must be at least 1"),
    ({"batch_size": 1}, r"batch size \(1\) must be at least 2"),
    ({"learning_rate": 0.0}, r"learning rate \(0.0\) must be positive"),
    ({"warmup": 1.0}, r"warmup \(1.0\) is a share of the steps"),
])
def test_bad_parameters_are_refused(change, message) -> None:
    with pytest.raises(KbError, match=message):
        TuneParams(**change)


# --- refusals and failures, before any training ---------------------------------------


SOME_PAIRS = [Pair(q, p) for q, p in PAIRS[:4]]


def test_existing_output_dir_is_refused_without_force(tmp_path: Path) -> None:
    out = tmp_path / "model"
    (out / "keep.txt").parent.mkdir()
    (out / "keep.txt").write_text("mine")
    kb = KnowledgeBase(Settings(index=tmp_path / "index"))
    with pytest.raises(KbError, match=r"model already exists: pass --force to replace it, or choose another --output"):
        tune(kb, SOME_PAIRS, out, reindex=False)
    assert (out / "keep.txt").read_text() == "mine"


def test_reindex_needs_an_index(tmp_path: Path) -> None:
    kb = KnowledgeBase(Settings(index=tmp_path / "index"))
    with pytest.raises(KbError, match=r"no index at .*index to re-encode: run `kb ingest PATH...` first, or pass --no-reindex"):
        tune(kb, SOME_PAIRS, tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_the_hashing_encoder_cannot_be_tuned(tmp_path: Path) -> None:
    kb = KnowledgeBase(Settings(index=tmp_path / "index", model="hashing"))
    with pytest.raises(KbError, match="encoder hashing-256 has no weights to tune"):
        tune(kb, SOME_PAIRS, tmp_path / "model", reindex=False)


def test_failed_training_leaves_the_index_and_no_model(built: KnowledgeBase, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("kb.bench.tune.base_encoder", lambda kb: make_encoder(""))

    def explode(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr("kb.bench.tune._train", explode)
    before = (built.path / "manifest.json").read_bytes()
    with pytest.raises(KbError, match=r"training failed \(RuntimeError: out of memory\); the index and .* are unchanged"):
        tune(built, SOME_PAIRS, tmp_path / "model")
    assert (built.path / "manifest.json").read_bytes() == before
    assert list(tmp_path.glob("*model*")) == []


def test_failed_reencode_keeps_the_model_in_place_and_the_index(built: KnowledgeBase, tmp_path: Path,
                                                                  monkeypatch) -> None:
    out = tmp_path / "model"
    out.mkdir()
    (out / "config.json").write_text("{}")
    (out / "old.txt").write_text("the model the index may use")
    monkeypatch.setattr("kb.bench.tune.base_encoder", lambda kb: make_encoder(""))
    seen = {}

    def fake_train(base, pairs, params, staged: Path, progress):
        staged.mkdir()
        (staged / "config.json").write_text("{}")
        return 1, 0.5, "MultipleNegativesRankingLoss"

    def refuse(self, encoder, progress=None):
        seen["path"], seen["files"] = encoder.path, encoder.files
        raise KbError("disk full")

    monkeypatch.setattr("kb.bench.tune._train", fake_train)
    monkeypatch.setattr(KnowledgeBase, "reencode", refuse)
    before = (built.path / "manifest.json").read_bytes()
    with pytest.raises(KbError, match="disk full"):
        tune(built, SOME_PAIRS, out, force=True)
    # The index was to name the final directory while reading the staged one.
    assert seen["path"] == out.resolve() and seen["files"].name.startswith(".model.tmp-")
    assert (out / "old.txt").read_text() == "the model the index may use"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert (built.path / "manifest.json").read_bytes() == before


# --- a real fine-tune ------------------------------------------------------------------


def test_tune_trains_reencodes_and_the_index_keeps_the_tuned_model(tmp_path: Path) -> None:
    settings = Settings(index=tmp_path / "index")
    kb = KnowledgeBase(settings)
    assert not kb.ingest([passages_jsonl(tmp_path / "faq.jsonl")]).failed
    packaged = kb.encoder
    before = gold_ranks(packaged)
    assert before.sum() > len(PAIRS)  # the packaged model misses some: there is something to learn
    stages: set[str] = set()

    report = tune(kb, [Pair(q, p) for q, p in PAIRS], params=FAST, progress=lambda s, d, t: stages.add(s))

    out = tmp_path / "index" / "tuned-all-MiniLM-L6-v2"
    assert report.model == str(out.resolve())
    assert (report.pairs, report.chunks, report.steps) == (16, 16, 4)
    assert stages == {"training", "embedding"}
    assert json.loads((out / "kb-tune.json").read_text())["params"]["batch_size"] == 8
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    encoder = manifest["encoder"]
    assert {k: encoder[k] for k in ("name", "dim", "max_tokens", "path", "backend")} == {
        "name": "tuned-all-MiniLM-L6-v2", "dim": 384, "max_tokens": 256, "path": str(out.resolve()), "backend": "openvino"}

    # A later run with default settings uses the tuned model, with no flag.
    later = KnowledgeBase(settings)
    assert later.encoder.name == "tuned-all-MiniLM-L6-v2" and later.encoder.path == out.resolve()
    assert later.encoder.max_tokens == packaged.max_tokens  # chunking still holds
    after = gold_ranks(later.encoder)
    # Converted while staged, cached under the model's final name and reused from there.
    assert later.encoder._export[0].name.startswith("tuned-all-MiniLM-L6-v2-")
    assert after.sum() < before.sum(), (before, after)
    # The index holds the tuned model's vectors, and search ranks with it.
    assert np.allclose(later.snapshot.vectors, later.encoder.encode([p for _, p in PAIRS]), atol=1e-5)
    assert not np.allclose(later.snapshot.vectors, packaged.encode([p for _, p in PAIRS]), atol=1e-3)
    hit = later.search(PAIRS[0][0], k=1)[0]
    expected = later.encoder.encode([PAIRS[0][0]]) @ later.encoder.encode([hit.chunk.text]).T
    assert hit.dense == pytest.approx(float(expected[0, 0]), abs=1e-5)

    # A model configured explicitly still has to match.
    explicit = KnowledgeBase(settings.replace(model="all-MiniLM-L6-v2"))
    with pytest.raises(IndexMismatchError, match=r"built with encoder tuned-all-MiniLM-L6-v2 at .*tuned-all-MiniLM-L6-v2 "
                                                 r"\(384 d\), but the settings ask for all-MiniLM-L6-v2: run `kb ingest --rebuild`"):
        explicit.search("minutes")

    # Tuning again is refused without --force; with it, the model the index uses is replaced
    # only after the index is re-encoded with the new one, and the two agree.
    with pytest.raises(KbError, match="already exists: pass --force"):
        tune(later, [Pair(q, p) for q, p in PAIRS], params=FAST)
    first = later.snapshot.vectors.copy()
    tune(later, [Pair(q, p) for q, p in PAIRS[:8]], params=TuneParams(batch_size=4, max_seq_length=16), force=True)
    assert sorted(p.name for p in (tmp_path / "index").iterdir() if "tuned" in p.name) == ["tuned-all-MiniLM-L6-v2"]
    again = KnowledgeBase(settings)
    assert again.manifest()["encoder"]["path"] == str(out.resolve())
    assert np.allclose(again.snapshot.vectors, again.encoder.encode([p for _, p in PAIRS]), atol=1e-5)
    assert not np.allclose(again.snapshot.vectors, first, atol=1e-3)


def test_cli_tune_prints_a_summary_and_refuses_bad_pairs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KB_INDEX", str(tmp_path / "index"))
    monkeypatch.delenv("KB_MODEL", raising=False)
    runner = CliRunner()
    bad = write_pairs(tmp_path / "bad.jsonl", [{"question": "q", "passage": "p"}, "nope"])
    result = runner.invoke(cli, ["tune", str(bad), "--no-reindex"])
    assert result.exit_code == 1
    assert "Error: " in result.stderr and "bad.jsonl:2 is not JSON" in result.stderr

    pairs = write_pairs(tmp_path / "pairs.jsonl", [{"question": q, "passage": p} for q, p in PAIRS[:8]])
    args = ["tune", str(pairs), "--output", str(tmp_path / "m"), "--epochs", "1", "--batch-size", "4",
            "--max-seq-length", "16", "--no-reindex", "--json"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)  # nothing but the summary on stdout
    assert body["pairs"] == 8 and body["steps"] == 2 and body["chunks"] == 0
    assert body["model"] == str((tmp_path / "m").resolve())
    again = runner.invoke(cli, args)
    assert again.exit_code == 1 and "already exists: pass --force" in again.stderr


def test_batches_larger_than_the_slice_use_the_cached_loss(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("kb.bench.tune.MINI_BATCH", 4)
    kb = KnowledgeBase(Settings(index=tmp_path / "index"))
    params = TuneParams(epochs=1, batch_size=8, max_seq_length=16)
    report = tune(kb, [Pair(q, p) for q, p in PAIRS[:8]], tmp_path / "m", params, reindex=False)
    assert report.steps == 1
    assert json.loads((tmp_path / "m" / "kb-tune.json").read_text())["loss_function"] == "CachedMultipleNegativesRankingLoss"
