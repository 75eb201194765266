"""Uploads: safe names, allowed types, a size cap, and a failed file leaves nothing behind."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kb.encoder import HashingEncoder
from kb.errors import KbError
from kb.index import KnowledgeBase
from kb.services.uploads import UploadError, ingest_uploads, safe_name, save_upload

RULE = b"# Rules on Parking\n\nArticle 1 Official cars park in the east yard of the Municipal Building.\n"


@pytest.mark.parametrize("given, expected", [
    ("../../etc/passwd.md", "passwd.md"),
    ("..\\..\\Windows\\evil.TXT", "evil.txt"),
    ("/abs/path/notice.docx", "notice.docx"),
    ("会议 纪要 (2024).md", "会议 纪要 (2024).md"),
    ("a;rm -rf $HOME|x.md", "a_rm -rf _HOME_x.md"),
    (".hidden.md", "hidden.md"),
])
def test_safe_name_keeps_only_a_plain_file_name(given: str, expected: str) -> None:
    assert safe_name(given) == expected


def test_a_name_with_nothing_usable_is_refused() -> None:
    with pytest.raises(UploadError, match="no usable characters"):
        safe_name("../..")


def test_save_refuses_types_sizes_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(UploadError, match=r"\.exe files are not accepted; upload one of .pdf"):
        save_upload("tool.exe", b"MZ", tmp_path, "other", 50)
    with pytest.raises(UploadError, match=r"over the 0\.001 MB limit; split the file or raise max_upload_mb"):
        save_upload("big.txt", b"x" * 2000, tmp_path, "other", 0.001)
    with pytest.raises(UploadError, match="the file is empty"):
        save_upload("empty.md", b"", tmp_path, "other", 50)
    with pytest.raises(UploadError, match="type 'memo' is not one of"):
        save_upload("a.md", b"x", tmp_path, "memo", 50)
    assert not list(tmp_path.rglob("*"))


def test_save_writes_inside_the_type_folder(tmp_path: Path) -> None:
    path = save_upload("../../../outside.md", RULE, tmp_path / "uploads", "regulation", 50)
    assert path == (tmp_path / "uploads" / "regulations" / "outside.md").resolve()
    assert path.read_bytes() == RULE
    assert not (tmp_path / "outside.md").exists()


def test_uploads_are_ingested_with_a_result_each(built: KnowledgeBase) -> None:
    results = ingest_uploads(built, [("parking.md", RULE), ("x.exe", b"MZ")], "regulation")
    assert [(r.name, r.status) for r in results] == [("x.exe", "failed"), ("parking.md", "added")]
    record = built.snapshot.records["parking"]
    assert record.document.type == "regulation"
    assert built.search("where do official cars park")[0].chunk.doc_id == "parking"
    again = ingest_uploads(built, [("parking.md", RULE)], "regulation")
    assert [r.status for r in again] == ["unchanged"]
    newer = ingest_uploads(built, [("parking.md", RULE.replace(b"east", b"west"))], "regulation")
    assert [r.status for r in newer] == ["replaced"]


def test_a_failed_upload_puts_back_the_file_it_came_over(built: KnowledgeBase) -> None:
    ingest_uploads(built, [("parking.md", RULE)], "regulation")
    saved = Path(built.settings.uploads) / "regulations" / "parking.md"
    results = ingest_uploads(built, [("parking.md", b"\x00\x01\x02 binary")], "regulation")
    assert results[0].status == "failed" and "parking.md" in results[0].reason
    assert saved.read_bytes() == RULE
    assert "east yard" in built.search("where do official cars park")[0].chunk.text
    fresh = ingest_uploads(built, [("broken.md", b"\x00\x01\x02 binary")], "regulation")
    assert fresh[0].status == "failed" and not (saved.parent / "broken.md").exists()


class GatedEncoder(HashingEncoder):
    """Blocks a batch encode (an ingest) until released; single queries pass."""

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.release = threading.Event(), threading.Event()

    def encode(self, texts):
        if len(texts) > 1 or "Parking" in texts[0] or "east yard" in texts[0]:
            self.entered.set()
            assert self.release.wait(30)
        return super().encode(texts)


def test_other_readers_keep_answering_while_an_ingest_runs(settings, corpus: Path, tmp_path: Path) -> None:
    encoder = GatedEncoder()
    encoder.release.set()
    kb = KnowledgeBase(settings, encoder)
    kb.ingest([corpus])
    expected = [h.chunk.id for h in kb.search("meeting notice working days")]
    encoder.release.clear()
    upload = tmp_path / "new" / "parking.md"
    upload.parent.mkdir()
    upload.write_bytes(RULE)
    writer = threading.Thread(target=kb.ingest, args=([upload],))
    writer.start()
    assert encoder.entered.wait(30)
    # The ingest is stuck in the middle: the same object answers from the index as it was.
    assert [h.chunk.id for h in kb.search("meeting notice working days")] == expected
    assert "parking" not in kb.snapshot.records
    encoder.release.set()
    writer.join(30)
    assert "parking" in kb.snapshot.records


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_upload_refused_by_a_busy_lock_changes_nothing(built: KnowledgeBase, settings) -> None:
    ingest_uploads(built, [("parking.md", RULE)], "regulation")
    uploads = Path(settings.uploads)
    before, generation = _files(uploads), built.manifest()["generation"]
    other = KnowledgeBase(settings, HashingEncoder())
    with other.writing():
        with pytest.raises(KbError, match="another ingest is writing"):
            ingest_uploads(built, [("parking.md", RULE.replace(b"east", b"west")), ("new.md", RULE)], "regulation")
    assert _files(uploads) == before  # v1 kept, no new file, no staging left
    assert not (uploads / ".staging").exists()
    assert KnowledgeBase(settings, HashingEncoder()).manifest()["generation"] == generation


def test_an_upload_waits_in_a_queue_while_another_ingest_runs(built: KnowledgeBase, settings) -> None:
    other = KnowledgeBase(settings, HashingEncoder())
    told = threading.Event()
    results = []
    with other.writing():
        upload = threading.Thread(target=lambda: results.extend(
            ingest_uploads(built, [("parking.md", RULE)], "regulation", wait=30, on_wait=told.set)))
        upload.start()
        assert told.wait(10)
        assert not results
    upload.join(30)
    assert [r.status for r in results] == ["added"]
    assert "parking" in KnowledgeBase(settings, HashingEncoder()).snapshot.records


class FailingEncoder(HashingEncoder):
    def encode(self, texts):
        if any("west yard" in t for t in texts):
            raise RuntimeError("the encoder failed half way")
        return super().encode(texts)


def test_an_upload_failing_mid_ingest_keeps_the_earlier_file_and_index(settings) -> None:
    kb = KnowledgeBase(settings, FailingEncoder())
    ingest_uploads(kb, [("parking.md", RULE)], "regulation")
    uploads = Path(settings.uploads)
    before, generation = _files(uploads), kb.manifest()["generation"]
    with pytest.raises(RuntimeError, match="half way"):
        ingest_uploads(kb, [("parking.md", RULE.replace(b"east", b"west"))], "regulation")
    assert _files(uploads) == before
    assert kb.manifest()["generation"] == generation
    assert "east yard" in kb.search("where do official cars park")[0].chunk.text


def test_a_disk_error_while_saving_is_a_failed_file_not_a_crash(built: KnowledgeBase, monkeypatch) -> None:
    import errno

    import kb.services.uploads

    def full(target, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(kb.services.uploads, "_write_atomic", full)
    [result] = ingest_uploads(built, [("parking.md", RULE)], "regulation")
    assert result.status == "failed"
    assert "cannot be saved in" in result.reason and "No space left on device" in result.reason
    assert "free some disk space" in result.reason


def test_a_staged_upload_of_a_dead_process_is_finished_or_dropped(built: KnowledgeBase, settings) -> None:
    from kb.services.uploads import STAGING, recover_staging

    uploads = Path(settings.uploads)
    ingest_uploads(built, [("parking.md", RULE)], "regulation")
    final = uploads / "regulations" / "parking.md"
    final.write_bytes(b"# older bytes the index no longer holds\n")  # as if killed before the move
    dead = uploads / STAGING / "999999999-abc" / "regulations"
    dead.mkdir(parents=True)
    (dead / "parking.md").write_bytes(RULE)
    (dead / "orphan.md").write_bytes(b"# never indexed\n")
    with built.writing():
        assert recover_staging(built) == 1
    assert final.read_bytes() == RULE
    assert not (uploads / "regulations" / "orphan.md").exists()
    assert not (uploads / STAGING / "999999999-abc").exists()
