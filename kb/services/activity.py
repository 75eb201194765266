"""Who did what: an append-only SQLite log of questions, citations, views, downloads and changes.

Records are only ever inserted; a trigger refuses updates and deletes, so a
record cannot be changed through SQLite either (short of replacing the file).
Each call opens its own connection, so threads and processes may share the file.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from kb.services.sqlite_file import connect

ACTIONS = ("login", "login_failed", "logout", "ask", "search", "view", "download", "ingest", "upload", "remove",
           "reindex", "set_access", "users")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS activity (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    docs TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS activity_user ON activity (user, time);
CREATE TRIGGER IF NOT EXISTS activity_no_update BEFORE UPDATE ON activity
BEGIN SELECT RAISE(ABORT, 'the activity log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS activity_no_delete BEFORE DELETE ON activity
BEGIN SELECT RAISE(ABORT, 'the activity log is append-only'); END;
"""


@dataclass(frozen=True)
class Event:
    id: int
    time: str
    user: str
    action: str
    detail: str
    docs: tuple[str, ...]


class ActivityLog:
    """The log in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _connect(self):
        """A connection in a transaction (kb.services.sqlite_file.connect)."""
        return connect(self.path, "activity log", "KB_ACTIVITY_DB", lambda conn: conn.executescript(_SCHEMA))

    def record(self, user: str, action: str, detail: str = "", docs: list[str] | tuple[str, ...] = ()) -> None:
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
        with self._connect() as conn:
            conn.execute("INSERT INTO activity (time, user, action, detail, docs) VALUES (?, ?, ?, ?, ?)",
                         (datetime.now(timezone.utc).isoformat(timespec="seconds"), user, action, detail,
                          json.dumps(list(docs), ensure_ascii=False)))

    def events(self, user: str | None = None, actions: tuple[str, ...] = (), since: str | None = None,
               until: str | None = None, text: str = "", limit: int = 10_000) -> list[Event]:
        """The newest ``limit`` events matching every filter given, newest first.

        Args:
            since, until: ISO dates or times, compared as text (``until`` "2026-11-28" takes the whole day).
            text: A substring of the detail or the documents.
        """
        if not self.path.exists():
            return []
        where, args = [], []
        if user:
            where.append("user = ?")
            args.append(user)
        if actions:
            where.append(f"action IN ({', '.join('?' * len(actions))})")
            args.extend(actions)
        if since:
            where.append("time >= ?")
            args.append(since)
        if until:
            where.append("time < ?")
            args.append(until + ("\uffff" if len(until) <= 10 else ""))
        if text:
            where.append("(instr(lower(detail), lower(?)) > 0 OR instr(lower(docs), lower(?)) > 0)")
            args.extend([text, text])
        sql = "SELECT id, time, user, action, detail, docs FROM activity"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        with self._connect() as conn:
            rows = conn.execute(sql, (*args, limit)).fetchall()
        return [Event(i, t, u, a, d, tuple(json.loads(docs))) for i, t, u, a, d, docs in rows]

    def users(self) -> list[str]:
        if not self.path.exists():
            return []
        with self._connect() as conn:
            return [u for (u,) in conn.execute("SELECT DISTINCT user FROM activity ORDER BY user")]


def to_csv(events: list[Event]) -> str:
    """The events as CSV (documents joined by "; "), for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "time", "user", "action", "detail", "documents"])
    for e in events:
        writer.writerow([e.id, e.time, _inert(e.user), e.action, _inert(e.detail), _inert("; ".join(e.docs))])
    return out.getvalue()


def _inert(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (a question may start with "=")."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
