"""`kb` with users: --as, kb users, kb access and kb activity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import cli
from tests.conftest import write
from tests.kb.test_leaks import SECRET, SECRET_ID, SECRET_NUMBER


@pytest.fixture
def run(tmp_path: Path, monkeypatch, corpus: Path):
    monkeypatch.setenv("KB_MODEL", "hashing")
    monkeypatch.setenv("KB_RERANKER", "none")  # the hashing encoder: no learned models
    monkeypatch.setenv("KB_ANSWER_THRESHOLD", "0.2")
    monkeypatch.setenv("KB_INDEX", str(tmp_path / "index"))
    monkeypatch.delenv("KB_USER", raising=False)
    monkeypatch.chdir(tmp_path)
    write(corpus / "regulations" / "zephyrine-corridor.md", SECRET)
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None):
        return runner.invoke(cli, list(args), input=stdin)

    assert invoke("ingest", str(corpus)).exit_code == 0
    return invoke


def test_the_first_user_is_added_without_login_then_every_command_names_its_user(run, tmp_path: Path) -> None:
    assert run("--as", "lin", "docs").exit_code == 1  # no users yet: --as is a mistake
    added = run("users", "add", "root", "--role", "admin", "--clearance", "secret", "--group", "emergency",
                "--password-stdin", stdin="a long password\n")
    assert added.exit_code == 0, added.output
    assert "root: admin, clearance secret, groups emergency" in added.output
    refused = run("docs")
    assert refused.exit_code == 1 and "say who you are with --as NAME" in refused.output
    assert run("users", "add", "lin", "--password-stdin", stdin="another password\n").exit_code == 1  # not an admin
    assert run("--as", "root", "users", "add", "lin", "--clearance", "internal", "--group", "secretariat",
               "--password-stdin", stdin="another password\n").exit_code == 0
    assert "lin\treader\tinternal\tsecretariat" in run("--as", "root", "users", "list").output
    denied = run("--as", "lin", "users", "list")
    assert denied.exit_code == 1 and "lin is a reader and may not manage users" in denied.output
    assert "no user 'nobody'" in run("--as", "nobody", "docs").output


def test_as_a_user_the_cli_shows_only_what_they_may_see(run, tmp_path: Path) -> None:
    run("users", "add", "root", "--role", "admin", "--clearance", "secret", "--group", "emergency",
        "--password-stdin", stdin="a long password\n")
    run("--as", "root", "users", "add", "lin", "--clearance", "internal", "--password-stdin", stdin="password 123\n")
    question = "Which gate does the zephyrine corridor open at?"
    low = json.loads(run("--as", "lin", "ask", question, "--json").output)
    assert SECRET_NUMBER not in json.dumps(low)
    cleared = json.loads(run("--as", "root", "ask", question, "--json").output)
    assert SECRET_NUMBER in cleared["answer"]
    assert SECRET_ID not in run("--as", "lin", "docs").output
    docs = {d["doc_id"]: d for d in json.loads(run("--as", "root", "docs", "--json").output)}
    assert (docs[SECRET_ID]["level"], docs[SECRET_ID]["groups"]) == ("secret", ["emergency"])
    assert run("--as", "root", "access", SECRET_ID, "internal").exit_code == 0
    assert SECRET_ID in run("--as", "lin", "docs").output
    log = run("--as", "root", "activity", "--csv").output.splitlines()
    assert log[0] == "id,time,user,action,detail,documents"
    assert any(",lin,ask," in line for line in log) and any(",root,set_access," in line for line in log)
