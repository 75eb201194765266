"""`kb ask --reader llm` against the scripted server: text, note and per-sentence JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import cli
from tests.llm_stub import reply, status, stub  # noqa: F401

QUESTION = "How many working days before the meeting must the meeting notice be sent?"
GOOD = "A meeting notice is sent at least three working days before the meeting [1]."


@pytest.fixture
def run(tmp_path: Path, monkeypatch, corpus: Path, stub):
    monkeypatch.setenv("KB_MODEL", "hashing")
    monkeypatch.setenv("KB_RERANKER", "none")  # the hashing encoder: no learned models
    monkeypatch.setenv("KB_ANSWER_THRESHOLD", "0.2")
    monkeypatch.setenv("KB_INDEX", str(tmp_path / "index"))
    monkeypatch.setenv("KB_LLM_BASE_URL", stub.url)
    monkeypatch.setenv("KB_LLM_MODEL", "stub")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    assert invoke("ingest", str(corpus)).exit_code == 0
    return invoke


def test_ask_with_the_llm_reader_reports_each_sentence(run, stub) -> None:
    stub.script = [reply(f"{GOOD} It must be sent nine working days ahead [1].")]
    result = run("ask", QUESTION, "--reader", "llm", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["reader"] == "llm" and body["found"] and body["answer"] == GOOD
    assert body["note"].startswith("1 of 2 sentences of the model's reply was left out")
    first, second = body["sentences"]
    assert first["citations"] == [1] and first["supported"] and first["support"] >= 0.5
    assert not second["supported"] and not second["shown"] and second["reason"] == "9 is not in [1]"
    assert body["citations"][0]["section"].endswith("Article 3")


def test_ask_with_the_llm_reader_in_text_shows_the_note_on_failure(run, stub) -> None:
    stub.script = [status(500)]
    result = run("ask", QUESTION, "--reader", "llm")
    assert result.exit_code == 0
    assert "three working days" in result.stdout
    assert "Note: The model could not be used (the model server failed (500))" in result.stdout
    assert "Traceback" not in result.output


def test_the_extractive_reader_stays_the_default(run, stub) -> None:
    body = json.loads(run("ask", QUESTION, "--json").stdout)
    assert body["reader"] == "extractive" and body["note"] == ""
    assert [s["support"] for s in body["sentences"]] == [1.0] * len(body["sentences"])
    assert stub.requests == []


def test_the_llm_reader_without_an_endpoint_is_an_error_naming_the_fix(run, monkeypatch) -> None:
    monkeypatch.delenv("KB_LLM_BASE_URL")
    result = CliRunner().invoke(cli, ["ask", QUESTION, "--reader", "llm"])
    assert result.exit_code == 1
    assert "Error: reader llm needs llm_base_url and llm_model" in result.output
