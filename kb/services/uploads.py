"""Files a user hands the app: checked, named safely, added as one transaction.

Nothing a browser sends decides where a file lands: the name is reduced to a
plain file name, the type folder is chosen from a fixed list, and the final
path is checked to lie inside the uploads folder before anything is written.

An upload is staged under ``uploads/.staging/`` and indexed from there while
it holds the index's write lock; only once the index has committed is each
file moved over its final name. Refused, failed, or waiting past the lock, it
leaves the earlier file of that name, the index and the folder as they were.
A process killed between the commit and the move leaves a staged file that
the next upload moves into place (if the index holds its bytes) or deletes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

from ingest.loaders import SUPPORTED_SUFFIXES
from kb.errors import KbError
from kb.process import pid_alive
from kb.types import DOC_TYPES

# Type folders under the uploads folder; the loaders read the type from the folder name.
TYPE_FOLDERS = {"regulation": "regulations", "document": "documents", "minutes": "minutes", "other": "other"}
_UNSAFE = re.compile(r"[^\w.\- ()]+")
MAX_NAME = 120


class UploadError(KbError):
    """An upload refused, with the reason and what to do instead."""


def safe_name(name: str) -> str:
    """A plain file name from whatever a browser sent: no folders, no control or shell characters."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", name))[-1]
    base = _UNSAFE.sub("_", base).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem.strip(" ._")[: MAX_NAME - len(suffix) - 1]
    if not stem:
        raise UploadError(f"the file name {name!r} has no usable characters: rename the file and upload it again")
    return f"{stem}.{suffix.lower()}" if suffix else stem


STAGING = ".staging"  # hidden: the folder walk skips it


def check_upload(name: str, data: bytes, doc_type: str, max_mb: float) -> str:
    """The safe file name for one upload, or UploadError naming why it is refused.

    Raises:
        UploadError: unsupported type, empty or too large file, or an unusable name.
    """
    if doc_type not in DOC_TYPES:
        raise UploadError(f"type {doc_type!r} is not one of {', '.join(DOC_TYPES)}")
    clean = safe_name(name)
    suffix = Path(clean).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UploadError(
            f"{name}: {suffix or 'no extension'} files are not accepted; upload one of "
            f"{', '.join(SUPPORTED_SUFFIXES)}"
        )
    if not data:
        raise UploadError(f"{name}: the file is empty")
    if len(data) > max_mb * 1024 * 1024:
        raise UploadError(
            f"{name}: {len(data) / 1024 / 1024:.1f} MB is over the {max_mb:g} MB limit; "
            "split the file or raise max_upload_mb"
        )
    return clean


def _inside(folder: Path, *parts: str) -> Path:
    """``folder/parts...``, checked to stay inside ``folder`` (it cannot fail after safe_name)."""
    base = Path(folder).resolve()
    target = base.joinpath(*parts).resolve()
    if base not in target.parents:
        raise UploadError(f"{parts[-1]}: refused, the name points outside the upload folder")
    return target


