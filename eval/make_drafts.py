"""Generate eval/drafts: ten clean drafts and fifty flawed ones, each fault known, for `kb eval drafts`.

Each source in eval/draft_sources/ is a clean draft written line by line with
a tag naming the element of each line::

    @copy @security @urgency @mark @number @signer @title @recipients
    @h1 (first-level heading) @item (second-level item)  (untagged: body text)
    @note @note+ (attachment note and its continuation lines)
    @signature @date @contact @annotation
    @page @pagetitle @pagebody (attachments bound with the draft)
    @copyto @printing (the document record)

The source is rendered as Markdown, plain text or .docx (A4, the format rules'
margins, Times New Roman 16 pt on a 28 pt line), once clean and five times
with one to four planted faults, each from a different rule family. A fault
knows which rule it breaks and where, so the expected findings are written
beside each draft in manifest.json, with the line (or .docx paragraph) of
each finding where the fault has one.

Deterministic: the same seed gives the same files, byte for byte.

Usage::

    python eval/make_drafts.py                 # write eval/drafts
    python eval/make_drafts.py --check         # exit 1 if eval/drafts differs from what the script makes
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import random
import re
import sys
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb.check.rules import load_rules  # noqa: E402  (needs ROOT on the path)

SOURCES = ROOT / "eval" / "draft_sources"
OUT = ROOT / "eval" / "drafts"
SEED = 12
PER_SOURCE = 5

# name: (format, kind, language)
DRAFTS = {
    "en-notice": ("md", "notice", "en"),
    "en-request": ("docx", "request", "en"),
    "en-report": ("txt", "report", "en"),
    "en-reply": ("md", "reply", "en"),
    "en-letter": ("txt", "letter", "en"),
    "en-circular": ("docx", "circular", "en"),
    "zh-notice": ("txt", "notice", "zh"),
    "zh-request": ("docx", "request", "zh"),
    "zh-report": ("md", "report", "zh"),
    "zh-letter": ("txt", "letter", "zh"),
}
A4_LAYOUT = {"width": 210.0, "height": 297.0, "top": 37.0, "bottom": 35.0, "left": 28.0, "right": 26.0,
             "font": "Times New Roman", "size": 16.0, "spacing": 28.0}


@dataclass
class SLine:
    role: str
    text: str


@dataclass
class Source:
    name: str
    fmt: str
    kind: str
    lang: str
    lines: list[SLine]
    layout: dict = field(default_factory=lambda: dict(A4_LAYOUT))

    def find(self, role: str) -> list[SLine]:
        return [ln for ln in self.lines if ln.role == role]

    def one(self, role: str) -> SLine | None:
        found = self.find(role)
        return found[0] if found else None

    def body(self) -> list[SLine]:
        return [ln for ln in self.lines if ln.role in ("body", "item", "h1")]

    def plain_body(self) -> list[SLine]:
        return [ln for ln in self.lines if ln.role == "body"]

    def remove(self, line: SLine) -> None:
        self.lines.remove(line)

    def insert_before(self, anchor: SLine, line: SLine) -> None:
        self.lines.insert(self.lines.index(anchor), line)

    def insert_after(self, anchor: SLine, line: SLine) -> None:
        self.lines.insert(self.lines.index(anchor) + 1, line)


def read_source(path: Path) -> Source:
    fmt, kind, lang = DRAFTS[path.stem]
    lines = []
    for raw in path.read_text(encoding="utf-8").split("\n"):
        if not raw.strip() or raw.startswith("# "):
            continue
        m = re.match(r"@(\S+)\s+(.*)$", raw)
        lines.append(SLine(m.group(1), m.group(2)) if m else SLine("body", raw))
    return Source(path.stem, fmt, kind, lang, lines)


# --- faults ----------------------------------------------------------------------------------------------

Expected = list[tuple[str, "SLine | None"]]


@dataclass(frozen=True)
class Fault:
    """A fault to plant: the family of the rule it breaks, where it applies, what it touches, and how."""

    name: str
    family: str
    plant: Callable[[Source, random.Random], Expected | None]  # None: does not apply to this source
    langs: tuple[str, ...] = ("en", "zh")
    kinds: tuple[str, ...] | None = None
    formats: tuple[str, ...] | None = None
    touches: tuple[str, ...] = ()
    needs_kind: bool = False  # its rule applies to some kinds only
    hides_kind: bool = False  # the title no longer names the kind


def _drop(role: str, rule: str) -> Callable[[Source, random.Random], Expected | None]:
    def plant(src: Source, rng: random.Random) -> Expected | None:
        lines = src.find(role)
        if not lines:
            return None
        for line in lines:
            src.remove(line)
        return [(rule, None)]
    return plant


def _swap(first: str, second: str, rule: str, at: str) -> Callable[[Source, random.Random], Expected | None]:
    def plant(src: Source, rng: random.Random) -> Expected | None:
        a, b = src.one(first), src.one(second)
        if a is None or b is None:
            return None
        i, j = src.lines.index(a), src.lines.index(b)
        src.lines[i], src.lines[j] = b, a
        return [(rule, b if at == second else a)]
    return plant


def _edit(role: str, rule: str, change: Callable[[str, random.Random], str | None]):
    def plant(src: Source, rng: random.Random) -> Expected | None:
        line = src.one(role)
        if line is None:
            return None
        new = change(line.text, rng)
        if new is None or new == line.text:
            return None
        line.text = new
        return [(rule, line)]
    return plant


def _sub(pattern: str, repl: str) -> Callable[[str, random.Random], str | None]:
    def change(text: str, rng: random.Random) -> str | None:
        new = re.sub(pattern, repl, text, count=1)
        return new if new != text else None
    return change


def _append_sentence(rule: str, sentence: dict[str, str], avoid: str = r"$^"):
    """Add a sentence to a plain body paragraph (one without ``avoid``)."""
    def plant(src: Source, rng: random.Random) -> Expected | None:
        candidates = [ln for ln in src.plain_body() if not re.search(avoid, ln.text)]
        if not candidates:
            return None
        line = rng.choice(candidates)
        options = sentence[src.lang]
        line.text = line.text.rstrip() + (rng.choice(options) if isinstance(options, tuple) else options)
        return [(rule, line)]
    return plant


def _insert_paragraph(rule: str, text: dict[str, str], before_last_body: bool = True):
    def plant(src: Source, rng: random.Random) -> Expected | None:
        body = src.plain_body()
        if not body:
            return None
        line = SLine("body", text[src.lang])
        src.insert_before(body[-1], line)
        return [(rule, line)]
    return plant


# Elements ------------------------------------------------------------------------------

def _add_recipient(src: Source, rng: random.Random) -> Expected | None:
    line = src.one("recipients")
    if line is None:
        return None
    line.text = line.text.rstrip(":：") + ("; Municipal Finance Bureau:" if src.lang == "en" else "，子午市财政局：")
    return [("recipients-one", line)]


def _strip_full_stop(src: Source, rng: random.Random) -> Expected | None:
    line = src.one("copyto")
    if line is None or not line.text.endswith(".") or src.lang != "en":
        return None
    line.text = line.text[:-1]
    return [("copy-to-full-stop", line)]


# Number ---------------------------------------------------------------------------------

def _number_year_mismatch(src: Source, rng: random.Random) -> Expected | None:
    line = src.one("number")
    if line is None or src.one("date") is None:
        return None
    m = re.search(r"(20\d\d)", line.text)
    line.text = line.text[:m.start()] + str(int(m.group(1)) - 1) + line.text[m.end():]
    return [("number-year-matches-date", line)]


# Title ------------------------------------------------------------------------------------

_EN_KIND = r"^(Notice|Request for Instructions|Report|Circular|Reply|Letter)\b"


def _title_invalid_kind(src: Source, rng: random.Random) -> Expected | None:
    line = src.one("title")
    if src.lang == "en":
        new = re.sub(_EN_KIND, "Memorandum", line.text, count=1)
        expected = ["title-kind", "title-issuer"]
    else:
        new = re.sub(r"的(通知|请示|报告|函)$", r"的\1书", line.text)
        expected = ["title-kind", "title-form"]
    if new == line.text:
        return None
    line.text = new
    return [(rule, line) for rule in expected]


def _title_no_issuer(src: Source, rng: random.Random) -> Expected | None:
    line = src.one("title")
    new = re.sub(r"^((?:Notice|Request for Instructions|Report|Circular|Reply|Letter)) of .+? (on|concerning) ",
                 r"\1 \2 ", line.text, count=1)
    if new == line.text:
        return None
    line.text = new
    return [("title-issuer", line)]


# Attachments --------------------------------------------------------------------------------

def _note_items(src: Source) -> list[SLine]:
    return src.find("note") + src.find("note+")


def _drop_note(src: Source, rng: random.Random) -> Expected | None:
    notes = _note_items(src)
    if not notes or not _refs(src):
        return None
    for line in notes:
        src.remove(line)
    return [("attachment-note-present", None)]


def _refs(src: Source) -> list[tuple[SLine, str]]:
    pattern = r"\bAttachment (\d+)\b" if src.lang == "en" else r"附件\s*(\d+)"
    return [(ln, m.group(1)) for ln in src.body() for m in re.finditer(pattern, ln.text)]


def _note_label(src: Source, rng: random.Random) -> Expected | None:
    notes = _note_items(src)
    if src.lang != "en" or not notes:
        return None
    first = notes[0]
    if len(notes) >= 2:
        first.text = first.text.replace("Attachments:", "Attachment:", 1)
        return [("attachment-note-several", first)]
    first.text = first.text.replace("Attachment:", "Attachments:", 1)
    return [("attachment-note-single", first)]


def _name_punctuation(src: Source, rng: random.Random) -> Expected | None:
    notes = _note_items(src)
    if not notes:
        return None
    line = rng.choice(notes)
    line.text += "." if src.lang == "en" else "。"
    return [("attachment-name-punctuation", line)]


def _page_title(src: Source, rng: random.Random) -> Expected | None:
    pages, titles = src.find("page"), src.find("pagetitle")
    if not pages or not _note_items(src):
        return None
    k = rng.randrange(len(titles))
    titles[k].text += " (Draft)" if src.lang == "en" else "（草案）"
    return [("attachments-match-note", pages[k])]


def _note_drops_item(src: Source, rng: random.Random) -> Expected | None:
    notes = _note_items(src)
    if len(notes) != 2:
        return None
    first, second = notes
    if not src.find("page") and not any(n == "2" for _, n in _refs(src)):
        return None
    src.remove(second)
    if src.lang == "en":
        first.text = re.sub(r"^Attachments:\s*1\.\s*", "Attachment: ", first.text)
    else:
        first.text = re.sub(r"^附件：\s*1[.．]\s*", "附件：", first.text)
    expected: Expected = []
    if src.find("page"):
        expected.append(("attachments-match-note", first))
    ref = next((ln for ln, n in _refs(src) if n == "2"), None)
    if ref is not None:
        expected.append(("attachment-refs-in-note", ref))
    return expected


def _unknown_ref(src: Source, rng: random.Random) -> Expected | None:
    if not _note_items(src):
        return None
    return _append_sentence("attachment-refs-in-note", {
        "en": " The figures are set out in Attachment 3.", "zh": "有关数据见附件3。"})(src, rng)


# Dates ---------------------------------------------------------------------------------------

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_CN = "〇一二三四五六七八九"


def _date_form(src: Source, rng: random.Random) -> Expected | None:
    line = src.one("date")
    if line is None:
        return None
    if src.lang == "en":
        day, month, year = line.text.split()
        m = _MONTHS.index(month) + 1
        suffix = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}.get(int(day), "th")
        forms = [f"{year}-{m:02d}-{int(day):02d}", f"{month} {day}, {year}", f"{int(day):02d}/{m:02d}/{year}",
                 f"{day}{suffix} {month} {year}", f"{day} {month[:3]}. {year}"]
        if int(day) < 10:
            forms.append(f"0{day} {month} {year}")
    else:
        y, mo, d = map(int, re.match(r"(\d+)年(\d+)月(\d+)日", line.text).groups())
        cn = "".join(_CN[int(c)] for c in str(y))
        forms = [f"{y}年{mo:02d}月{d:02d}日", f"{cn}年{_cn_number(mo)}月{_cn_number(d)}日"]
    line.text = rng.choice(forms)
    return [("date-of-issue-form", line)]


def _cn_number(n: int) -> str:
    if n < 10:
        return _CN[n]
    tens, units = divmod(n, 10)
    return ("" if tens == 1 else _CN[tens]) + "十" + (_CN[units] if units else "")


def _printing_date(src: Source, rng: random.Random) -> Expected | None:
    line = src.one("printing")
    if line is None:
        return None
    if src.lang == "en":
        m = re.search(r"Printed on (\d+) (\w+) (\d{4})$", line.text)
        day, month, year = m.groups()
        line.text = line.text[:m.start()] + f"Printed on {year}-{_MONTHS.index(month) + 1:02d}-{int(day):02d}"
    else:
        line.text = re.sub(r"(\d{4})年(\d+)月(\d+)日印发$",
                           lambda m: f"{m.group(1)}年{int(m.group(2)):02d}月{int(m.group(3)):02d}日印发", line.text)
    return [("printing-date-form", line)]


def _time_12h(src: Source, rng: random.Random) -> Expected | None:
    candidates = [(ln, m) for ln in src.body() for m in re.finditer(r"\b(1[3-9]|2[0-3]):00\b", ln.text)]
    if not candidates or src.lang != "en":
        return None
    line, m = rng.choice(candidates)
    hour = int(m.group(1)) - 12
    line.text = line.text[:m.start()] + rng.choice((f"{hour} p.m.", f"{hour}pm", f"{hour} PM", f"{hour}:00 p.m.")) + line.text[m.end():]
    return [("time-24-hour", line)]


def _thousands(src: Source, rng: random.Random) -> Expected | None:
    if src.lang != "en":
        return None
    for line in src.body():
        m = re.search(r"\b(\d{1,3}(?:,\d{3})+)(?= (?:yuan|visitors|pages))", line.text)
        if m:
            line.text = line.text[:m.start()] + m.group(1).replace(",", "") + line.text[m.end():]
            return [("thousands-separator", line)]
    return _append_sentence("thousands-separator", {"en": " The files concerned run to 2400 pages."})(src, rng)


# Marks -----------------------------------------------------------------------------------------

def _marks(src: Source, copy_text: str | None, security: str | None, urgency: str | None,
           drop_copy: bool = False) -> dict[str, SLine | None]:
    """Set the marks at the top: replace the existing ones or insert them above the mark."""
    anchor = src.lines[0]
    out: dict[str, SLine | None] = {}
    for role, text in (("copy", copy_text), ("security", security), ("urgency", urgency)):
        line = src.one(role)
        if role == "copy" and drop_copy:
            if line is not None:
                src.remove(line)
            out[role] = None
            continue
        if text is None:
            out[role] = line
            continue
        if line is not None:
            line.text = text
        else:
            line = SLine(role, text)
            anchor_now = next((ln for ln in src.lines if ln.role not in ("copy", "security", "urgency")), anchor)
            src.insert_before(anchor_now, line)
        out[role] = line
    return out


def _bad_urgency(src: Source, rng: random.Random) -> Expected | None:
    marks = _marks(src, None, None, rng.choice(("Very Urgent", "Most Urgent", "Immediate")) if src.lang == "en"
                   else rng.choice(("紧急", "急件")))
    return [("urgency-value", marks["urgency"])]


def _bad_security_level(src: Source, rng: random.Random) -> Expected | None:
    has = src.one("copy") is not None
    level = rng.choice(("Restricted ★ 5 years", "Internal ★ 2 years")) if src.lang == "en" else rng.choice(("内部★1年", "保密★1年"))
    marks = _marks(src, None if has else "000031", level, None)
    return [("security-level", marks["security"])]


def _security_no_period(src: Source, rng: random.Random) -> Expected | None:
    has = src.one("copy") is not None
    marks = _marks(src, None if has else "000031", "Secret" if src.lang == "en" else "机密", None)
    return [("security-period", marks["security"])]


def _security_no_copy(src: Source, rng: random.Random) -> Expected | None:
    _marks(src, None, "Confidential ★ 5 years" if src.lang == "en" else "秘密★5年", None, drop_copy=True)
    return [("copy-number-for-classified", None)]


def _copy_short(src: Source, rng: random.Random) -> Expected | None:
    has = src.one("security") is not None
    marks = _marks(src, "31", None if has else ("Secret ★ 10 years" if src.lang == "en" else "机密★10年"), None)
    return [("copy-number-form", marks["copy"])]


def _marks_order(src: Source, rng: random.Random) -> Expected | None:
    urgent = "Urgent" if src.lang == "en" else "加急"
    if src.one("urgency") is None:
        marks = _marks(src, "000031", "Secret ★ 10 years" if src.lang == "en" else "机密★10年", urgent)
    else:
        marks = _marks(src, None, None, None)
    line = marks["urgency"]
    src.remove(line)
    src.lines.insert(0, line)
    return [("marks-order", line)]


# Headings -----------------------------------------------------------------------------------

def _heading_number(src: Source, rng: random.Random) -> Expected | None:
    heads = src.find("h1")
    if len(heads) < 3:
        return None
    last = heads[-1]
    step = rng.choice((1, -1))
    if src.lang == "en":
        n = int(re.match(r"(\d+)\.", last.text).group(1))
        last.text = re.sub(r"^\d+\.", f"{n + step}.", last.text)
    else:
        order = "一二三四五六七八九十"
        n = order.index(last.text[0]) + 1
        last.text = order[n + step - 1] + last.text[1:]
    return [("heading-numbering", last)]


def _heading_level_skip(src: Source, rng: random.Random) -> Expected | None:
    candidates = [src.lines[i + 1] for i, ln in enumerate(src.lines[:-1])
                  if ln.role == "h1" and src.lines[i + 1].role == "body" and not src.lines[i + 1].text[0].isdigit()]
    if not candidates:
        return None
    line = rng.choice(candidates)
    line.text = ("a. " if src.lang == "en" else "1.") + line.text
    return [("heading-numbering", line)]


# Citations ------------------------------------------------------------------------------------

_CITATION = re.compile(r"(?:the )?((?:Rules|Implementing Rules) on [A-Z][^()]*?) \((Mer\. Gov\. Off\. \[\d{4}\] No\. \d+)\)")
_OTHER_TITLES = ["Rules on Meeting Management of the Municipal Government", "Rules on the Management of Official Seals"]


def _citations(src: Source) -> list[tuple[SLine, re.Match]]:
    return [(ln, m) for ln in src.body() for m in _CITATION.finditer(ln.text)]


def _cite_number_only(src: Source, rng: random.Random) -> Expected | None:
    found = _citations(src)
    if not found:
        return None
    line, m = rng.choice(found)
    line.text = line.text[:m.start()] + m.group(2) + line.text[m.end():]
    return [("citation-titled", line)]


def _cite_wrong_title(src: Source, rng: random.Random) -> Expected | None:
    found = _citations(src)
    if not found:
        return None
    line, m = rng.choice(found)
    other = next(t for t in _OTHER_TITLES if t != m.group(1))
    line.text = line.text[:m.start(1)] + other + line.text[m.end(1):]
    return [("citation-title-matches", line)]


# Layout (.docx) ------------------------------------------------------------------------------

def _layout(change: dict, rules: list[str]):
    def plant(src: Source, rng: random.Random) -> Expected | None:
        src.layout.update(change)
        return [(rule, None) for rule in rules]
    return plant


def _one_margin(src: Source, rng: random.Random) -> Expected | None:
    side = rng.choice(("top", "bottom", "left", "right"))
    src.layout[side] = 25.4
    return [(f"margin-{side}", None)]


FAULTS: list[Fault] = [
    # elements
    Fault("drop-mark", "elements", _drop("mark", "authority-mark-present"), touches=("mark",)),
    Fault("drop-number", "elements", _drop("number", "number-present"), touches=("number",)),
    Fault("drop-signer", "elements", _drop("signer", "signer-present"), kinds=("request", "report"),
          touches=("signer",), needs_kind=True),
    Fault("drop-recipients", "elements", _drop("recipients", "recipients-present"), touches=("recipients",)),
    Fault("drop-signature", "elements", _drop("signature", "signature-present"), touches=("signature",)),
    Fault("drop-date", "elements", _drop("date", "date-present"), touches=("date", "number")),
    Fault("drop-printing", "elements", _drop("printing", "printing-present"), touches=("printing",)),
    Fault("drop-contact", "elements", _drop("contact", "request-contact"), langs=("en",), kinds=("request",),
          touches=("contact",), needs_kind=True),
    Fault("swap-mark-number", "elements", _swap("mark", "number", "header-order", at="number"),
          touches=("mark", "number", "marks")),
    Fault("add-recipient", "elements", _add_recipient, kinds=("request", "report"), touches=("recipients",),
          needs_kind=True),
    Fault("copy-to-no-full-stop", "elements", _strip_full_stop, langs=("en",), touches=("copyto",)),
    Fault("swap-record", "elements", _swap("copyto", "printing", "record-order", at="printing"),
          touches=("copyto", "printing")),
    # number
    Fault("number-round-brackets", "number",
          _edit("number", "number-year-brackets",
                lambda t, r: re.sub(r"[\[〔](\d{4})[\]〕]", r.choice((r"(\1)", r"（\1）", r"\1", r"【\1】")), t)),
          touches=("number",)),
    Fault("number-short-year", "number",
          _edit("number", "number-year-brackets", lambda t, r: re.sub(r"\[20(\d\d)\]", r"[\1]", t)),
          langs=("en",), touches=("number",)),
    Fault("number-square-brackets", "number",
          _edit("number", "number-year-brackets", lambda t, r: re.sub(r"〔(\d{4})〕", r"[\1]", t)),
          langs=("zh",), touches=("number",)),
    Fault("number-leading-zero", "number",
          _edit("number", "number-leading-zeros",
                lambda t, r: re.sub(r"(No\. |〕)(\d+)", lambda m: f"{m.group(1)}{r.choice(('0', '00'))}{m.group(2)}", t)),
          touches=("number",)),
    Fault("number-no-dot", "number",
          _edit("number", "number-no-form", lambda t, r: t.replace("No. ", r.choice(("No ", "No.", "Number ", "#")), 1)),
          langs=("en",),
          touches=("number",)),
    Fault("number-di", "number", _edit("number", "number-no-di", _sub(r"〕(\d+)号", r"〕第\1号")), langs=("zh",),
          touches=("number",)),
    Fault("number-year-mismatch", "number", _number_year_mismatch, touches=("number", "date")),
    Fault("number-not-letter-series", "number",
          _edit("number", "number-series-letter", _sub(r" Letter \[", " [")), langs=("en",), kinds=("letter",),
          touches=("number",), needs_kind=True),
    Fault("number-letter-series", "number", _edit("number", "number-series-not-letter", _sub(r" \[", " Letter [")),
          langs=("en",), kinds=("notice", "report", "circular", "request"), touches=("number",), needs_kind=True),
    # title
    Fault("title-invalid-kind", "title", _title_invalid_kind, kinds=("notice", "request", "report", "circular"),
          touches=("title",), hides_kind=True),
    Fault("title-full-stop", "title", _edit("title", "title-full-stop", lambda t, r: t + ("." if t.isascii() else "。")),
          touches=("title",)),
    Fault("title-no-issuer", "title", _title_no_issuer, langs=("en",), touches=("title",)),
    Fault("title-no-guanyu", "title", _edit("title", "title-form", _sub("关于", "")), langs=("zh",),
          touches=("title",)),
    Fault("request-two-matters", "title",
          _edit("title", "request-one-matter",
                lambda t, r: t + " and on the Purchase of Mobile Classrooms" if t.isascii()
                else t.replace("的请示", "并增设临时教室的请示")),
          kinds=("request",), touches=("title",), needs_kind=True),
    Fault("report-asks", "title",
          _insert_paragraph("report-no-request", {"en": "We request your approval for an additional inspection budget.",
                                                  "zh": "妥否，请批示。"}),
          kinds=("report",), touches=("body-end",), needs_kind=True),
    Fault("notice-asks", "title",
          _insert_paragraph("notice-no-request", {"en": "We request your instructions on whether the duty period may "
                                                        "be shortened."}),
          langs=("en",), kinds=("notice",), touches=("body-end",), needs_kind=True),
    # attachments
    Fault("drop-attachment-note", "attachments", _drop_note, touches=("note",)),
    Fault("attachment-note-label", "attachments", _note_label, langs=("en",), touches=("note",)),
    Fault("attachment-name-punctuation", "attachments", _name_punctuation, touches=("note",)),
    Fault("attachment-page-title", "attachments", _page_title, touches=("pages",)),
    Fault("attachment-note-drops-item", "attachments", _note_drops_item, touches=("note", "pages")),
    Fault("attachment-unknown-ref", "attachments", _unknown_ref, touches=("note", "body-text")),
    # dates and figures
    Fault("date-of-issue-form", "dates", _date_form, touches=("date",)),
    Fault("printing-date-form", "dates", _printing_date, touches=("printing",)),
    Fault("time-12-hour", "dates", _time_12h, langs=("en",), touches=("body-text",)),
    Fault("relative-year", "dates",
          _append_sentence("relative-year", {"en": (" The work shall be finished before the end of this year.",
                                                   " The same was done last month.",
                                                   " A review will follow next year.")},
                           avoid=r"\b(?:19|20)\d\d\b"),
          langs=("en",), touches=("body-text",)),
    Fault("money-in-words", "dates",
          _append_sentence("money-in-figures", {"en": (" A further two million yuan has been set aside for this.",
                                                       " The cost is put at five hundred thousand yuan.",
                                                       " Each unit may spend up to thirty thousand yuan.")}),
          langs=("en",), touches=("body-text",)),
    Fault("thousands-separator", "dates", _thousands, langs=("en",), touches=("body-text",)),
    Fault("short-year-date", "dates",
          _append_sentence("date-year-in-full", {"en": (" The first check is due on 15/09/25.",
                                                        " The first check is due on 15 September 25.",
                                                        " The first check is due on 3/10/25.")}),
          langs=("en",), touches=("body-text",)),
    # marks
    Fault("urgency-value", "marks", _bad_urgency, touches=("marks",)),
    Fault("security-level", "marks", _bad_security_level, touches=("marks",)),
    Fault("security-period", "marks", _security_no_period, touches=("marks",)),
    Fault("security-without-copy-number", "marks", _security_no_copy, touches=("marks",)),
    Fault("copy-number-form", "marks", _copy_short, touches=("marks",)),
    Fault("marks-order", "marks", _marks_order, touches=("marks", "mark")),
    # headings
    Fault("heading-number", "headings", _heading_number, touches=("headings",)),
    Fault("heading-level-skip", "headings", _heading_level_skip, touches=("headings", "body-text")),
    # citations
    Fault("cite-unknown", "citations",
          _append_sentence("citation-exists", {"en": " The earlier Notice on Holiday Duty Checks (Mer. Gov. Off. "
                                                     "[2025] No. 99) continues to apply."}, avoid=r"\[\d{4}\]"),
          langs=("en",), touches=("body-text",)),
    Fault("cite-superseded", "citations",
          _append_sentence("citation-in-force", {"en": " Reports also follow the Rules on Duty Work and Emergency "
                                                       "Information Reporting (2019) (Mer. Gov. Off. [2019] No. 25)."},
                           avoid=r"\[\d{4}\]"),
          langs=("en",), touches=("body-text",)),
    Fault("cite-number-only", "citations", _cite_number_only, langs=("en",), touches=("citation",)),
    Fault("cite-wrong-title", "citations", _cite_wrong_title, langs=("en",), touches=("citation",)),
    # layout (.docx)
    Fault("margin", "layout", _one_margin, langs=("en",), formats=("docx",), touches=("layout",)),
    Fault("font-size", "layout", _layout({"size": 12.0}, ["body-font-size"]), langs=("en",), formats=("docx",),
          touches=("layout",)),
    Fault("font-name", "layout", _layout({"font": "Arial"}, ["body-font"]), langs=("en",), formats=("docx",),
          touches=("layout",)),
    Fault("paper-letter", "layout", _layout({"width": 215.9, "height": 279.4}, ["paper-width", "paper-height"]),
          langs=("en",), formats=("docx",), touches=("layout",)),
    Fault("line-spacing", "layout", _layout({"spacing": None}, ["line-spacing"]), langs=("en",), formats=("docx",),
          touches=("layout",)),
]


def _applicable(fault: Fault, src: Source) -> bool:
    return (src.lang in fault.langs and (fault.kinds is None or src.kind in fault.kinds)
            and (fault.formats is None or src.fmt in fault.formats))


def plant_faults(src: Source, rng: random.Random, wanted: int, usage: Counter) -> tuple[Source, list[str], Expected]:
    """Plant up to ``wanted`` faults of different families, preferring the families used least so far."""
    draft = copy.deepcopy(src)
    # Sorted first: a set's order changes from run to run, and rng.random() must be drawn in a fixed order.
    applicable = sorted({f.family for f in FAULTS if _applicable(f, src)})
    families = sorted(applicable, key=lambda fam: (usage[fam], rng.random()))
    names, expected, touched = [], [], set()
    hides = needs = False
    for family in families:
        if len(names) == wanted:
            break
        options = [f for f in FAULTS if f.family == family and _applicable(f, src)
                   and not touched & set(f.touches) and not (f.needs_kind and hides) and not (f.hides_kind and needs)]
        rng.shuffle(options)
        for fault in options:
            result = fault.plant(draft, rng)  # a fault changes nothing unless it applies
            if result:
                names.append(fault.name)
                expected.extend(result)
                touched |= set(fault.touches)
                hides |= fault.hides_kind
                needs |= fault.needs_kind
                usage[family] += 1
                break
    return draft, names, expected


# --- rendering ---------------------------------------------------------------------------------------


def render_text(src: Source, markdown: bool) -> tuple[str, dict[int, int]]:
    """The draft as Markdown or plain text, and the file line of each source line (by id)."""
    out: list[str] = []
    where: dict[int, int] = {}
    for line in src.lines:
        if line.role == "note+":
            text = " " * 13 + line.text
        elif markdown and line.role == "title":
            text = "# " + line.text
        elif markdown and line.role == "h1":
            text = "## " + line.text
        else:
            text = line.text
        if out and line.role != "note+":
            out.append("")
        out.append(text)
        where[id(line)] = len(out)
    return "\n".join(out) + "\n", where


def render_docx(src: Source) -> tuple[bytes, dict[int, int]]:
    """The draft as .docx (one paragraph per line) with its layout, and the paragraph of each source line."""
    import docx
    from docx.enum.text import WD_LINE_SPACING
    from docx.shared import Mm, Pt

    document = docx.Document()
    section = document.sections[0]
    lay = src.layout
    section.page_width, section.page_height = Mm(lay["width"]), Mm(lay["height"])
    section.top_margin, section.bottom_margin = Mm(lay["top"]), Mm(lay["bottom"])
    section.left_margin, section.right_margin = Mm(lay["left"]), Mm(lay["right"])
    normal = document.styles["Normal"]
    normal.font.name = lay["font"]
    normal.font.size = Pt(lay["size"])
    if lay["spacing"] is not None:
        normal.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        normal.paragraph_format.line_spacing = Pt(lay["spacing"])
    where = {}
    for n, line in enumerate(src.lines, 1):
        if line.role == "title":
            document.add_paragraph(line.text, style="Title")
        elif line.role == "h1":
            document.add_paragraph(line.text, style="Heading 2")
        else:
            document.add_paragraph(line.text)
        where[id(line)] = n
    core = document.core_properties
    core.title, core.author, core.comments, core.revision = "", "", "", 1
    buffer = io.BytesIO()
    document.save(buffer)
    return _fixed_zip(buffer.getvalue()), where


def _fixed_zip(data: bytes) -> bytes:
    """The same package with fixed timestamps, so that the output is the same on every run."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, src.read(item.filename))
    return out.getvalue()


