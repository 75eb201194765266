"""A draft read for checking: its lines with their numbers and offsets, its metadata and its page layout.

Files are read by ingest.loaders, as the knowledge base reads them: Markdown
and text with optional YAML front matter, .docx paragraphs in body order.
A .docx draft is located by paragraph (the n-th paragraph with text), the
others by line of the file, counting the front matter, so that a reported
location is the one an editor shows. For .docx, python-docx also gives the
page layout: paper size, margins, body font and size, line spacing.
"""

from __future__ import annotations

import io
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.errors import LoadError

SUFFIXES = (".docx", ".md", ".markdown", ".txt")
_EMU_PER_MM = 36_000


@dataclass(frozen=True)
class Line:
    """One line of the draft. ``draft.text[start:end] == raw``; ``text`` drops Markdown heading marks."""

    number: int  # the line of the file, or the paragraph of a .docx
    raw: str
    start: int
    end: int
    heading: int = 0  # Markdown heading level, 0 for plain lines

    @property
    def text(self) -> str:
        return self.raw.lstrip("#").strip() if self.heading else self.raw.strip()


@dataclass(frozen=True)
class Layout:
    """What python-docx reads of a .docx page; lengths in mm, sizes in points.

    Font, size and spacing are the predominant values over the body
    paragraphs (by characters), following run, paragraph style and its base
    styles as Word does.
    """

    paper_width_mm: float | None
    paper_height_mm: float | None
    margin_top_mm: float | None
    margin_bottom_mm: float | None
    margin_left_mm: float | None
    margin_right_mm: float | None
    font_name: str | None
    font_size_pt: float | None
    line_spacing_pt: float | None  # fixed spacing ("exactly"), None when relative or unset
    line_spacing: str  # as Word would describe it: "exactly 28 pt", "single", "1.5 lines"

    def value(self, name: str) -> Any:
        return getattr(self, name)

    def describe(self, name: str) -> str:
        """A measured value as a sentence would quote it: "30 mm", "12 pt", "single"."""
        value = getattr(self, name)
        if name == "line_spacing_pt" and value is None:
            return self.line_spacing
        if value is None:
            return "not set"
        if name.endswith("_mm"):
            return f"{value:g} mm"
        if name.endswith("_pt"):
            return f"{value:g} pt"
        return str(value)


@dataclass(frozen=True)
class Draft:
    """A draft read into lines, with its metadata (front matter, .docx properties) and layout."""

    name: str
    text: str
    lines: tuple[Line, ...]
    unit: str = "line"  # "line" or "paragraph"
    meta: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    layout: Layout | None = None
    language: str = "en"

    def location(self, line: Line | None) -> str:
        """'line 12', 'paragraph 4', or 'whole draft'."""
        return f"{self.unit} {line.number}" if line is not None else "whole draft"


def language_of(text: str) -> str:
    """"zh" when at least a fifth of the letters are Chinese characters, else "en"."""
    letters = [c for c in text if c.isalpha()]
    cjk = sum("\u4e00" <= c <= "\u9fff" for c in letters)
    return "zh" if letters and cjk >= 0.2 * len(letters) else "en"


def _lines(text: str, first_number: int = 1, numbers: list[int] | None = None) -> tuple[Line, ...]:
    out = []
    offset = 0
    for i, raw in enumerate(text.split("\n")):
        end = offset + len(raw)
        if raw.strip():
            stripped = raw.lstrip()
            level = len(stripped) - len(stripped.lstrip("#"))
            heading = level if 0 < level <= 6 and stripped[level:level + 1] in (" ", "\t") else 0
            number = numbers[i] if numbers is not None else first_number + i
            out.append(Line(number, raw, offset, end, heading))
        offset = end + 1
    return tuple(out)


