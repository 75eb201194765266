"""Settings: defaults < kb.toml < KB_* environment < overrides, each validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.config import Settings, load_settings
from kb.errors import KbError


def test_layers_override_in_order(tmp_path: Path, monkeypatch) -> None:
    toml = tmp_path / "kb.toml"
    toml.write_text('fusion = "rrf"\nk = 7\nbm25_weight = 0.3\n')
    monkeypatch.setenv("KB_K", "9")
    settings = load_settings(toml, bm25_weight=0.8, index=None)
    assert (settings.fusion, settings.k, settings.bm25_weight, settings.index) == ("rrf", 9, 0.8, Path("index"))


def test_bad_values_name_the_problem(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(KbError, match="fusion 'max' is not one of convex, rrf, dense, bm25"):
        Settings(fusion="max")
    with pytest.raises(KbError, match=r"bm25_weight \(1.5\) must lie between 0 and 1"):
        Settings(bm25_weight=1.5)
    monkeypatch.setenv("KB_K", "many")
    with pytest.raises(KbError, match="setting k = 'many' is not a valid int"):
        load_settings(tmp_path / "absent.toml")
    monkeypatch.delenv("KB_K")
    toml = tmp_path / "kb.toml"
    toml.write_text("colour = 1\n")
    with pytest.raises(KbError, match="unknown setting 'colour'"):
        load_settings(toml)


def test_missing_model_directory_is_an_error_not_a_download() -> None:
    from kb.encoder import make_encoder

    with pytest.raises(KbError, match="is not a local directory; models are never downloaded"):
        make_encoder("sentence-transformers/all-mpnet-base-v2")


def test_backend_and_cache_settings(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert Settings().backend == "openvino" and Settings().cache_dir == tmp_path / "xdg" / "office-kb"
    monkeypatch.setenv("KB_BACKEND", "torch")
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "models"))
    settings = load_settings(tmp_path / "absent.toml")
    assert (settings.backend, settings.cache_dir) == ("torch", tmp_path / "models")
    with pytest.raises(KbError, match="backend 'onnx' is not one of openvino, torch"):
        Settings(backend="onnx")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ocr": "always"}, "ocr 'always' is not one of auto, off"),
        ({"ocr_languages": "eng chi_sim"}, "ocr_languages 'eng chi_sim' must be Tesseract language codes joined by '\\+'"),
        ({"ocr_dpi": 30}, "ocr_dpi \\(30\\) must lie between 72 and 1200"),
    ],
)
def test_ocr_settings_are_checked(change, message) -> None:
    with pytest.raises(KbError, match=message):
        Settings(**change)


def test_ocr_settings_defaults() -> None:
    assert (Settings().ocr, Settings().ocr_languages, Settings().ocr_dpi) == ("auto", "eng+chi_sim", 300)
