"""The written forms of an official document: document numbers, dates and heading numbers.

One place for these patterns: the draft checker's rule files name them as
``{doc_number}`` and the like (see kb.check.rules), and the checker's
cross-reference lookup and the knowledge base's catalogue of documents parse
numbers with the same functions, so a number is read the same way wherever
it appears.

Each form has a strict pattern (the form the rules require) and a loose one
(anything a drafter might have written for it), so that a wrong form is
found and reported rather than overlooked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.chunkers import chinese_numeral_to_int

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
_MONTH = "|".join(MONTHS)
_MONTH_ABBR = "|".join(m[:3] for m in MONTHS)

# A series: "Mer. Gov. Off. Letter", "Harbour Gov.", "Minutes of Mayor's Office Meeting".
_SERIES_EN = r"[A-Z][A-Za-z'’]*\.?(?:(?:\s+(?:of\s+)?|(?<=\.))[A-Z][A-Za-z'’]*\.?)*"
# A Chinese series: the issuing body's short code, "梅政办发", "梅政办函".
_SERIES_ZH = r"[\u4e00-\u9fff]{1,12}"
_CN_DIGITS = "〇零一二三四五六七八九十"

# Named fragments that rule files may use as {name}.
GRAMMAR: dict[str, str] = {
    # "Mer. Gov. Off. [2024] No. 9": year in full in square brackets, no leading zeros.
    "doc_number": rf"(?P<series>{_SERIES_EN}) \[(?P<year>(?:19|20)\d\d)\] No\. (?P<n>[1-9]\d*)",
    # What a drafter may have written instead: other brackets, a short year, leading zeros.
    "doc_number_loose": rf"(?P<series>{_SERIES_EN})\s*[\[(（〔【]?\s*(?P<year>\d{{2,4}})\s*[\])）〕】]?\s*"
                        r"(?:No\.?|Number|#)\s*(?P<n>\d+)",
    # "梅政办发〔2024〕9号": year in full in hexagonal brackets, no leading zeros, no 第.
    "doc_number_zh": rf"(?P<series>{_SERIES_ZH})〔(?P<year>(?:19|20)\d\d)〕(?P<n>[1-9]\d*)号",
    "doc_number_zh_loose": rf"(?P<series>{_SERIES_ZH})\s*[\[(（〔【]?\s*(?P<year>\d{{2,4}})\s*[\])）〕】]?\s*"
                           r"第?\s*(?P<n>\d+)\s*号",
    # "10 April 2023": day first without a leading zero, the month in full, the year in full.
    "date": rf"(?P<day>[1-9]|[12]\d|3[01]) (?P<month>{_MONTH}) (?P<year>(?:19|20)\d\d)",
    "date_loose": rf"(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTH}|{_MONTH_ABBR})\.?,?\s+\d{{2,4}}"
                  rf"|(?:{_MONTH}|{_MONTH_ABBR})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{2,4}}"
                  r"|\d{4}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{1,2}|\d{1,2}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{2,4})",
    # "2024年3月5日": Arabic numerals, the year in full, no leading zeros in month or day.
    "date_zh": r"(?P<year>(?:19|20)\d\d)年(?P<month>[1-9]|1[0-2])月(?P<day>[1-9]|[12]\d|3[01])日",
    "date_zh_loose": rf"[\d{_CN_DIGITS}]{{2,4}}\s*年\s*[\d{_CN_DIGITS}]{{1,3}}\s*月\s*[\d{_CN_DIGITS}]{{1,3}}\s*日",
    "month": _MONTH,
}

# Heading numbers within a body, by level: (level pattern with group n, how n is read).
NUMBERING: dict[str, tuple[str, ...]] = {
    # Implementing Rules on the Format of Official Documents, Article 19: 1. (1) a. (a)
    "en": (r"^(?P<n>\d+)\.(?:\s|$)", r"^\((?P<n>\d+)\)", r"^(?P<n>[a-z])\.(?:\s|$)", r"^\((?P<n>[a-z])\)"),
    # 党政机关公文处理工作条例 第九条（九）: 一、（一）1.（1）
    "zh": (rf"^(?P<n>[{_CN_DIGITS}百]+)、", rf"^（(?P<n>[{_CN_DIGITS}百]+)）", r"^(?P<n>\d+)[.．](?!\d)",
           r"^（(?P<n>\d+)）"),
}

_FRAGMENT = re.compile(r"\{([a-z_]+)\}")


def expand(pattern: str, extra: dict[str, str] | None = None) -> str:
    """``pattern`` with each ``{name}`` of GRAMMAR (or ``extra``) replaced by its regex.

    Braces holding anything but a lower-case name (``\\d{2,4}``) are left alone.

    Raises:
        KeyError: A ``{name}`` that is neither in GRAMMAR nor in ``extra``.
    """
    table = {**GRAMMAR, **(extra or {})}

    def sub(m: re.Match) -> str:
        name = m.group(1)
        if name not in table:
            raise KeyError(name)
        # Named groups may appear once per pattern: a fragment used inside another keeps its groups
        # only the first time.
        return f"(?:{table[name]})"

    return _FRAGMENT.sub(sub, pattern)


def numeral(text: str) -> int:
    """The value of a heading number: "3", "c" (3), "三" (3)."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    if len(text) == 1 and "a" <= text <= "z":
        return ord(text) - ord("a") + 1
    return chinese_numeral_to_int(text)


@dataclass(frozen=True)
class DocNumber:
    """A document number read from text: its series, year and sequence number."""

    series: str
    year: int
    n: int
    text: str

    @property
    def key(self) -> str:
        """Compared across spellings: series without spaces or dots, lower case; year in full; no zeros."""
        return number_key(self.series, self.year, self.n)


def number_key(series: str, year: int, n: int) -> str:
    series = re.sub(r"[\s.]", "", series).lower()
    if year < 100:
        year += 2000
    return f"{series}|{year}|{n}"


_LOOSE_EN = re.compile(GRAMMAR["doc_number_loose"])
_LOOSE_ZH = re.compile(GRAMMAR["doc_number_zh_loose"])


def find_numbers(text: str) -> list[tuple[DocNumber, tuple[int, int]]]:
    """Every document number in ``text`` (strict or loose, English or Chinese), with its span."""
    found = []
    for pattern in (_LOOSE_EN, _LOOSE_ZH):
        for m in pattern.finditer(text):
            number = DocNumber(m.group("series").strip(), int(m.group("year")), int(m.group("n")), m.group(0))
            found.append((number, m.span()))
    return sorted(found, key=lambda item: item[1])


def parse_number(text: str) -> DocNumber | None:
    """The document number that ``text`` is (whole), or None."""
    text = text.strip()
    for number, (start, end) in find_numbers(text):
        if start == 0 and end == len(text):
            return number
    return None


_DATE_EN = re.compile(GRAMMAR["date"])
_DATE_ZH = re.compile(GRAMMAR["date_zh"])
_ISO = re.compile(r"(?P<year>(?:19|20)\d\d)-(?P<month>\d{1,2})-(?P<day>\d{1,2})")


def parse_date(text: str) -> str | None:
    """An ISO date from the first strict English, Chinese or ISO date in ``text``, or None."""
    for pattern in (_DATE_EN, _DATE_ZH, _ISO):
        m = pattern.search(text)
        if m:
            month = m.group("month")
            month_no = MONTHS.index(month) + 1 if month in MONTHS else int(month)
            try:
                import datetime as dt

                return dt.date(int(m.group("year")), month_no, int(m.group("day"))).isoformat()
            except ValueError:
                return None
    return None
