"""A local SQLite file the app keeps (feedback, the activity log): one connection per call, errors with the fix."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from kb.errors import KbError


@contextmanager
def connect(path: Path, what: str, env: str,
            prepare: Callable[[sqlite3.Connection], None]) -> Iterator[sqlite3.Connection]:
    """A connection in a transaction, after ``prepare`` (the schema); a damaged or unwritable file is a
    KbError that names ``what`` it is and the setting (``env``) that moves it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(path, timeout=10)) as conn, conn:
            prepare(conn)
            yield conn
    except sqlite3.DatabaseError as exc:
        raise KbError(
            f"the {what} {path} cannot be used ({exc}): move it aside (a new one is made), "
            f"or set {env} to another file"
        ) from None
    except OSError as exc:
        raise KbError(
            f"the {what} {path} cannot be written ({exc.strerror or exc}): "
            "fix the folder's permissions or free some space"
        ) from None