def render(src: Source) -> tuple[bytes, dict[int, int], str]:
    if src.fmt == "docx":
        data, where = render_docx(src)
        return data, where, "paragraph"
    text, where = render_text(src, markdown=src.fmt == "md")
    return text.encode("utf-8"), where, "line"


# --- the set -----------------------------------------------------------------------------------------------


def build(seed: int = SEED, per_source: int = PER_SOURCE) -> dict[str, bytes]:
    """Every file of eval/drafts (name -> bytes), manifest.json included."""
    rng = random.Random(seed)
    families = {lang: {r.id: r.family for r in load_rules(ROOT / "rules" / lang).rules} for lang in ("en", "zh")}
    files: dict[str, bytes] = {}
    entries = []
    usage: Counter = Counter()
    for name in sorted(DRAFTS):
        src = read_source(SOURCES / f"{name}.txt")
        variants = [(f"{name}-clean", src, [], [])]
        for k in range(1, per_source + 1):
            wanted = rng.choice((1, 2, 2, 3, 3, 4))
            draft, faults, expected = plant_faults(src, rng, wanted, usage)
            variants.append((f"{name}-{k:02d}", draft, faults, expected))
        for stem, draft, faults, expected in variants:
            data, where, unit = render(draft)
            filename = f"{stem}.{draft.fmt}"
            files[filename] = data
            rows = []
            for rule, line in expected:
                if rule not in families[draft.lang]:
                    raise SystemExit(f"fault expects rule {rule!r}, which rules/{draft.lang} does not have")
                rows.append({"rule": rule, "family": families[draft.lang][rule],
                             "location": f"{unit} {where[id(line)]}" if line is not None else None})
            entries.append({"file": filename, "source": name, "language": draft.lang, "kind": draft.kind,
                            "format": draft.fmt, "clean": not faults, "faults": faults, "expected": rows})
    manifest = {"generator": "eval/make_drafts.py", "seed": seed, "drafts": entries}
    files["manifest.json"] = (json.dumps(manifest, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="Folder to write (default eval/drafts).")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--check", action="store_true", help="Write nothing; exit 1 if --out differs.")
    args = parser.parse_args(argv)
    files = build(args.seed)
    stale = [n for n, data in files.items() if not (args.out / n).is_file() or (args.out / n).read_bytes() != data]
    if args.check:
        for name in stale:
            print(f"out of date: {args.out / name}")
        return 1 if stale else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (args.out / name).write_bytes(data)
    counts = Counter(e["clean"] for e in json.loads(files["manifest.json"])["drafts"])
    print(f"{len(files) - 1} drafts in {args.out} ({counts[True]} clean, {counts[False]} flawed); "
          f"{len(stale)} file(s) changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
