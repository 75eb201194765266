"""The office's grammar, in one place: headings, numbering, document numbers, dates.

The chunker splits documents along these headings, the search reads
references with the same numerals, the answerer knows a heading line, a list
item and the decisions of minutes by them, and the draft checker's rule files
name the written forms of document numbers and dates (``{doc_number}``); none
keeps a copy of its own.

A heading is recognised on its line alone (``detect_heading``):

* Markdown ``#`` .. ``######`` (``**bold**`` markers are dropped);
* English ``Part``/``Chapter``/``Section``/``Article``/``Rule`` + Arabic or Roman
  number; numbered clauses ``1.``, ``1.1``, ``1.1.2``; ``(a)``, ``(iv)``, ``(1)``;
* Chinese ``第…编/章/节/条``, ``一、``, ``（一）``;
* minutes: ``Agenda item 1``, ``议题一``, ``Decisions``, ``Decision 3``, ``决定``,
  ``Action items``, ``督办事项`` ...

Each heading has a rank (outermost first; see ingest.chunkers for how ranks nest).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.errors import KbError

# ---------------------------------------------------------------- numerals

_CN_DIGIT = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000, "万": 10_000}
_CN_CHARS = "".join(_CN_DIGIT) + "".join(_CN_UNIT)


def chinese_numeral_to_int(s: str) -> int:
    """The value of a Chinese numeral (十二 -> 12, 一百零五 -> 105) or of Arabic digits.

    Digit-by-digit forms such as 二〇二四 read as 2024.

    Raises:
        KbError: ``s`` is empty or holds other characters.
    """
    s = s.strip()
    if s.isdigit():
        return int(s)
    if not s or any(ch not in _CN_CHARS for ch in s):
        raise KbError(f"not a Chinese numeral: {s!r}")
    if not any(ch in _CN_UNIT for ch in s):
        if len(s) == 1:
            return _CN_DIGIT[s]
        return int("".join(str(_CN_DIGIT[ch]) for ch in s))
    total = section = digit = 0
    for ch in s:
        if ch in _CN_DIGIT:
            digit = _CN_DIGIT[ch]
        elif ch == "万":
            total += (section + digit) * 10_000
            section = digit = 0
        else:
            # A bare unit counts one of itself: 十二 is 12, not 2.
            section += (digit or 1) * _CN_UNIT[ch]
            digit = 0
    return total + section + digit


_ROMAN_RE = re.compile(r"M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})")


def _is_roman(token: str) -> bool:
    upper = token.upper()
    return bool(token) and (token.isupper() or token.islower()) and bool(
        _ROMAN_RE.fullmatch(upper)
    )


# ---------------------------------------------------------------- headings

PART, CHAPTER, CN_ITEM, SECTION, ARTICLE = 10, 20, 25, 30, 40
SUB_ITEM = 45  # Decision N, Action N
CLAUSE_LEVEL = 45  # from here on, headings stay inside a parent that fits
CN_ITEM_IN_ARTICLE = 55
LETTER, PAREN_NUM, UPPER_LETTER, ROMAN = 60, 68, 69, 70

_CN_NUM = f"[{_CN_CHARS}]+"
_MD_RE = re.compile(r"(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_CN_DIVISION_RE = re.compile(rf"第\s*({_CN_NUM}|\d{{1,4}})\s*([编章节条])")
_CN_DIVISION_RANK = {"编": PART, "章": CHAPTER, "节": SECTION, "条": ARTICLE}
_CN_AGENDA_RE = re.compile(rf"议题\s*({_CN_NUM}|\d{{1,3}})")
_CN_GROUP_RE = re.compile(
    r"(会议决定|会议决议|决定事项|决议事项|议定事项|决定|决议|督办事项|任务分工|"
    r"行动项|待办事项|落实事项)\s*(?:[:：]|$)"
)
_CN_ITEM_RE = re.compile(rf"({_CN_NUM})、")
_CN_PAREN_RE = re.compile(rf"[（(]\s*({_CN_NUM})\s*[）)]")
# After 第十二条 in running text ("第十二条的规定", "第十二条第二款") rather than a heading.
_CN_RUNNING = ("的", "之", "规定", "所", "中", "和", "及", "或", "与", "至", "到",
               "、", "，", ",", "第", "款", "项", "。", "；", "以")
_EN_DIVISION_RE = re.compile(
    r"(?i:(part|chapter|section|article|rule))\s+"
    r"(\d{1,4}(?:\.\d{1,3})*(?:bis|ter|[a-z])?|[IVXLC]{1,8})(?![\w.]*\w)"
)
_EN_DIVISION_RANK = {
    "part": PART, "chapter": CHAPTER, "section": SECTION,
    "article": ARTICLE, "rule": ARTICLE,
}
_EN_ITEM_RE = re.compile(
    r"(?i:(agenda\s+item|action\s+item|action\s+point|item|decision|resolution|action))"
    r"\s+(\d{1,3}|[IVX]{1,6})(?!\w)"
)
_EN_GROUP_RE = re.compile(
    r"(?i:(decisions?|resolutions?|action\s+items?|action\s+points?|actions|"
    r"follow[- ]up\s+actions?|agreed\s+actions?))\s*(?:[:：]|$)"
)
_NUMBER_RE = re.compile(r"\d{1,3}(?:[.．]\d{1,3})*")
_SUB_RULE_RE = re.compile(r"\.\(\d{1,3}\)|\.Guidance(?:\.\d{1,3}\.?)?|\)")
_PAREN_RE = re.compile(r"[(（]\s*([A-Za-z]{1,5}|\d{1,3})\s*[)）]")
_SENTENCE_END = (".", "。", ";", "；")


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


@dataclass
class Heading:
    """One recognised heading line; rank None means a plain Markdown heading."""

    kind: str
    marker: str
    rank: int | None
    container: bool  # a lone one (nothing under it) is carried into the next chunk
    token: str = ""  # the letter or numeral of (x)-style items, the value of 一、 items
    md_level: int | None = None
    label: str = ""
    titled: bool = True  # the line is a title, not a sentence of content
    start: int = 0
    line_end: int = 0


def _en_heading_follows(rest: str) -> bool:
    """Whether text after "Article 12" reads like a heading, not running text."""
    if not rest:
        return True
    if rest[0] in ".:：-–—":
        return True
    if rest[0].isspace():
        nxt = rest.lstrip()
        return not nxt or not (nxt[0].islower() or nxt[0] in ",;")
    return False


def _cn_heading_follows(rest: str) -> bool:
    return not rest or rest[0].isspace() or not rest.startswith(_CN_RUNNING)


def _match_marker(clean: str) -> Heading | None:
    """The structural marker at the start of a cleaned heading line, if any."""
    first = clean[:1]
    if first == "第":
        m = _CN_DIVISION_RE.match(clean)
        if m and _cn_heading_follows(clean[m.end():]):
            unit = m.group(2)
            return Heading(
                "article" if unit == "条" else "division",
                f"第{m.group(1)}{unit}", _CN_DIVISION_RANK[unit], unit != "条",
            )
        return None
    if first == "议":
        m = _CN_AGENDA_RE.match(clean)
        if m and _cn_heading_follows(clean[m.end():]):
            return Heading("agenda", f"议题{m.group(1)}", ARTICLE, True)
    if _is_cjk(first):
        m = _CN_GROUP_RE.match(clean)
        if m:
            return Heading("group", m.group(1), ARTICLE, True)
        m = _CN_ITEM_RE.match(clean)
        if m:
            return Heading("cn_item", m.group(0), CN_ITEM, True)
        return None
    if first in "(（":
        m = _CN_PAREN_RE.match(clean)
        if m:
            return Heading("cn_paren", m.group(0), LETTER, False)
        return _match_paren(clean)
    if first.isdigit():
        return _match_number(clean)
    if first.isalpha():
        m = _EN_DIVISION_RE.match(clean)
        if m and _en_heading_follows(clean[m.end():]):
            word, number = m.group(1).lower(), m.group(2)
            if number[0].isdigit() or _is_roman(number):
                depth = number.count(".")
                rank = _EN_DIVISION_RANK[word]
                if rank in (SECTION, ARTICLE):
                    rank += min(depth, 4)
                return Heading(
                    "article" if rank >= ARTICLE else "division",
                    f"{m.group(1)} {number}", rank, rank < ARTICLE,
                )
        m = _EN_ITEM_RE.match(clean)
        if m and _en_heading_follows(clean[m.end():]):
            word = " ".join(m.group(1).split())
            is_agenda = word.lower() in ("agenda item", "item")
            return Heading(
                "agenda" if is_agenda else "sub_item",
                f"{word} {m.group(2)}",
                ARTICLE if is_agenda else SUB_ITEM,
                is_agenda,
            )
        m = _EN_GROUP_RE.match(clean)
        if m:
            return Heading("group", " ".join(m.group(1).split()), ARTICLE, True)
    return None


def _match_number(clean: str) -> Heading | None:
    m = _NUMBER_RE.match(clean)
    if not m:
        return None
    number = m.group(0)
    rest = clean[m.end():]
    depth = number.count(".") + number.count("．") + 1
    sub = _SUB_RULE_RE.match(rest)
    if sub and (sub.end() == len(rest) or rest[sub.end()].isspace()):
        # Rulebook numbering below a rule: "4.1.1.(3)", "1.2.1.Guidance", "1.2.1.Guidance.1.", "92)".
        marker = number + sub.group(0).rstrip(".")
        return Heading("clause", marker, 50 + min(depth + (2 if sub.group(0).count(".") > 1 else 1), 9), False)
    punct = ""
    if rest[:1] == "、":
        punct, rest = "、", rest[1:]
    elif rest[:1] in (".", "．"):
        punct, rest = rest[0], rest[1:]
        if rest and not (rest[0].isspace() or _is_cjk(rest[0])):
            return None
    else:
        # "3.2 Scope" is a clause; "2.5 million" or a lone "3.5" is not.
        if depth < 2 or not rest or not rest[0].isspace():
            return None
        nxt = rest.lstrip()
        if not nxt or nxt[0].islower():
            return None
    body = rest.lstrip()
    chinese = bool(body) and _is_cjk(body[0])
    rank = (60 if chinese else 50) + min(depth, 6)
    marker = number + punct if depth == 1 else number
    return Heading("clause", marker, rank, False)


def _match_paren(clean: str) -> Heading | None:
    m = _PAREN_RE.match(clean)
    if not m:
        return None
    token = m.group(1)
    marker = m.group(0).replace(" ", "")
    if token.isdigit():
        return Heading("paren_num", marker, PAREN_NUM, False)
    if len(token) == 1 and token.lower() in "ivx":
        # (i) may be the letter after (h); _resolve decides from the open items.
        return Heading("roman?", marker, ROMAN, False, token=token)
    if len(token) == 1:
        rank = UPPER_LETTER if token.isupper() else LETTER
        return Heading("letter", marker, rank, False, token=token)
    if _is_roman(token) and token.lower().strip("ivx") == "":
        return Heading("roman", marker, ROMAN, False, token=token)
    return None


def _collapse(s: str) -> str:
    return " ".join(s.split())


def _label_for(clean: str, marker: str) -> str:
    s = _collapse(clean)
    # A full-width comma ("……发出，并包括下列内容：") marks a sentence, not a title.
    if len(s) <= 60 and not s.endswith(_SENTENCE_END + ("，", ",")) and "，" not in s:
        return s.rstrip(":：").rstrip() or marker
    return marker


# A line indented this deep continues the line above it (the second entry of an
# "Attachments: 1. ..." note, a wrapped list item), whatever it starts with.
_CONTINUATION_INDENT = 8


def detect_heading(line: str) -> Heading | None:
    """The heading on one line, without context from the rest of the document."""
    s = line.strip()
    if not s or len(line) - len(line.lstrip()) >= _CONTINUATION_INDENT:
        return None
    md_level = None
    m = _MD_RE.match(s) if s[0] == "#" else None
    if m:
        md_level, s = len(m.group(1)), m.group(2)
    clean = s.replace("**", "").strip()
    if not clean:
        return None
    heading = _match_marker(clean)
    if heading is None:
        if md_level is None:
            return None
        label = _collapse(clean).rstrip(":：").rstrip() or _collapse(clean)
        heading = Heading("heading", label, None, True)
        heading.label = label
    else:
        heading.label = _label_for(clean, heading.marker)
        if heading.kind == "article" and _collapse(clean).endswith((":", "：")):
            # "Article 31 The Reception Division is responsible for:" leads into its items: not a title.
            heading.label = heading.marker
        bare = _collapse(clean).rstrip(":：").rstrip()
        heading.titled = heading.label != heading.marker or bare == heading.marker
    heading.md_level = md_level
    return heading


def heading_label(line: str) -> str | None:
    """The section label a heading line gives ("Article 12", "第三章 会议"), or None.

    Judged on the line alone: a single ``(i)`` counts as a Roman numeral.
    """
    heading = detect_heading(line)
    return heading.label if heading else None


# ---------------------------------------------------------------- written forms
# Document numbers, dates and heading numbers as drafts write them (kb.check's rule files use
# them by name). Each form has a strict pattern (the form the rules require) and a loose one
# (anything a drafter might have written), so that a wrong form is found rather than overlooked.

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


# A Chinese number without its series, as minutes are numbered: "〔2023〕6号".
_BARE_ZH = re.compile(r"[\[(（〔【]\s*(?P<year>(?:19|20)\d\d)\s*[\])）〕】]\s*第?\s*(?P<n>\d+)\s*号")


def leading_number(line: str) -> str | None:
    """The document number a line opens with, as written ("Mer. Gov. Off. [2026] No. 3",
    "子府办发〔2026〕3号", "〔2026〕3号"), or None: the number line of a document's header,
    which may go on with the signer ("子府办发〔2025〕4号　签发人：周明")."""
    text = line.strip()
    for number, (start, _) in find_numbers(text):
        if start == 0:
            return number.text.strip()
    bare = _BARE_ZH.match(text)
    return bare.group(0) if bare else None


_DATE_ZH_LOOSE = re.compile(
    rf"(?P<year>[\d{_CN_DIGITS}]{{4}})\s*年\s*(?P<month>[\d{_CN_DIGITS}]{{1,3}})\s*月\s*(?P<day>[\d{_CN_DIGITS}]{{1,3}})\s*日")


def date_line(line: str) -> str | None:
    """The ISO date that ``line`` is, whole, or None: a signature's date line ("30 January 2026",
    "2026年1月30日", "二〇二六年一月三十日", "2026-01-30"), not a sentence that mentions a date."""
    import datetime as dt

    text = line.strip()
    chinese = _DATE_ZH_LOOSE.fullmatch(text)
    if chinese:
        try:
            return dt.date(*(numeral(chinese.group(g)) for g in ("year", "month", "day"))).isoformat()
        except (ValueError, KbError):
            return None
    if any(p.fullmatch(text) for p in (_DATE_EN, _ISO)):
        return parse_date(text)
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
