"""The shared grammar of document numbers, dates and heading numbers."""

from __future__ import annotations

import re

import pytest

from kb.grammar import GRAMMAR, expand, find_numbers, numeral, parse_date, parse_number


@pytest.mark.parametrize(("text", "series", "year", "n"), [
    ("Mer. Gov. Off. [2024] No. 9", "Mer. Gov. Off.", 2024, 9),
    ("Mer. Gov. Off. Letter (2023) No. 041", "Mer. Gov. Off. Letter", 2023, 41),
    ("Minutes of Mayor's Office Meeting [2025] No. 6", "Minutes of Mayor's Office Meeting", 2025, 6),
    ("子政办发〔2025〕12号", "子政办发", 2025, 12),
    ("子政办发[25]第012号", "子政办发", 25, 12),
])
def test_numbers_are_read_in_any_spelling(text: str, series: str, year: int, n: int) -> None:
    number = parse_number(text)
    assert (number.series, number.year, number.n) == (series, year, n)


def test_one_key_for_every_spelling_of_a_number() -> None:
    keys = {parse_number(t).key for t in ("Mer. Gov. Off. [2024] No. 9", "Mer.Gov.Off. (2024) No. 09",
                                          "Mer. Gov. Off. [24] No. 9")}
    assert keys == {"mergovoff|2024|9"}


def test_numbers_are_found_in_running_text_with_their_spans() -> None:
    text = "under the Rules (Mer. Gov. Off. [2023] No. 12) and the reply 子政办函〔2025〕21号."
    found = find_numbers(text)
    assert [(n.key, text[a:b]) for n, (a, b) in found] == [
        ("mergovoff|2023|12", "Mer. Gov. Off. [2023] No. 12"), ("子政办函|2025|21", "子政办函〔2025〕21号")]
    assert find_numbers("The Government Work Report for 2024 lists 36 projects.") == []


def test_strict_and_loose_forms() -> None:
    strict, loose = re.compile(f"^{GRAMMAR['doc_number']}$"), re.compile(f"^{GRAMMAR['doc_number_loose']}$")
    assert strict.match("Mer. Gov. [2023] No. 5") and not strict.match("Mer. Gov. [2023] No. 05")
    assert not strict.match("Mer. Gov. (2023) No. 5") and loose.match("Mer. Gov. (2023) No. 5")
    zh = re.compile(f"^{GRAMMAR['doc_number_zh']}$")
    assert zh.match("子政办发〔2025〕12号") and not zh.match("子政办发〔2025〕第12号")
    assert re.fullmatch(GRAMMAR["date"], "10 April 2023") and not re.fullmatch(GRAMMAR["date"], "10 Apr 2023")
    assert re.fullmatch(GRAMMAR["date_loose"], "22nd September 2025")
    assert re.fullmatch(GRAMMAR["date_zh"], "2024年3月5日") and not re.fullmatch(GRAMMAR["date_zh"], "2024年03月05日")
    assert re.fullmatch(GRAMMAR["date_zh_loose"], "二〇二四年三月五日")


def test_expand_names_and_leaves_quantifiers_alone() -> None:
    assert expand(r"\d{2,4}") == r"\d{2,4}"
    assert re.fullmatch(expand("{month} {x}", {"x": "now"}), "May now")
    with pytest.raises(KeyError):
        expand("{no_such_fragment}")


def test_dates_and_heading_numerals() -> None:
    assert parse_date("Printed on 9 January 2023") == "2023-01-09"
    assert parse_date("2025年5月20日") == "2025-05-20"
    assert parse_date("31 February 2025") is None
    assert (numeral("3"), numeral("c"), numeral("十二")) == (3, 3, 12)


def test_an_article_line_leading_into_its_items_is_labelled_by_its_number() -> None:
    from kb.grammar import heading_label

    assert heading_label("Article 31 The Reception Division is responsible for:") == "Article 31"
    assert heading_label("第十五条 发文办理主要程序是：") == "第十五条"
    assert heading_label("Article 12 Notices") == "Article 12 Notices"
    assert heading_label("Decisions:") == "Decisions"


def test_a_gold_section_matches_the_same_article_however_labelled() -> None:
    from kb.bench.gold import matches

    gold = (("regulations/reception-rules", "Article 9 Reception plans are approved as follows"),)
    assert matches("regulations/reception-rules", "Chapter 2 Plans > Article 9", gold)
    assert not matches("regulations/reception-rules", "Chapter 2 Plans > Article 19", gold)
    assert not matches("documents/x", "1. Main problems found", (("documents/x", "1. Causes"),))


@pytest.mark.parametrize(("line", "number"), [
    ("Mer. Gov. Off. [2026] No. 3", "Mer. Gov. Off. [2026] No. 3"),
    ("子府办发〔2026〕3号", "子府办发〔2026〕3号"),
    ("〔2026〕3号", "〔2026〕3号"),
    ("子府办发〔2025〕4号　　　　签发人：周明", "子府办发〔2025〕4号"),
    ("根据《办法》（子府办发〔2023〕20号），", None),
    ("Notice on Duty during the 2025 Spring Festival", None),
])
def test_leading_number(line: str, number: str | None) -> None:
    from kb.grammar import leading_number

    assert leading_number(line) == number


@pytest.mark.parametrize(("line", "date"), [
    ("30 January 2026", "2026-01-30"), ("2026年1月30日", "2026-01-30"), ("二〇二六年一月三十日", "2026-01-30"),
    ("2026-01-30", "2026-01-30"), ("On 30 January 2026 the meeting", None), ("2026年2月30日", None),
    ("Printed on 31 January 2026", None),
])
def test_date_line(line: str, date: str | None) -> None:
    from kb.grammar import date_line

    assert date_line(line) == date
