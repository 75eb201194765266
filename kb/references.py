"""Exact references: "Article 12 of the meeting rules", "rule 3.2.1", "第十二条".

A reference is a (kind, number) key. Queries and chunk section paths are
parsed the same way, so a named unit can be looked up directly.
"""

from __future__ import annotations

import re

from kb.grammar import chinese_numeral_to_int

Ref = tuple[str, str]

_KINDS = {
    "article": "article", "art": "article", "rule": "rule", "section": "section", "sec": "section",
    "clause": "clause", "paragraph": "paragraph", "para": "paragraph", "chapter": "chapter",
    "part": "part", "item": "item",
    "条": "article", "章": "chapter", "节": "section", "编": "part", "款": "clause",
}
# Rules, articles and sections share numbering schemes in practice ("rule 3.2.1" is
# printed as "3.2.1"), so they match each other; chapters and parts stand apart.
_UNIT = {"article": "unit", "rule": "unit", "section": "unit", "clause": "unit", "paragraph": "unit",
         "item": "unit", "chapter": "chapter", "part": "part"}

_NUM = r"(\d+(?:\.\d+)*|[ivxlcdm]+)\b\.?"
_EN = re.compile(r"\b(article|art\.?|rule|section|sec\.?|clause|paragraph|para\.?|chapter|part|item)\s+" + _NUM, re.I)
_CN = re.compile(r"第([零〇一二两三四五六七八九十百千\d]+)(条|章|节|编|款)")
# An item named after its article: 第九条第（十二）项, 第九条第十二项, 第十五条（四）.
_CN_ITEM = re.compile(r"\s*(?:第\s*[（(]([一二三四五六七八九十\d]{1,4})[)）]\s*项?|第([一二三四五六七八九十\d]{1,4})项"
                      r"|[（(]([一二三四五六七八九十]{1,4})[)）])")
_DOTTED = re.compile(r"(?<![\w.])(\d+(?:\.\d+)+)\.?(?![\w])")
_LEAD_DOTTED = re.compile(r"^\s*(\d+(?:\.\d+)*)(?:[.)\s]|$)")

_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}


def roman_to_int(text: str) -> int:
    """Roman numeral to int ("iv" -> 4)."""
    values = [_ROMAN[c] for c in text.lower()]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


def _number(raw: str) -> str:
    raw = raw.rstrip(".").lower()
    if raw.isdigit() or "." in raw:
        return ".".join(str(int(p)) for p in raw.split("."))
    return str(roman_to_int(raw))


def _kind(raw: str) -> str:
    return _UNIT[_KINDS[raw.lower().rstrip(".")]]


def parse_query_refs(query: str) -> list[tuple[Ref, tuple[int, int]]]:
    """The references a query names, each with its span in the query."""
    found: list[tuple[Ref, tuple[int, int]]] = []
    for m in _EN.finditer(query):
        found.append(((_kind(m.group(1)), _number(m.group(2))), m.span()))
    for m in _CN.finditer(query):
        end = m.end()
        item = _CN_ITEM.match(query, end) if m.group(2) == "条" else None
        found.append(((_UNIT[_KINDS[m.group(2)]], str(chinese_numeral_to_int(m.group(1)))), (m.start(), item.end() if item else end)))
    taken = [span for _, span in found]
    for m in _DOTTED.finditer(query):
        if not any(a <= m.start() < b for a, b in taken):
            found.append((("", _number(m.group(1))), m.span()))
    return found


def query_item(query: str) -> str | None:
    """The item marker a query names after an article, as the text prints it: "（十二）" for
    第九条第（十二）项, 第九条第十二项 or 第九条（十二）; None when it names none."""
    for m in _CN.finditer(query):
        item = _CN_ITEM.match(query, m.end()) if m.group(2) == "条" else None
        if item:
            number = next(g for g in item.groups() if g)
            if number.isdigit():
                number = int_to_chinese(int(number))
            return f"（{number}）"
    return None


def int_to_chinese(n: int) -> str:
    """1..99 as a Chinese numeral, as item markers print them (12 -> 十二, 20 -> 二十)."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


def label_refs(label: str) -> list[Ref]:
    """The keys of one section-path component or heading line ("Article 12 Notices")."""
    label = label.strip().strip("*#").strip()
    m = _EN.match(label)
    if m:
        return [(_kind(m.group(1)), _number(m.group(2)))]
    m = _CN.match(label)
    if m:
        return [(_UNIT[_KINDS[m.group(2)]], str(chinese_numeral_to_int(m.group(1))))]
    m = _LEAD_DOTTED.match(label)
    if m:
        return [("", _number(m.group(1)))]
    return []


def matches(query_ref: Ref, chunk_ref: Ref) -> bool:
    """Same number, and the same kind unless either kind is unknown (a bare number)."""
    (qk, qn), (ck, cn) = query_ref, chunk_ref
    return qn == cn and (qk == ck or not qk or not ck)


def chunk_refs(section: str, text: str) -> list[tuple[Ref, int]]:
    """Keys under which a chunk is found, with strength 2 (the unit itself) or 1 (inside it).

    The last section component and headings at line starts inside the chunk
    (merged units) are strength 2; ancestors are strength 1.
    """
    parts = [p for p in section.split(" > ") if p.strip()]
    out: list[tuple[Ref, int]] = []
    for i, part in enumerate(parts):
        strength = 2 if i == len(parts) - 1 else 1
        out.extend((ref, strength) for ref in label_refs(part))
    for line in text.split("\n"):
        m = _EN.match(line.strip()) or _CN.match(line.strip())
        if m:
            out.extend((ref, 2) for ref in label_refs(line))
    return out
