"""The OpenVINO backend: sentence-transformers' vectors, converted once, cached safely (slow: the real model)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kb import openvino_encoder
from kb.config import Settings
from kb.encoder import SentenceTransformerEncoder, make_encoder, packaged_model_dir
from kb.index import KnowledgeBase
from kb.openvino_encoder import EXPORT_VERSION, OpenVinoEncoder, cached_export, model_digest

pytestmark = pytest.mark.slow

SENTENCES = [
    "A meeting notice shall be sent at least three working days before the meeting.",
    "Duty records are kept for three years.",
    "Authorised Persons must maintain adequate records. " * 60,  # past the 256-token window
    "",
    "会议通知应当至少提前三个工作日发出。",
]


@pytest.fixture(scope="module")
def cache(model_cache: Path) -> Path:
    """The session's cache (tests/conftest.py): the model is converted once for all tests."""
    return model_cache


@pytest.fixture(scope="module")
def converted(cache: Path) -> OpenVinoEncoder:
    encoder = OpenVinoEncoder(packaged_model_dir(), cache, name="all-MiniLM-L6-v2")
    encoder.encode(["warm up"])
    return encoder


@pytest.fixture(scope="module")
def reference() -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder(packaged_model_dir())


def the_folder(cache: Path) -> Path:
    """The packaged model's conversion; other tests may have converted other models."""
    folders = list((cache / "openvino").iterdir())
    assert not [f for f in folders if ".tmp-" in f.name or ".old-" in f.name]
    (folder,) = [f for f in folders if f.name.startswith("model-")]
    return folder


def test_vectors_agree_with_sentence_transformers_fp32(converted, reference) -> None:
    got, want = converted.encode(SENTENCES), reference.encode(SENTENCES)
    assert got.dtype == np.float32 and got.shape == (5, 384) and got.flags.c_contiguous
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert (got * want).sum(axis=1).min() > 0.999
    # A row does not depend on what it was batched and padded with.
    alone = np.vstack([converted.encode([s]) for s in SENTENCES])
    assert (alone * got).sum(axis=1).min() > 0.9999


def test_same_name_window_and_token_counts_as_torch(converted, reference) -> None:
    assert (converted.name, converted.dim, converted.max_tokens) == (reference.name, 384, 256)
    assert [converted.count_tokens(s) for s in SENTENCES] == [reference.count_tokens(s) for s in SENTENCES]
    assert converted.encode([]).shape == (0, 384)
    assert converted.precision in ("bf16", "f32")


def test_cache_is_keyed_by_content_and_reused(converted, cache: Path, monkeypatch) -> None:
    folder = the_folder(cache)  # and no temporary folder left behind
    assert folder.name == f"model-{model_digest(packaged_model_dir())[:16]}-v{EXPORT_VERSION}"
    info = json.loads((folder / "export.json").read_text())
    assert info["dim"] == 384 and info["inputs"] == ["input_ids", "attention_mask", "token_type_ids"]

    def no_export(*args):
        raise AssertionError("converted again")

    monkeypatch.setattr(openvino_encoder, "export_model", no_export)
    again = OpenVinoEncoder(packaged_model_dir(), cache)
    assert np.array_equal(again.encode(SENTENCES[:2]), converted.encode(SENTENCES[:2]))


def test_digest_follows_the_bytes(tmp_path: Path) -> None:
    model = tmp_path / "m"
    (model / "sub").mkdir(parents=True)
    (model / "config.json").write_text("{}")
    (model / "sub" / "weights.bin").write_bytes(b"\x00\x01")
    first = model_digest(model)
    assert model_digest(model) == first
    (model / "sub" / "weights.bin").write_bytes(b"\x00\x02")
    assert model_digest(model) != first


@pytest.fixture
def copying_export(converted, cache: Path, monkeypatch) -> list[Path]:
    """export_model replaced by a copy of the good conversion: the cache logic without torch."""
    good = the_folder(cache)
    info = {k: v for k, v in json.loads((good / "export.json").read_text()).items()
            if k not in ("model_sha256", "model_dir")}
    calls: list[Path] = []

    def fake(model_dir: Path, target: Path, max_tokens: int) -> dict:
        calls.append(target)
        shutil.copytree(good, target)
        (target / "export.json").unlink()
        return dict(info)

    monkeypatch.setattr(openvino_encoder, "export_model", fake)
    return calls


