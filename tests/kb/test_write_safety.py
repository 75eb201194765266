"""Writes that cannot lose what is stored: the lock re-reads, mass removals are refused, damage is named."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kb.config import Settings
from kb.encoder import HashingEncoder
from kb.errors import IndexDamagedError, KbError, RemovalRefusedError
from kb.services.feedback import FeedbackStore
from kb.index import KnowledgeBase
from kb.types import Answer
from tests.conftest import MEETING_RULES, write

ROOT = Path(__file__).resolve().parents[2]


def share_of(tmp_path: Path, n: int = 5) -> Path:
    share = tmp_path / "share" / "regulations"
    for i in range(n):
        write(share / f"rule-{i}.md", f"# Rule {i}\n\nArticle 1 Item {i} of the office concerns topic {i} alone.\n")
    return share.parent


def fresh(settings: Settings) -> KnowledgeBase:
    return KnowledgeBase(settings, HashingEncoder())


# -- the writer re-reads before it writes ----------------------------------------------


def test_a_stale_object_keeps_what_another_process_added(built: KnowledgeBase, settings, tmp_path: Path) -> None:
    stale = built  # has the corpus loaded
    added = write(tmp_path / "other" / "parking.md", "# Parking\n\nArticle 1 Official cars park in the east yard.\n")
    env = {**os.environ, "KB_MODEL": "hashing", "KB_INDEX": str(settings.index)}
    done = subprocess.run([sys.executable, "-m", "kb.cli", "ingest", str(added)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    later = write(tmp_path / "third" / "canteen.md", "# Canteen\n\nArticle 1 The canteen opens at 11:30.\n")
    stale.ingest([later])
    ids = set(fresh(settings).snapshot.records)
    assert {"parking", "canteen", "regulations/meeting-rules"} <= ids
    assert set(stale.snapshot.records) == ids


def test_remove_from_a_stale_object_keeps_what_another_added(built: KnowledgeBase, settings, tmp_path) -> None:
    other = fresh(settings)
    other.ingest([write(tmp_path / "x" / "parking.md", "# Parking\n\nArticle 1 Cars park in the east yard.\n")])
    built.remove("minutes/2024-04-18-flood")
    ids = set(fresh(settings).snapshot.records)
    assert "parking" in ids and "minutes/2024-04-18-flood" not in ids


# -- guards against mass deletion -------------------------------------------------------


def test_prune_refuses_when_the_share_is_unmounted(settings, tmp_path: Path) -> None:
    share = share_of(tmp_path)
    kb = fresh(settings)
    kb.ingest([share])
    for item in share.iterdir():  # the mount point stays, empty
        shutil.rmtree(item)
    with pytest.raises(RemovalRefusedError, match=r"--prune would remove 5 of 5 documents: their source folder "
                       r".*share is missing or empty \(an unmounted share\?\)\. Nothing was changed.*--force"):
        kb.ingest([], prune=True)
    assert len(fresh(settings).snapshot.records) == 5
    report = kb.ingest([], prune=True, force=True)
    assert report.count("removed") == 5 and fresh(settings).snapshot.records == {}


def test_prune_refuses_more_than_the_share_limit(settings, tmp_path: Path) -> None:
    share = share_of(tmp_path)
    kb = fresh(settings)
    kb.ingest([share])
    (share / "regulations" / "rule-0.md").unlink()
    assert kb.ingest([], prune=True).count("removed") == 1  # 1 of 5 is the 20 % limit, not over it
    (share / "regulations" / "rule-1.md").unlink()
    (share / "regulations" / "rule-2.md").unlink()
    with pytest.raises(RemovalRefusedError, match=r"would remove 2 of 4 documents: that is 50% of them, over the "
                       r"20% limit \(max_removal_share\)"):
        kb.ingest([], prune=True)
    assert len(fresh(settings).snapshot.records) == 4


def test_reindex_all_refuses_when_the_sources_are_unreachable(built: KnowledgeBase, corpus: Path, settings) -> None:
    before = set(built.snapshot.records)
    corpus.rename(corpus.with_name("moved"))
    with pytest.raises(RemovalRefusedError, match=r"re-indexing would remove 5 of 5 documents: their source folder"):
        built.ingest([], rebuild=True)
    assert set(fresh(settings).snapshot.records) == before
    corpus.with_name("moved").rename(corpus)
    assert built.ingest([], rebuild=True).count("added") == 5


def test_cli_prune_guard_exits_1_and_force_removes(settings, tmp_path: Path) -> None:
    share = share_of(tmp_path)
    env = {**os.environ, "KB_MODEL": "hashing", "KB_INDEX": str(settings.index)}
    kb_cmd = [sys.executable, "-m", "kb.cli"]
    assert subprocess.run([*kb_cmd, "ingest", str(share)], env=env, capture_output=True, timeout=120).returncode == 0
    shutil.rmtree(share / "regulations")
    refused = subprocess.run([*kb_cmd, "ingest", "--prune"], env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1
    assert "Error: --prune would remove 5 of 5 documents" in refused.stderr and "Traceback" not in refused.stderr
    forced = subprocess.run([*kb_cmd, "ingest", "--prune", "--force"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert forced.returncode == 0 and "5 removed" in forced.stdout


# -- files: links and limits --------------------------------------------------------------


def test_a_symlink_loop_fails_alone_and_the_batch_is_indexed(settings, tmp_path: Path) -> None:
    folder = tmp_path / "docs" / "regulations"
    write(folder / "good.md", MEETING_RULES)
    os.symlink(folder / "loop-b.md", folder / "loop-a.md")
    os.symlink(folder / "loop-a.md", folder / "loop-b.md")
    report = fresh(settings).ingest([folder.parent])
    failed = {Path(r.path).name: r.reason for r in report.failed}
    assert set(failed) == {"loop-a.md", "loop-b.md"}
    assert all("symbolic link loop; remove or fix the link" in reason for reason in failed.values())
    assert report.count("added") == 1


def test_a_link_out_of_the_folder_is_not_followed_unless_allowed(settings, tmp_path: Path) -> None:
    secret = write(tmp_path / "elsewhere" / "passwd.txt", "root:x:0:0:root:/root:/bin/bash\n" * 3)
    folder = tmp_path / "docs"
    write(folder / "good.md", MEETING_RULES)
    os.symlink(secret, folder / "passwd.txt")
    report = fresh(settings).ingest([folder])
    [failed] = report.failed
    assert "is a link to" in failed.reason and "outside the ingested folder" in failed.reason
    assert "follow_symlinks = true" in failed.reason
    assert {r.document.source for r in fresh(settings).documents()} == {str((folder / "good.md").resolve())}
    allowed = KnowledgeBase(settings.replace(follow_symlinks=True), HashingEncoder())
    assert not allowed.ingest([folder]).failed


def test_a_linked_folder_loop_ends_when_links_are_followed(settings, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    write(folder / "a" / "good.md", MEETING_RULES)
    os.symlink(folder, folder / "a" / "back-to-top")
    report = KnowledgeBase(settings.replace(follow_symlinks=True), HashingEncoder()).ingest([folder])
    assert [Path(r.path).name for r in report.results] == ["good.md"]


def test_limits_on_characters_and_docx_xml(settings, tmp_path: Path) -> None:
    import docx

    long = write(tmp_path / "docs" / "long.txt", "Article 1 " + "word " * 3000)
    path = tmp_path / "docs" / "big.docx"
    document = docx.Document()
    for _ in range(200):
        document.add_paragraph("A paragraph of a large document. " * 20)
    document.save(path)
    kb = KnowledgeBase(settings.replace(max_file_chars=10_000, max_docx_xml_mb=0.1), HashingEncoder())
    reasons = {Path(r.path).name: r.reason for r in kb.ingest([long.parent]).failed}
    assert "holds 15,010 characters, over the limit of 10,000 per file (max_file_chars)" in reasons["long.txt"]
    assert "its XML unpacks to" in reasons["big.docx"] and "(max_docx_xml_mb)" in reasons["big.docx"]


# -- messages, not tracebacks ---------------------------------------------------------------


def _damage(index: Path, case: str) -> None:
    manifest = json.loads((index / "manifest.json").read_text())
    generation = index / manifest["generation"]
    if case == "missing generation":
        shutil.rmtree(generation)
    elif case == "missing encoder key":
        del manifest["encoder"]
        (index / "manifest.json").write_text(json.dumps(manifest))
    elif case == "truncated documents":
        text = (generation / "documents.jsonl").read_text()
        (generation / "documents.jsonl").write_text(text[: len(text) // 2])
    elif case == "garbage faiss":
        (generation / "dense.faiss").write_bytes(b"not a faiss index at all" * 10)
    elif case == "unknown document":
        with open(generation / "chunks.jsonl", "a") as out:
            out.write(json.dumps({"id": "x", "doc_id": "nowhere", "start": 0, "end": 3, "section": "", "page": None}))
            out.write("\n")
    elif case == "bad json manifest":
        (index / "manifest.json").write_text("{not json")


DAMAGE = ["missing generation", "missing encoder key", "truncated documents", "garbage faiss", "unknown document",
          "bad json manifest"]


@pytest.mark.parametrize("case", DAMAGE)
def test_a_damaged_index_is_named_and_rebuild_recovers_it(built: KnowledgeBase, corpus: Path, settings, case) -> None:
    _damage(settings.index, case)
    with pytest.raises(IndexDamagedError, match=r"kb ingest --rebuild PATH\.\.\.` \(the folders you ingested\)"):
        fresh(settings).search("meeting notice")
    kb = fresh(settings)
    report = kb.ingest([corpus], rebuild=True)
    assert report.count("added") == 5
    assert fresh(settings).search("meeting notice working days")[0].chunk.doc_id == "regulations/meeting-rules"


def test_cli_damaged_index_is_one_line_and_rebuild_works(built: KnowledgeBase, corpus: Path, settings) -> None:
    _damage(settings.index, "bad json manifest")
    env = {**os.environ, "KB_MODEL": "hashing", "KB_INDEX": str(settings.index)}
    search = subprocess.run([sys.executable, "-m", "kb.cli", "search", "notice"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert search.returncode == 1 and "Traceback" not in search.stderr
    assert search.stderr.startswith("Error: ") and "kb ingest --rebuild PATH..." in search.stderr
    rebuilt = subprocess.run([sys.executable, "-m", "kb.cli", "ingest", "--rebuild", str(corpus)], env=env,
                             capture_output=True, text=True, timeout=120)
    assert rebuilt.returncode == 0, rebuilt.stderr


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "the disk is full"), (errno.EROFS, "the folder is read-only")])
@pytest.mark.parametrize("action", ["ingest", "remove"])
def test_a_failed_write_leaves_nothing_and_says_why(built: KnowledgeBase, settings, tmp_path, monkeypatch,
                                                    code, words, action) -> None:
    import kb.index

    def fail(directory, records, chunks):
        (directory / "documents.jsonl").write_text("half")
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(kb.index, "write_records", fail)
    generations = sorted(p.name for p in settings.index.iterdir())
    with pytest.raises(KbError, match=rf"cannot write the index at .*: {words}.*Nothing was changed"):
        if action == "ingest":
            built.ingest([write(tmp_path / "new" / "parking.md", "# Parking\n\nArticle 1 Cars park east.\n")])
        else:
            built.remove("minutes/2024-04-18-flood")
    assert sorted(p.name for p in settings.index.iterdir()) == generations
    assert len(fresh(settings).snapshot.records) == 5


def test_a_damaged_feedback_file_is_a_message(tmp_path: Path) -> None:
    db = tmp_path / "feedback.sqlite3"
    db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(KbError, match=r"feedback file .* cannot be used .*: move it aside"):
        FeedbackStore(db).record(Answer("q", "a", True, ()), 1)


def test_a_write_refused_by_a_held_lock_names_the_wait(built: KnowledgeBase, settings, tmp_path) -> None:
    other = fresh(settings)
    waited = []
    with built.writing():
        with pytest.raises(KbError, match="another ingest is writing .*: wait for it to finish, then try again"):
            other.ingest([write(tmp_path / "n" / "a.md", "# A\n\nArticle 1 Alpha.\n")], wait=0.5,
                         on_wait=lambda: waited.append(1))
    assert waited == [1]