def _write_atomic(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, staged = tempfile.mkstemp(prefix=".upload-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(staged, target)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise


def save_upload(name: str, data: bytes, folder: Path, doc_type: str, max_mb: float) -> Path:
    """Write one checked upload into ``folder/<type folder>/`` atomically and return its path.

    Raises:
        UploadError: as check_upload, or the file cannot be written.
    """
    clean = check_upload(name, data, doc_type, max_mb)
    target = _inside(folder, TYPE_FOLDERS[doc_type], clean)
    try:
        _write_atomic(target, data)
    except OSError as exc:
        raise _save_error(name, folder, exc) from None
    return target


def _save_error(name: str, folder: Path, exc: OSError) -> UploadError:
    return UploadError(
        f"{name}: cannot be saved in {folder} ({exc.strerror or exc}); "
        "free some disk space or fix the folder's permissions, then upload it again"
    )


@dataclass(frozen=True)
class UploadResult:
    """What became of one uploaded file: added, unchanged, replaced, or failed with the reason."""

    name: str
    status: str
    doc_ids: tuple[str, ...] = ()
    chunks: int = 0
    reason: str = ""


def ingest_uploads(
    kb, files: list[tuple[str, bytes]], doc_type: str, progress=None, wait: float = 0.0, on_wait=None,
    assign: tuple[int, tuple[str, ...]] | None = None,
) -> list[UploadResult]:
    """Add uploaded files to the knowledge base as one transaction.

    Each file is checked, staged, and ingested from where it is staged under the
    index's write lock; a file moves over its final name only once the index
    holds it. A refused or failed file, or the whole batch when the lock stays
    busy past ``wait`` seconds, leaves the earlier file, the index and the
    folder exactly as they were.

    Args:
        kb: The KnowledgeBase to add to.
        files: (name the browser sent, bytes).
        doc_type: One of DOC_TYPES: picks the type folder.
        progress: Called as (stage, done, total).
        wait: Seconds to wait for another ingest to finish (the upload is queued meanwhile).
        on_wait: Called once if the upload has to wait.
        assign: (level, groups) the uploaded documents are stored with (kb.access); None reads them
            from each file.

    Raises:
        KbError: The lock stayed busy past ``wait``, or the index cannot be written.
    """
    settings = kb.settings
    uploads = Path(settings.uploads)
    results: list[UploadResult] = []
    batch = uploads / STAGING / f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
    staged: dict[Path, Path] = {}  # final path -> staged copy
    names: dict[Path, str] = {}
    try:
        for name, data in files:
            try:
                clean = check_upload(name, data, doc_type, settings.max_upload_mb)
                final = _inside(uploads, TYPE_FOLDERS[doc_type], clean)
                if final in staged:
                    raise UploadError(f"{name}: a file of this name is already in this upload; rename one of them")
                copy = _inside(batch, TYPE_FOLDERS[doc_type], clean)
                try:
                    _write_atomic(copy, data)
                except OSError as exc:
                    raise _save_error(name, uploads, exc) from None
            except UploadError as exc:
                results.append(UploadResult(name, "failed", reason=str(exc)))
                continue
            staged[final], names[final] = copy, name
        if not staged:
            return results
        with kb.writing(wait, on_wait):
            recover_staging(kb)
            for final in staged:
                final.parent.mkdir(parents=True, exist_ok=True)
            report = kb.ingest(list(staged), progress=progress, staged=staged, assign=assign)
            for item in report.results:
                final = Path(item.path).absolute()
                if item.status in ("added", "replaced") and final in staged:
                    os.replace(staged[final], final)  # the index holds these bytes now
                name = names.get(final, item.path)
                reason = item.reason.replace(str(final), name).replace(item.path, name) if item.reason else ""
                results.append(UploadResult(name, item.status, tuple(item.doc_ids), item.chunks, reason))
        return results
    finally:
        shutil.rmtree(batch, ignore_errors=True)
        with contextlib.suppress(OSError):
            (uploads / STAGING).rmdir()  # only when empty


def recover_staging(kb) -> int:
    """Finish or undo the uploads of processes that died between commit and move; returns files moved.

    Call with the write lock held. A staged file whose bytes the index holds for its final
    name is moved into place; any other staged file of a dead process is deleted. Batches of
    live processes (an upload of this app waiting for the lock) are left alone.
    """
    root = Path(kb.settings.uploads) / STAGING
    if not root.is_dir():
        return 0
    by_source = {rec.document.source: rec.content_hash for rec in kb.snapshot.records.values()}
    moved = 0
    for batch in root.iterdir():
        if pid_alive(batch.name.split("-", 1)[0]):
            continue
        for copy in (p for p in batch.rglob("*") if p.is_file()):
            final = Path(kb.settings.uploads).resolve() / copy.relative_to(batch)
            digest = hashlib.sha256(copy.read_bytes()).hexdigest()
            if by_source.get(str(final)) == digest:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(copy, final)
                moved += 1
        shutil.rmtree(batch, ignore_errors=True)
    return moved
