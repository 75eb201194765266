"""Where a quote may start and end: the sentences, list items and lists of a passage.

A passage is read as lines. A heading line is never quoted. A line that opens
with an item marker (``(1)``, ``(a)``, ``1.``, ``一、``, ``（一）``, ``-``) starts an
item, which runs to the next item or the end of the list; an item marker inside
a Chinese paragraph (``……程序是：（一）复核。……；（二）登记。……``) does the
same. The sentence that leads into a list (it ends with a colon) and the items
after it make a list. Other text is cut into sentences by pysbd, taught the
office's abbreviations ("Mer. Gov. Off. [2024] No. 9", "No.", "Art.", "para."),
or, in Chinese, at 。！？ (a ；inside an item does not end it).

A unit's text never starts with its section's label: "Article 21 The Meetings
Division sends ..." is quoted from "The Meetings Division", since the citation
names Article 21.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from kb.grammar import ARTICLE, detect_heading

_ITEM = re.compile(
    r"(?:[(（]\s*(?:[0-9]{1,3}|[a-zA-Z]|[ivxIVX]{1,5}|[一二三四五六七八九十]{1,3})\s*[)）]"  # (1) (a) (iv) （一）
    r"|[0-9]{1,2}[.)、](?=\s|[\u4e00-\u9fff])"  # 1. 1) 1、
    r"|[一二三四五六七八九十]{1,3}、"  # 一、
    r"|[-*•·]\s)"
)
_INLINE_CN_ITEM = re.compile(r"[（(][一二三四五六七八九十]{1,3}[）)]")
_CN_END = re.compile(r"(?<=[。！？])(?![”’」』）)])")
_WRAP = re.compile(r"(?<=\S)[ \t]*\r?\n(?=[ \t]*[^\s#>*\-•(（\d])")
_LEAD_IN = re.compile(r"[:：]\s*$")
_WORD = re.compile(r"\w+")
_MARKDOWN = re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s?)|\*\*|__|`")
MAX_LIST_CHARS = 900  # a list longer than this is quoted as its lead-in and its best items

_LOCAL = threading.local()  # pysbd's Segmenter keeps state while it segments: one per thread
_LANGUAGE_LOCK = threading.Lock()
OFFICE_ABBREVIATIONS = ("mer", "gov", "off", "para", "paras", "arts", "cf", "approx", "dept", "div", "ref",
                        "encl", "att", "tel", "ext", "govt", "sec", "cl", "sch")


@dataclass(frozen=True)
class Unit:
    """A quotable stretch of a passage: a sentence, an item, or a list (its lead-in and items).

    Attributes:
        start: Offset in the passage where the quote starts.
        end: Offset where it ends.
        kind: "sentence", "item" or "list".
        marker: The item marker ("(3)", "（四）") for an item; the first item's for a list.
        parts: For a list, the (start, end) of its lead-in and of each item; else ((start, end),).
    """

    start: int
    end: int
    kind: str
    marker: str = ""
    parts: tuple[tuple[int, int], ...] = ()


def _segmenter():
    """This thread's pysbd English segmenter, taught the office's abbreviations.

    pysbd is not safe to share: two threads segmenting with one Segmenter cut each
    other's text, so each thread has its own.
    """
    segmenter = getattr(_LOCAL, "segmenter", None)
    if segmenter is None:
        import pysbd
        from pysbd import languages
        from pysbd.lang.english import English

        with _LANGUAGE_LOCK:
            if "en-office" not in languages.LANGUAGE_CODES:

                class Office(English):
                    class Abbreviation(English.Abbreviation):
                        ABBREVIATIONS = [*English.Abbreviation.ABBREVIATIONS, *OFFICE_ABBREVIATIONS]
                        PREPOSITIVE_ABBREVIATIONS = [*English.Abbreviation.PREPOSITIVE_ABBREVIATIONS,
                                                     "mer", "gov", "off"]
                        NUMBER_ABBREVIATIONS = [*English.Abbreviation.NUMBER_ABBREVIATIONS,
                                                "para", "paras", "arts", "sec", "cl", "sch"]

                languages.LANGUAGE_CODES["en-office"] = Office
        segmenter = _LOCAL.segmenter = pysbd.Segmenter(language="en-office", clean=False, char_span=True)
    return segmenter


def _is_chinese(text: str) -> bool:
    cjk = sum("\u4e00" <= ch <= "\u9fff" for ch in text)
    return cjk > 0.3 * max(1, len(text.strip()))


def _strip(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of the sentences of ``text[start:end]``, as offsets into ``text``."""
    end = len(text) if end is None else end
    piece = text[start:end]
    if not piece.strip():
        return []
    if _is_chinese(piece):
        bounds = [m.start() for m in _CN_END.finditer(piece)]
        spans, prev = [], 0
        for b in [*bounds, len(piece)]:
            spans.append((prev, b))
            prev = b
    else:
        # pysbd ends a sentence at every line break. A single break between two lines of text is
        # a wrapped line (a PDF's) and is read as a space (same length, same offsets); a blank
        # line, a heading or an item marker on the next line still ends the sentence.
        flat = _WRAP.sub(lambda m: " " * len(m.group()), piece)
        spans = [(s.start, s.end) for s in _segmenter().segment(flat)]
    out = []
    for a, b in spans:
        a, b = _strip(text, start + a, start + b)
        if b > a:
            out.append((a, b))
    return out


