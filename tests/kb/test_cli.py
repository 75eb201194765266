"""The `kb` command, through click's runner, with the offline hashing encoder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import cli

CITATION_KEYS = {"n", "doc_id", "title", "source", "section", "page", "score", "text"}


@pytest.fixture
def run(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("KB_MODEL", "hashing")
    monkeypatch.setenv("KB_ANSWER_THRESHOLD", "0.2")
    monkeypatch.setenv("KB_INDEX", str(tmp_path / "index"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_ingest_prints_a_summary_per_file_and_fails_on_bad_files(run, corpus: Path) -> None:
    (corpus / "minutes" / "empty.md").write_bytes(b"")
    result = run("ingest", str(corpus))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("added") and "meeting-rules.md" in line for line in lines)
    assert any(line.startswith("failed") and "empty.md" in line and "empty" in line for line in lines)
    assert "5 added, 0 replaced, 0 unchanged, 0 removed, 1 failed" in lines[-1]
    again = run("ingest", str(corpus / "regulations"), str(corpus / "minutes" / "2024-04-18-flood.md"))
    assert "0 added" in again.stdout.splitlines()[-1]


def test_search_json(run, corpus: Path) -> None:
    run("ingest", str(corpus))
    result = run("search", "meeting notice working days", "-k", "3", "--json")
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert body["query"] == "meeting notice working days"
    assert len(body["hits"]) == 3
    assert CITATION_KEYS <= set(body["hits"][0])
    assert body["hits"][0]["doc_id"] == "regulations/meeting-rules"


def test_search_type_filter(run, corpus: Path) -> None:
    run("ingest", str(corpus))
    body = json.loads(run("search", "Finance Bureau", "--type", "minutes", "--json").stdout)
    assert {h["doc_id"] for h in body["hits"]} == {"minutes/2024-04-18-flood"}


def test_ask_json_found_and_not_found(run, corpus: Path) -> None:
    run("ingest", str(corpus))
    body = json.loads(run("ask", "How many working days before the meeting is the notice sent?", "--json").stdout)
    assert set(body) >= {"question", "answer", "found", "citations"}
    assert body["found"] is True
    assert CITATION_KEYS <= set(body["citations"][0])
    assert body["citations"][0]["section"].endswith("Article 3")
    missing = json.loads(run("ask", "chocolate cake recipe with vanilla frosting", "--json").stdout)
    assert missing["found"] is False and missing["citations"] == []
    assert missing["answer"] == "Not found in the knowledge base."


def test_docs_json_remove_and_stats(run, corpus: Path) -> None:
    run("ingest", str(corpus))
    docs = json.loads(run("docs", "--json").stdout)
    assert {"doc_id", "title", "type", "status", "source", "chunks"} <= set(docs[0])
    assert len(docs) == 5
    assert run("remove", "regulations/duty-rules-2019").exit_code == 0
    assert len(json.loads(run("docs", "--json").stdout)) == 4
    stats = json.loads(run("stats", "--json").stdout)
    assert stats["documents"] == 4


def test_errors_are_one_line_with_the_next_step(run, corpus: Path) -> None:
    result = run("search", "anything")
    assert result.exit_code == 1
    assert "Error: no index at" in result.stderr and "kb ingest" in result.stderr
    run("ingest", str(corpus))
    empty = run("ask", "  ")
    assert empty.exit_code == 1
    assert "Error: the query is empty" in empty.stderr
    assert run("remove", "missing/doc").stderr.startswith("Error: no document 'missing/doc'")


def test_bad_date_filter_names_the_format(run, corpus: Path) -> None:
    run("ingest", str(corpus))
    result = run("search", "duty", "--from", "March 2024")
    assert result.exit_code == 1
    assert "--from 'March 2024' is not a date: write it as YYYY-MM-DD" in result.stderr
    body = json.loads(run("search", "duty records", "--from", "2024-01-01", "--json").stdout)
    assert {h["doc_id"] for h in body["hits"]} <= {"regulations/duty-rules", "minutes/2024-04-18-flood"}
