"""Thumbs up and down on answers, kept in a local SQLite file."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from kb.services.sqlite_file import connect
from kb.types import Answer

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    found INTEGER NOT NULL,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    chunks TEXT NOT NULL,
    user TEXT NOT NULL DEFAULT ''
)
"""


@dataclass(frozen=True)
class Feedback:
    id: int
    created: str
    question: str
    answer: str
    found: bool
    rating: int
    chunks: tuple[dict, ...]
    user: str = ""


def _prepare(conn: sqlite3.Connection) -> None:
    conn.execute(_SCHEMA)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(feedback)")}
    if "user" not in columns:  # a file from before logins
        conn.execute("ALTER TABLE feedback ADD COLUMN user TEXT NOT NULL DEFAULT ''")


class FeedbackStore:
    """One SQLite file; each call opens its own connection, so threads never share one."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _connect(self):
        """A connection in a transaction (kb.services.sqlite_file.connect)."""
        return connect(self.path, "feedback file", "KB_FEEDBACK_DB", _prepare)

    def record(self, answer: Answer, rating: int, user: str = "") -> int:
        """Store a rating (+1 or -1) with the question, the answer, the cited chunks and who rated it
        (what they were shown was only what they may see)."""
        if rating not in (-1, 1):
            raise ValueError(f"rating must be 1 or -1, not {rating!r}")
        cited = answer.citations or ()
        chunks = [{"doc_id": c.hit.chunk.doc_id, "chunk_id": c.hit.chunk.id, "section": c.hit.chunk.section}
                  for c in cited]
        if not cited:  # "not found": keep what was closest, that is what the user judged
            chunks = [{"doc_id": h.chunk.doc_id, "chunk_id": h.chunk.id, "section": h.chunk.section}
                      for h in answer.closest]
        with self._connect() as conn:
            cur = conn.execute(
                "INSERT INTO feedback (created, question, answer, found, rating, chunks, user) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (datetime.now(timezone.utc).isoformat(timespec="seconds"), answer.question, answer.text,
                 int(answer.found), rating, json.dumps(chunks, ensure_ascii=False), user),
            )
            return int(cur.lastrowid)

    def all(self, user: str | None = None) -> list[Feedback]:
        """Every rating, oldest first; with ``user``, only theirs (the answers they were shown)."""
        if not self.path.exists():
            return []
        with self._connect() as conn:
            sql = "SELECT id, created, question, answer, found, rating, chunks, user FROM feedback"
            rows = conn.execute(sql + (" WHERE user = ?" if user is not None else "") + " ORDER BY id",
                                (user,) if user is not None else ())
            return [Feedback(i, c, q, a, bool(f), r, tuple(json.loads(ch)), u) for i, c, q, a, f, r, ch, u in rows]