def _heading_line(line: str, labels: set[str]) -> bool:
    bare = " ".join(line.replace("**", "").split()).lstrip("#").strip()
    if not bare:
        return False
    if line.lstrip().startswith("#") or bare.rstrip(":：") in labels:
        return True
    heading = detect_heading(line)
    return heading is not None and heading.label == bare.rstrip(":：") and len(bare) <= 60 \
        and not _ITEM.match(bare) and not bare.endswith((".", "。", ";", "；"))


def _label_prefix(text: str, a: int, b: int, labels: set[str]) -> int:
    """Where a unit's own words begin: after a leading section label or article marker
    ("Article 21", "第十五条"), which the citation names instead."""
    head = text[a:b]
    heading = detect_heading(head.split("\n", 1)[0])
    marks = set(labels)
    if heading is not None and heading.rank is not None and heading.rank <= ARTICLE + 4:
        marks.add(heading.marker)
    for label in sorted(marks, key=len, reverse=True):
        if head.startswith(label) and len(head) > len(label) and not head[len(label)].isalnum():
            rest = a + len(label)
            while rest < b and text[rest] in " \t:：.-–—":
                rest += 1
            return rest
    return a


def _labels(section: str) -> set[str]:
    """The labels of a section path, whole and as their marker ("Article 21", "第十五条")."""
    labels = {p.strip() for p in section.split(" > ") if p.strip()}
    labels |= {label.split(" ", 1)[0] + " " + label.split(" ", 2)[1] for label in list(labels)
               if label.split(" ", 1)[0] in ("Article", "Rule", "Section", "Chapter", "Part") and label.count(" ") >= 1}
    labels |= {m.group(0) for label in list(labels) for m in [re.match(r"第[一二三四五六七八九十百零〇\d]+[条章节]", label)] if m}
    return labels


def without_headings(text: str, section: str = "") -> str:
    """``text`` without its heading lines (a card names the section above the passage)."""
    labels = _labels(section)
    return "".join(line for line in text.splitlines(keepends=True) if not _heading_line(line, labels))


