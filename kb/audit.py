"""An append-only JSONL audit log of what was sent to a model and what came back.

Switched on by the ``audit_log`` setting (a file path; "" for none). Each record is
one line, written with one call on a file opened for appending, so lines from
several threads or processes do not interleave. Keys are never logged.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from kb.errors import KbError


def append(path: str | Path, record: dict) -> None:
    """Add ``record`` (JSON-serialisable) to the log at ``path``, stamped with the UTC time."""
    line = json.dumps({"time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), **record},
                      ensure_ascii=False, default=str)
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
        finally:
            os.close(fd)
    except OSError as exc:
        raise KbError(f"cannot write the audit log {path} ({exc.strerror}): fix its folder's permissions, "
                      "or set audit_log to another file (\"\" turns it off)") from None
