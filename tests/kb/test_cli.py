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
    monkeypatch.setenv("KB_RERANKER", "none")  # the hashing encoder: no learned models
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


def test_stats_is_a_readable_summary(run, corpus: Path) -> None:
    run("ingest", str(corpus))
    lines = run("stats").stdout.splitlines()
    assert lines[0].startswith("Index           ") and lines[0].endswith("index")
    assert "Documents       5 (Regulation 4, Minutes 1)" in lines
    assert "Passages" in lines[2] and "{" not in "\n".join(lines)
    assert any(line.startswith("Encoder         hashing-256 (256 dimensions") for line in lines)


def test_docs_has_a_header_and_aligned_columns(run, corpus: Path) -> None:
    run("ingest", str(corpus))
    lines = run("docs").stdout.splitlines()
    assert lines[0].split() == ["ID", "TYPE", "STATUS", "PASSAGES", "NUMBER", "DATE", "TITLE"]
    row = next(line for line in lines if line.startswith("regulations/meeting-rules "))
    assert row.split("  ")[-1] == "Rules on Meeting Management"
    assert "Mer. Gov. Off. [2023] No. 20" in row and "2023-06-15" in row and "In force" in row
    # Every row's title starts in the header's TITLE column.
    column = lines[0].index("TITLE")
    assert all(line[column - 2:column] == "  " and line[column] != " " for line in lines[1:-1])
    assert lines[-1] == "5 documents"


def test_ask_source_lines_give_number_date_status_and_never_an_empty_section(run, corpus: Path) -> None:
    run("ingest", str(corpus))
    out = run("ask", "How many working days before the meeting is the notice sent?").stdout
    sources = out.split("Sources:\n")[1].splitlines()
    assert sources[0].startswith("[1] Rules on Meeting Management — Chapter 2 Notices > Article 3")
    assert sources[1].strip() == "Mer. Gov. Off. [2023] No. 20 · 2023-06-15 · In force"
    (corpus / "other").mkdir()
    (corpus / "other" / "note.txt").write_text("Visitors sign the register at the front desk of the Municipal "
                                               "Building before they enter.\n", encoding="utf-8")
    run("ingest", str(corpus))
    out = run("ask", "Where do visitors sign the register?").stdout
    line = next(s for s in out.splitlines() if s.startswith("[1] "))
    assert line.endswith(" — whole document") and "no number · undated · In force" in out


def test_the_cli_speaks_chinese(run, corpus: Path, monkeypatch) -> None:
    ingest = run("--lang", "zh", "ingest", str(corpus))
    assert "已添加 5，已替换 0，未改变 0，已删除 0，失败 0" in ingest.stdout.splitlines()[-1]
    out = run("--lang", "zh", "ask", "会议通知应当提前几个工作日发出？").stdout
    assert "来源：" in out and "会议管理办法" in out and "现行有效" in out
    docs = run("--lang", "zh", "docs").stdout.splitlines()
    assert docs[0].split() == ["编号", "类型", "状态", "段落", "文号", "日期", "标题"]
    assert any("法规制度" in line and "已被替代" in line for line in docs) and docs[-1] == "共 5 篇文档"
    assert run("--lang", "zh", "stats").stdout.splitlines()[1] == "文档      5 篇（法规制度 4，会议纪要 1）"
    monkeypatch.setenv("KB_LANGUAGE", "zh")
    missing = run("ask", "chocolate cake recipe with vanilla frosting")
    assert missing.stdout.startswith("未在知识库中找到。原因：")
    assert run("remove", "missing/doc").stderr.startswith("错误：") and "`kb docs` 列出所有编号" in \
        run("remove", "missing/doc").stderr
    assert run("search", "duty", "--from", "March 2024").stderr.startswith("错误：--from 'March 2024' 不是日期")
    assert run("--lang", "en", "stats").stdout.startswith("Index")
