"""Thumbs up and down on answers, kept in a local SQLite file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from kb.errors import KbError
from kb.types import Answer

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    found INTEGER NOT NULL,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    chunks TEXT NOT NULL
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


class FeedbackStore:
    """One SQLite file; each call opens its own connection, so threads never share one."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in a transaction; a damaged or unwritable file is a KbError with the fix."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=10)) as conn, conn:
                conn.execute(_SCHEMA)
                yield conn
        except sqlite3.DatabaseError as exc:
            raise KbError(
                f"the feedback file {self.path} cannot be used ({exc}): move it aside (a new one is "
                "made), or set KB_FEEDBACK_DB to another file"
            ) from None
        except OSError as exc:
            raise KbError(
                f"the feedback file {self.path} cannot be written ({exc.strerror or exc}): "
                "fix the folder's permissions or free some space"
            ) from None

    def record(self, answer: Answer, rating: int) -> int:
        """Store a rating (+1 or -1) with the question, the answer and the cited chunks."""
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
                "INSERT INTO feedback (created, question, answer, found, rating, chunks) VALUES (?, ?, ?, ?, ?, ?)",
                (datetime.now(timezone.utc).isoformat(timespec="seconds"), answer.question, answer.text,
                 int(answer.found), rating, json.dumps(chunks, ensure_ascii=False)),
            )
            return int(cur.lastrowid)

    def all(self) -> list[Feedback]:
        if not self.path.exists():
            return []
        with self._connect() as conn:
            rows = conn.execute("SELECT id, created, question, answer, found, rating, chunks FROM feedback ORDER BY id")
            return [Feedback(i, c, q, a, bool(f), r, tuple(json.loads(ch))) for i, c, q, a, f, r, ch in rows]
