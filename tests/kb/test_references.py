"""Parsing of exact references in queries and section paths."""

from __future__ import annotations

import pytest

from kb.references import chunk_refs, label_refs, matches, parse_query_refs, roman_to_int


@pytest.mark.parametrize(
    ("query", "refs"),
    [
        ("Article 12 of the meeting rules", [("unit", "12")]),
        ("what does rule 3.2.1 require", [("unit", "3.2.1")]),
        ("第十二条", [("unit", "12")]),
        ("第一百零五条和第三章", [("unit", "105"), ("chapter", "3")]),
        ("Chapter IV", [("chapter", "4")]),
        ("see 14.2.3 on guidance", [("", "14.2.3")]),
        ("what is a meeting notice", []),
    ],
)
def test_query_references(query: str, refs: list) -> None:
    assert [ref for ref, _ in parse_query_refs(query)] == refs


def test_reference_spans_point_into_the_query() -> None:
    query = "Article 5 of the meeting rules"
    [(_, (a, b))] = parse_query_refs(query)
    assert query[a:b] == "Article 5"


def test_labels_and_chunk_keys() -> None:
    assert label_refs("Article 12 Meeting notices") == [("unit", "12")]
    assert label_refs("第十二条") == [("unit", "12")]
    assert label_refs("3.2.1") == [("", "3.2.1")]
    assert label_refs("Decisions") == []
    keys = chunk_refs("Chapter 2 Notices > Article 3", "Article 3 A notice ...\nArticle 4 Materials ...")
    assert (("chapter", "2"), 1) in keys and (("unit", "3"), 2) in keys and (("unit", "4"), 2) in keys


def test_matching_and_roman_numerals() -> None:
    assert matches(("unit", "3.2.1"), ("", "3.2.1"))
    assert not matches(("chapter", "3"), ("unit", "3"))
    assert [roman_to_int(r) for r in ("iv", "IX", "xiv", "MCM")] == [4, 9, 14, 1900]
