"""`kb check` and `kb eval drafts` through click's runner, on an index built with the offline encoder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import cli
from tests.check.test_bundled_rules import CHINESE, WORKED
from tests.conftest import write

ROOT = Path(__file__).resolve().parents[2]
CLEAN = (ROOT / "eval" / "drafts" / "en-report-clean.txt").read_text(encoding="utf-8")


@pytest.fixture
def run(rules_kb, settings, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("KB_MODEL", "hashing")
    monkeypatch.setenv("KB_RERANKER", "none")  # the hashing encoder: no learned models
    monkeypatch.setenv("KB_INDEX", str(settings.index))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_check_prints_findings_with_their_basis_and_exits_1_on_errors(run, tmp_path: Path) -> None:
    draft = write(tmp_path / "notice-draft.txt", WORKED)
    result = run("check", str(draft))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "notice-draft.txt: notice (from the title); 10 errors, 1 warning, 0 notes"
    assert "error   line 3  [number-leading-zeros]" in lines
    assert ('        Basis: Rules on Official Document Handling of the General Office (Mer. Gov. Off. [2023] No. 12), '
            'Article 24: "Numbers are written without leading zeros, so that the seventh document is No. 7 and never '
            'No. 07."') in lines


def test_check_json_has_the_documented_shape(run, tmp_path: Path) -> None:
    draft = write(tmp_path / "notice-draft.md", WORKED)
    result = run("check", str(draft), "--json")
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert set(body) == {"draft", "kind", "findings"}
    assert (body["draft"], body["kind"]) == ("notice-draft.md", "notice")
    first = body["findings"][0]
    assert set(first) == {"rule", "severity", "location", "quote", "message", "fix", "basis"}
    assert set(first["basis"]) == {"doc_id", "section", "text"}
    assert (first["rule"], first["location"], first["basis"]["section"]) == ("number-year-brackets", "line 3", "Article 24")


def test_a_clean_draft_exits_0_and_kind_can_be_given(run, tmp_path: Path) -> None:
    draft = write(tmp_path / "report.txt", CLEAN)
    result = run("check", str(draft))
    assert result.exit_code == 0, result.stdout
    assert result.stdout.strip() == "report.txt: report (from the title); 0 errors, 0 warnings, 0 notes"
    as_letter = run("check", str(draft), "--kind", "letter", "--json")
    assert as_letter.exit_code == 1
    body = json.loads(as_letter.stdout)
    assert body["kind"] == "letter"
    assert [f["rule"] for f in body["findings"]] == ["number-series-letter"]


def test_check_lists_precedent_of_the_same_kind(run, tmp_path: Path) -> None:
    draft = write(tmp_path / "request.txt", CLEAN.replace("Report of the General Office", "Request for Instructions of "
                                                                                          "the General Office"))
    result = run("check", str(draft), "--precedent", "--json")
    precedent = json.loads(result.stdout)["precedent"]
    assert [p["doc_id"] for p in precedent] == ["documents/2025-04-14-lakeside-reservoir-funding-request"]


def test_a_chinese_draft_is_checked_with_the_chinese_rules(run, tmp_path: Path) -> None:
    draft = write(tmp_path / "qingshi.txt", CHINESE)
    body = json.loads(run("check", str(draft), "--json").stdout)
    assert body["kind"] == "request"
    assert {f["basis"]["doc_id"] for f in body["findings"]} == {"regulations/gongwen-tiaoli"}


def test_check_without_an_index_says_what_to_ingest(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KB_MODEL", "hashing")
    monkeypatch.setenv("KB_RERANKER", "none")  # the hashing encoder: no learned models
    monkeypatch.setenv("KB_INDEX", str(tmp_path / "none"))
    draft = write(tmp_path / "d.txt", CLEAN)
    result = CliRunner().invoke(cli, ["check", str(draft)])
    assert result.exit_code == 1
    assert "Error: no index at " in result.stderr and "run `kb ingest corpus/` first" in result.stderr


def test_eval_drafts_reports_precision_and_recall_by_family(run, tmp_path: Path, rules_corpus: Path) -> None:
    folder = tmp_path / "drafts"
    write(folder / "clean.txt", CLEAN)
    write(folder / "flawed.txt", CLEAN.replace("[2025] No. 40", "[2025] No. 040"))
    manifest = {"drafts": [
        {"file": "clean.txt", "language": "en", "clean": True, "faults": [], "expected": []},
        {"file": "flawed.txt", "language": "en", "clean": False, "faults": ["number-leading-zero"],
         "expected": [{"rule": "number-leading-zeros", "family": "number", "location": "line 3"},
                      {"rule": "title-full-stop", "family": "title", "location": "line 7"}]},
    ]}
    write(folder / "manifest.json", json.dumps(manifest))
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(rules_corpus / "documents" / "2024-02-26-research-topics-2024.md", docs)
    result = run("eval", "drafts", str(folder), "--corpus", str(rules_corpus), "--documents", str(docs), "--json",
                 "--results", str(tmp_path / "results"))
    body = json.loads(result.stdout)
    assert (body["precision"], body["recall"], body["false_alarms_per_clean_draft"]) == (1.0, 0.5, 0.0)
    assert body["by_family"]["number"] == {"expected": 1, "found": 1, "correct": 1, "precision": 1.0, "recall": 1.0}
    assert body["by_family"]["title"]["recall"] == 0.0
    assert body["documents"]["by_rule"] == {"title-issuer": 1}
    assert json.loads((tmp_path / "results" / "drafts.json").read_text(encoding="utf-8"))["recall"] == 0.5


def test_check_speaks_chinese_around_the_findings(run, tmp_path: Path) -> None:
    draft = write(tmp_path / "notice-draft.txt", WORKED)
    lines = run("--lang", "zh", "check", str(draft)).stdout.splitlines()
    assert lines[0] == "notice-draft.txt：notice（按标题判断）；错误 10 处，警告 1 处，提示 0 处"
    assert "错误    第 3 行  [number-leading-zeros]" in lines
    assert any(line.startswith("        修改：Drop the leading zeros") for line in lines)
    assert any(line.startswith("        依据：Rules on Official Document Handling of the General Office") for line in lines)
    chinese = write(tmp_path / "qingshi.txt", CHINESE)
    assert run("--lang", "zh", "check", str(chinese)).stdout.splitlines()[0].startswith("qingshi.txt：请示（按标题判断）；")