@pytest.mark.parametrize("damage", ["truncated weights", "no export.json", "other digest", "garbage graph"])
def test_a_partial_or_corrupt_cache_is_rebuilt(damage, converted, cache: Path, tmp_path: Path, copying_export) -> None:
    own = tmp_path / "cache"
    shutil.copytree(cache, own)
    folder = the_folder(own)
    (own / "openvino" / f"{folder.name}.tmp-999999999").mkdir()  # left by a killed conversion
    if damage == "truncated weights":
        with open(folder / "model.bin", "r+b") as f:
            f.truncate(1000)
    elif damage == "no export.json":
        (folder / "export.json").unlink()
    elif damage == "other digest":
        info = json.loads((folder / "export.json").read_text())
        (folder / "export.json").write_text(json.dumps({**info, "model_sha256": "0" * 64}))
    else:  # the checks pass, the graph does not load
        (folder / "model.xml").write_text("<net>not a model")

    encoder = OpenVinoEncoder(packaged_model_dir(), own)
    vectors = encoder.encode(SENTENCES[:2])
    assert len(copying_export) == 1
    assert np.array_equal(vectors, converted.encode(SENTENCES[:2]))
    assert sorted(p.name for p in (own / "openvino").glob(f"{folder.name}*")) == [folder.name]
    assert (folder / "model.bin").stat().st_size == (the_folder(cache) / "model.bin").stat().st_size


def test_a_whole_cache_is_not_rebuilt_by_a_second_caller(converted, cache: Path, copying_export) -> None:
    folder, info = cached_export(packaged_model_dir(), cache, 256)
    assert folder == the_folder(cache) and info["model_sha256"] == model_digest(packaged_model_dir())
    assert copying_export == []


def test_a_conversion_finished_meanwhile_by_another_process_is_kept(
    converted, cache: Path, tmp_path: Path, copying_export, monkeypatch
) -> None:
    own = tmp_path / "cache"
    shutil.copytree(cache, own)
    folder = the_folder(own)
    export_json = (folder / "export.json").read_text()
    (folder / "export.json").unlink()
    (folder / "model.xml").write_text("<net>theirs, half written")
    copy = openvino_encoder.export_model

    def racing(model_dir: Path, target: Path, max_tokens: int) -> dict:
        info = copy(model_dir, target, max_tokens)
        # Meanwhile the other process finishes: its folder is whole and stays.
        shutil.copy(the_folder(cache) / "model.xml", folder / "model.xml")
        (folder / "export.json").write_text(export_json)
        (folder / "theirs").touch()
        return info

    monkeypatch.setattr(openvino_encoder, "export_model", racing)
    assert cached_export(packaged_model_dir(), own, 256)[0] == folder
    assert (folder / "theirs").exists()
    assert sorted(p.name for p in (own / "openvino").glob(f"{folder.name}*")) == [folder.name]


def test_either_backend_searches_the_others_index(converted, reference, corpus: Path, tmp_path: Path) -> None:
    settings = Settings(index=tmp_path / "index")
    built = KnowledgeBase(settings, converted)
    assert not built.ingest([corpus]).failed
    record = built.manifest()["encoder"]
    assert record["backend"] == "openvino" and record["precision"] == converted.precision
    question = "How many days before the meeting is the notice sent?"
    ours = built.search(question)
    theirs = KnowledgeBase(settings.replace(backend="torch"), reference).search(question)
    assert ours[0].chunk.section.endswith("Article 3")
    assert [h.chunk.id for h in theirs[:3]] == [h.chunk.id for h in ours[:3]]
    assert theirs[0].score == pytest.approx(ours[0].score, abs=1e-3)


def test_make_encoder_picks_the_backend(tmp_path: Path) -> None:
    encoder = make_encoder("", backend="openvino", cache_dir=tmp_path)
    assert isinstance(encoder, OpenVinoEncoder) and encoder.cache_dir == tmp_path
    assert isinstance(make_encoder("", backend="torch"), SentenceTransformerEncoder)
    assert not (tmp_path / "openvino").exists()  # construction converts nothing


def test_openvino_usage_telemetry_stays_off(converted) -> None:
    import sys

    import openvino.tools.ovc.telemetry_utils as telemetry

    assert sys.modules["openvino_telemetry"] is None
    assert telemetry.tm.__name__ == "openvino.tools.ovc.telemetry_stub"
