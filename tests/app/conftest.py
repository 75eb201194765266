"""Fixtures of the app's tests: the environment a page is served with, over a small index."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.index import KnowledgeBase


@pytest.fixture
def app_env(built: KnowledgeBase, settings, tmp_path: Path, monkeypatch) -> dict[str, Path]:
    monkeypatch.chdir(tmp_path)  # no kb.toml of the developer's
    paths = {"index": settings.index, "uploads": tmp_path / "uploads", "feedback": tmp_path / "feedback.sqlite3"}
    monkeypatch.setenv("KB_INDEX", str(paths["index"]))
    monkeypatch.setenv("KB_MODEL", "hashing")
    monkeypatch.setenv("KB_RERANKER", "none")  # the hashing encoder: no learned models
    monkeypatch.setenv("KB_ANSWER_THRESHOLD", "0.2")
    monkeypatch.setenv("KB_UPLOADS", str(paths["uploads"]))
    monkeypatch.setenv("KB_FEEDBACK_DB", str(paths["feedback"]))
    monkeypatch.setenv("KB_MAX_UPLOAD_MB", "0.01")
    return paths


@pytest.fixture
def check_env(rules_kb: KnowledgeBase, settings, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KB_INDEX", str(settings.index))
    monkeypatch.setenv("KB_MODEL", "hashing")
    monkeypatch.setenv("KB_RERANKER", "none")  # the hashing encoder: no learned models
    monkeypatch.setenv("KB_UPLOADS", str(tmp_path / "uploads"))
    monkeypatch.setenv("KB_FEEDBACK_DB", str(tmp_path / "feedback.sqlite3"))