def draft_from_text(text: str, name: str = "pasted text") -> Draft:
    """A draft from pasted text (Markdown or plain), numbered by line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").removeprefix("\ufeff")
    if not text.strip():
        raise LoadError(f"{name} is empty: paste or upload the draft's text")
    return Draft(name, text, _lines(text), "line", {}, None, language_of(text))


def read_draft(path: Path) -> Draft:
    """Read a .docx, .md or .txt draft.

    Raises:
        LoadError: Another file type, or a file that cannot be read (the message says why).
    """
    from ingest.loaders import load_file, read_text

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise LoadError(f"{path}: a draft must be .docx, .md or .txt, not {suffix or 'a file without suffix'}; "
                        "save it in one of these forms")
    doc = load_file(path)[0]
    meta = {k: str(v) for k, v in (("issuer", doc.issuer), ("number", doc.number), ("date", doc.date)) if v}
    meta.update({str(k): str(v) for k, v in doc.meta.items() if isinstance(v, (str, int, float))})
    if suffix == ".docx":
        blocks = doc.text.split("\n\n")
        numbers: list[int] = []
        for n, block in enumerate(blocks, 1):
            numbers.extend(([0] if n > 1 else []) + [n] * len(block.split("\n")))  # 0: the blank line between
        return Draft(path.name, doc.text, _lines(doc.text, numbers=numbers), "paragraph", meta,
                     read_layout(path.read_bytes()), language_of(doc.text))
    raw = read_text(path)
    # The loader strips the front matter; count its lines so locations are lines of the file.
    first = raw[: len(raw) - len(doc.text)].count("\n") + 1 if raw.endswith(doc.text) else 1
    return Draft(path.name, doc.text, _lines(doc.text, first), "line", meta, None, language_of(doc.text))


def draft_from_upload(name: str, data: bytes) -> Draft:
    """A draft from an uploaded file's name and bytes (read through a temporary file)."""
    clean = Path(name).name or "draft.txt"
    with tempfile.TemporaryDirectory(prefix="kb-draft-") as tmp:
        path = Path(tmp) / clean
        path.write_bytes(data)
        draft = read_draft(path)
    return draft


# --- .docx layout ------------------------------------------------------------------


def _mm(length: Any) -> float | None:
    return None if length is None else round(int(length) / _EMU_PER_MM, 1)


def _style_chain(style: Any):
    while style is not None:
        yield style
        style = style.base_style


def _effective(run: Any, style: Any, normal: Any, attr: str) -> Any:
    value = getattr(run.font, attr)
    if value is not None:
        return value
    for link in _style_chain(style):
        value = getattr(link.font, attr)
        if value is not None:
            return value
    return getattr(normal.font, attr) if normal is not None else None


def _spacing(paragraph: Any, style: Any, normal: Any) -> tuple[Any, Any]:
    fmt = paragraph.paragraph_format
    if fmt.line_spacing is not None:
        return fmt.line_spacing, fmt.line_spacing_rule
    for link in [*_style_chain(style), normal]:
        if link is not None and link.paragraph_format.line_spacing is not None:
            return link.paragraph_format.line_spacing, link.paragraph_format.line_spacing_rule
    return None, None


def _describe_spacing(value: Any, rule: Any) -> tuple[float | None, str]:
    from docx.enum.text import WD_LINE_SPACING
    from docx.shared import Length

    if value is None:
        return None, "single (not set)"
    if isinstance(value, Length):
        points = round(value.pt, 1)
        if rule == WD_LINE_SPACING.AT_LEAST:
            return None, f"at least {points:g} pt"
        return points, f"exactly {points:g} pt"
    lines = float(value)
    return None, "single" if lines == 1.0 else f"{lines:g} lines"


def read_layout(data: bytes) -> Layout:
    """Paper, margins, body font, size and line spacing of a .docx."""
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document(io.BytesIO(data))
    section = document.sections[0]
    try:
        normal = document.styles["Normal"]
    except KeyError:
        normal = None
    # python-docx looks a paragraph's style up by scanning every style; look each id up once instead.
    by_id = {style.style_id: style for style in document.styles if style.type == WD_STYLE_TYPE.PARAGRAPH}
    default = next((s for s in by_id.values() if s.element.default), normal)
    fonts: Counter[str] = Counter()
    sizes: Counter[float] = Counter()
    spacings: Counter[tuple[float | None, str]] = Counter()
    for paragraph in document.paragraphs:
        style = by_id.get(paragraph._p.style, default)  # the pStyle id, or None for the default style
        name = (style.name or "").lower() if style is not None else ""
        if not paragraph.text.strip() or name == "title" or name.startswith("heading"):
            continue
        spacings[_describe_spacing(*_spacing(paragraph, style, normal))] += len(paragraph.text)
        for run in paragraph.runs:
            if not run.text.strip():
                continue
            name = _effective(run, style, normal, "name")
            size = _effective(run, style, normal, "size")
            if name:
                fonts[name] += len(run.text)
            if size is not None:
                sizes[round(size.pt, 1)] += len(run.text)
    spacing_pt, spacing = spacings.most_common(1)[0][0] if spacings else (None, "single (not set)")
    return Layout(
        paper_width_mm=_mm(section.page_width), paper_height_mm=_mm(section.page_height),
        margin_top_mm=_mm(section.top_margin), margin_bottom_mm=_mm(section.bottom_margin),
        margin_left_mm=_mm(section.left_margin), margin_right_mm=_mm(section.right_margin),
        font_name=fonts.most_common(1)[0][0] if fonts else None,
        font_size_pt=sizes.most_common(1)[0][0] if sizes else None,
        line_spacing_pt=spacing_pt, line_spacing=spacing,
    )
