"""Feedback storage and follow-up questions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import pytest

from kb.services.feedback import FeedbackStore
from kb.services.followup import contextualize, is_follow_up
from kb.index import KnowledgeBase


def test_feedback_keeps_question_rating_and_cited_chunks(built: KnowledgeBase, tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb" / "feedback.sqlite3")
    answer = built.ask("How many working days before the meeting must the meeting notice be sent?")
    store.record(answer, 1)
    missing = built.ask("What is the recipe for a chocolate cake with vanilla frosting?")
    store.record(missing, -1)
    rows = store.all()
    assert [(r.question, r.rating, r.found) for r in rows] == [(answer.question, 1, True), (missing.question, -1, False)]
    assert rows[0].chunks[0]["doc_id"] == answer.citations[0].hit.chunk.doc_id
    assert rows[1].chunks, "a not-found answer keeps the closest passages it showed"
    with pytest.raises(ValueError, match="rating must be 1 or -1"):
        store.record(answer, 0)


def test_feedback_keeps_who_rated_and_reads_a_file_from_before_logins(built: KnowledgeBase, tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "feedback.sqlite3"
    with sqlite3.connect(path) as conn:  # the table as it was before the user column
        conn.execute("CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT NOT NULL, "
                     "question TEXT NOT NULL, answer TEXT NOT NULL, found INTEGER NOT NULL, rating INTEGER NOT NULL, "
                     "chunks TEXT NOT NULL)")
        conn.execute("INSERT INTO feedback VALUES (1, '2026-01-01', 'old?', 'old.', 1, 1, '[]')")
    store = FeedbackStore(path)
    store.record(built.ask("Who signs the minutes?"), -1, "lin")
    assert [(r.question, r.user) for r in store.all()] == [("old?", ""), ("Who signs the minutes?", "lin")]
    assert [r.question for r in store.all("lin")] == ["Who signs the minutes?"]


@pytest.mark.parametrize("question, previous, expected", [
    ("and for meetings?", "How many days ahead is a notice sent?", "for meetings? How many days ahead is a notice sent?"),
    ("What about minutes?", "Who signs circulars?", "minutes? Who signs circulars?"),
    ("Who keeps it?", "Where is the seal stored?", "Who keeps it? Where is the seal stored?"),
    ("Who signs circulars?", "Where is the seal stored?", "Who signs circulars?"),
    ("and for meetings?", None, "and for meetings?"),
])
def test_follow_ups_are_read_with_the_previous_question(question: str, previous, expected: str) -> None:
    assert contextualize(question, previous) == expected


def test_a_full_question_is_not_a_follow_up() -> None:
    assert not is_follow_up("How long are meeting minutes kept in the archives?")
    assert is_follow_up("And the deadline?")


def _embed_by_topic(texts: list[str]) -> np.ndarray:
    """A stand-in encoder: bodies of government are one topic, kinds of meeting another; any other
    text gets a direction of its own (from a SHA-256 of it), unrelated to the topics and to the others."""
    import hashlib

    topics = [("government", "general", "office", "municipal", "bureau"), ("meeting", "plenary", "executive"),
              ("document", "minutes", "circular")]
    rows = np.zeros((len(texts), len(topics) + 64))
    for r, t in enumerate(texts):
        rows[r, : len(topics)] = [sum(w in t.lower() for w in words) for words in topics]
        rows[r, len(topics) + hashlib.sha256(t.encode()).digest()[0] % 64] = 0.05
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.mark.parametrize("question, previous, expected", [
    ("and for the municipal government?", "Who signs a document issued in the name of the General Office?",
     "Who signs a document issued in the name of the municipal government?"),
    ("and for a plenary meeting?", "How many days ahead is the notice of an executive meeting sent?",
     "How many days ahead is the notice of a plenary meeting sent?"),
    # Nothing in the previous question plays the new subject's part: joined, as before.
    ("and in writing?", "Who signs a document issued in the name of the General Office?",
     "in writing? Who signs a document issued in the name of the General Office?"),
])
def test_a_follow_up_naming_a_new_subject_replaces_the_old_one(question, previous, expected) -> None:
    assert contextualize(question, previous, _embed_by_topic) == expected


@pytest.mark.slow
def test_the_real_encoder_switches_the_subject_of_the_issues_example() -> None:
    from kb.encoder import make_encoder

    encoder = make_encoder("")
    assert contextualize("and for the municipal government?",
                         "Who signs a document issued in the name of the General Office?", encoder.encode) == (
        "Who signs a document issued in the name of the municipal government?")
