"""Typos and shorthand corrected against the knowledge base's words; real words it lacks left alone."""

from __future__ import annotations

import pytest

from kb.index import KnowledgeBase
from kb.spelling import Speller

TEXTS = ["What is the font? The body text of a document is set in FangSong, size 16 point.",
         "A meeting notice is sent early, at least three working days before the meeting.",
         "Harbour District asked to host the forum in the name of the government."]


@pytest.mark.parametrize("query, expected", [
    ("wat font n size is the body txt of a documnt in?", "what font and size is the body text of a document in?"),
    ("how erly must the notce be sent", "how early must the notice be sent"),
    ("harbor port forum - in the city govt's name?", "harbour port forum - in the city government's name?"),
    ("mtg notice deadline", "meeting notice deadline"),
    # Real English words the knowledge base never uses stay: they may make the answer "not found".
    ("What overtime pay or time off in lieu do staff get?", "What overtime pay or time off in lieu do staff get?"),
    ("Who signs the EMB circular of 2024?", "Who signs the EMB circular of 2024?"),
    ("会议通知应当提前几天发出？", "会议通知应当提前几天发出？"),
])
def test_corrections(query: str, expected: str) -> None:
    assert Speller(TEXTS).correct(query).query == expected


def test_changes_are_listed() -> None:
    assert Speller(TEXTS).correct("the documnt").changes == (("documnt", "document"),)


def test_ask_says_what_it_searched_for(built: KnowledgeBase) -> None:
    answer = built.ask("How many working days before the meeting must the meeting notce be sent?")
    assert answer.searched == "How many working days before the meeting must the meeting notice be sent?"
    assert answer.found and answer.question.endswith("notce be sent?")
    assert built.ask("How many working days before the meeting must the notice be sent?").searched == ""