def units(text: str, section: str = "") -> list[Unit]:
    """The quotable units of a passage, in order (see the module docstring)."""
    labels = _labels(section)
    lines, pos = [], 0
    for line in text.splitlines(keepends=True):
        lines.append((pos, pos + len(line), line))
        pos += len(line)
    blocks: list[tuple[str, int, int]] = []  # ("heading"|"item"|"prose", start, end)
    for a, b, line in lines:
        if not line.strip():
            blocks.append(("blank", a, b))
        elif _heading_line(line, labels):
            blocks.append(("heading", a, b))
        elif _ITEM.match(line.lstrip()) and len(line) - len(line.lstrip()) < 8:
            blocks.append(("item", a, b))
        elif blocks and blocks[-1][0] in ("prose", "item") and _continues(text, blocks[-1], line):
            kind, s, _ = blocks[-1]
            blocks[-1] = (kind, s, b)  # a wrapped line continues its paragraph or item
        else:
            blocks.append(("prose", a, b))
    out: list[Unit] = []
    i = 0
    while i < len(blocks):
        kind, a, b = blocks[i]
        if kind in ("blank", "heading"):
            i += 1
            continue
        if kind == "prose":
            sentences = split_sentences(text, a, b)
            inline = _inline_items(text, a, b) if _is_chinese(text[a:b]) else []
            if inline:
                out.append(_list_unit(text, inline[0], inline[1:], labels))
                out.extend(inline[1:] and [Unit(s, e, "item", _marker(text, s), ((s, e),)) for s, e in inline[1:]])
                i += 1
                continue
            items = []
            j = i + 1
            while j < len(blocks) and blocks[j][0] == "item":
                items.append(_strip(text, blocks[j][1], blocks[j][2]))
                j += 1
            if items and sentences and _LEAD_IN.search(text[sentences[-1][0]:sentences[-1][1]]):
                for s, e in sentences[:-1]:
                    out.append(_sentence(text, s, e, labels, followed=True))
                out.append(_list_unit(text, sentences[-1], items, labels))
                out.extend(Unit(s, e, "item", _marker(text, s), ((s, e),)) for s, e in items)
                i = j
                continue
            out.extend(_sentence(text, s, e, labels, followed=n + 1 < len(sentences))
                       for n, (s, e) in enumerate(sentences))
            i += 1
            continue
        # Items with no lead-in: each stands alone.
        s, e = _strip(text, a, b)
        out.append(Unit(s, e, "item", _marker(text, s), ((s, e),)))
        i += 1
    return [u for u in out if u.end > u.start]


def _continues(text: str, block: tuple[str, int, int], line: str) -> bool:
    """Whether ``line`` wraps the block above (PDF text breaks lines mid-sentence) rather than follows it."""
    kind, _, end = block
    if kind == "prose":
        return True
    ended = text[:end].rstrip().endswith((".", ";", "。", "；", ":", "："))
    return not ended or line.lstrip()[:1].islower()


def _marker(text: str, start: int) -> str:
    m = _ITEM.match(text, start)
    return m.group(0).strip() if m else ""


def _sentence(text: str, a: int, b: int, labels: set[str], followed: bool = False) -> Unit:
    start = _label_prefix(text, a, b, labels)
    if followed and start > a and _is_title(text[start:b]):
        return Unit(start, start, "sentence")  # "Article 31 Printing office and printing date." names, not says
    return Unit(start, b, "sentence", "", ((start, b),))


_FINITE = frozenset("is are was were be shall may must will can cannot has have does do should need needs".split())


def _is_title(sentence: str) -> bool:
    """A short caption after an article's number ("Printing office and printing date."): no figure, no verb."""
    words = [w.lower() for w in _WORD.findall(sentence)]
    return len(words) <= 8 and not re.search(r"\d", sentence) and sentence.endswith(".") and not _FINITE & set(words)


def _inline_items(text: str, a: int, b: int) -> list[tuple[int, int]]:
    """A Chinese paragraph with two or more inline items: [lead-in, item, item, ...], or []."""
    marks = [m.start() for m in _INLINE_CN_ITEM.finditer(text, a, b)]
    if len(marks) < 2:
        return []
    spans = [_strip(text, a, marks[0])]
    for s, e in zip(marks, [*marks[1:], b]):
        spans.append(_strip(text, s, e))
    return spans


def _list_unit(text: str, lead: tuple[int, int], items: list[tuple[int, int]], labels: set[str]) -> Unit:
    lead_start = _label_prefix(text, lead[0], lead[1], labels)
    parts = ((lead_start, lead[1]), *items) if lead[1] > lead_start else tuple(items)
    return Unit(parts[0][0], items[-1][1], "list", _marker(text, items[0][0]) if items else "", parts)


def clean(text: str) -> str:
    """Quoted text for display: Markdown markers gone, line breaks and runs of spaces made one space."""
    lines = [_MARKDOWN.sub("", line) for line in text.splitlines()]
    return " ".join(" ".join(lines).split())


def words(text: str) -> int:
    return len(_WORD.findall(text))
