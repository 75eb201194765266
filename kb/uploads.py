"""Files a user hands the app: checked, named safely, saved inside one folder.

Nothing a browser sends decides where a file lands: the name is reduced to a
plain file name, the type folder is chosen from a fixed list, and the final
path is checked to lie inside the uploads folder before anything is written.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ingest.loaders import SUPPORTED_SUFFIXES
from kb.errors import KbError
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


def save_upload(name: str, data: bytes, folder: Path, doc_type: str, max_mb: float) -> Path:
    """Write one uploaded file into ``folder/<type folder>/`` atomically and return its path.

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
    target_dir = (Path(folder) / TYPE_FOLDERS[doc_type]).resolve()
    target = (target_dir / clean).resolve()
    if target.parent != target_dir:  # cannot happen after safe_name; checked all the same
        raise UploadError(f"{name}: refused, the name points outside the upload folder")
    target_dir.mkdir(parents=True, exist_ok=True)
    fd, staged = tempfile.mkstemp(prefix=".upload-", dir=target_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(staged, target)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise
    return target


@dataclass(frozen=True)
class UploadResult:
    """What became of one uploaded file: added, unchanged, replaced, or failed with the reason."""

    name: str
    status: str
    doc_ids: tuple[str, ...] = ()
    chunks: int = 0
    reason: str = ""


def ingest_uploads(kb, files: list[tuple[str, bytes]], doc_type: str, progress=None) -> list[UploadResult]:
    """Save uploaded files and ingest them; a refused or failed file leaves no trace.

    A file that fails to load is deleted again, or, when it came under the name
    of an earlier upload, that earlier file is put back: what the index held
    before still matches the files on disk.
    """
    settings = kb.settings
    results: list[UploadResult] = []
    saved: dict[Path, tuple[str, bytes | None]] = {}
    for name, data in files:
        try:
            clean = safe_name(name)
            target_dir = Path(settings.uploads) / TYPE_FOLDERS.get(doc_type, "other")
            previous_path = (target_dir / clean)
            previous = previous_path.read_bytes() if previous_path.is_file() else None
            path = save_upload(name, data, settings.uploads, doc_type, settings.max_upload_mb)
        except UploadError as exc:
            results.append(UploadResult(name, "failed", reason=str(exc)))
            continue
        saved[path] = (name, previous)
    if not saved:
        return results
    report = kb.ingest(list(saved), progress=progress)
    for item in report.results:
        path = Path(item.path).resolve()
        name, previous = saved.get(path, (item.path, None))
        if item.status == "failed" and path in saved:
            if previous is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(previous)
        reason = item.reason.replace(str(path), name).replace(item.path, name) if item.reason else ""
        results.append(UploadResult(name, item.status, tuple(item.doc_ids), item.chunks, reason))
    return results
