"""Build the bundled corpus's PDF and DOCX files from Markdown sources.

Every ``scripts/corpus_src/<folder>/<name>.md`` becomes ``corpus/<folder>/<name>.pdf``
(regulations) or ``.docx`` (documents, minutes), so its doc_id stays the same.
The YAML front matter becomes the file's metadata, as the loader reads it
(see ``ingest/loaders.py``): the title, and custom document properties
``Issuer``, ``Number``, ``Date``, ``Status``, ``DocType``, ``SupersededBy``
plus one property per other key (``Kind``, ``Recipients`` ...).

The body is typeset as a real document: Markdown headings become bold
heading lines (PDF) or Title/Heading styles (DOCX), paragraphs wrap, Markdown
tables become Word tables. DOCX pages follow the format rules of the corpus
(A4, margins 37/35/28/26 mm, Times New Roman 16 pt, exactly 28 pt spacing). PDF lines are wrapped here so that no wrapped line
starts like a heading ("Article 7 ...", "(2)", "3.5 ...") to the chunker,
and a heading is always one line. Output is deterministic: dates inside the
files come from the document's date, so re-running changes nothing.

Usage::

    python scripts/build_corpus_files.py          # write the files
    python scripts/build_corpus_files.py --check  # exit 1 if any file is out of date
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

import yaml

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "scripts" / "corpus_src"
CORPUS = ROOT / "corpus"
sys.path.insert(0, str(ROOT))

from ingest.chunkers import heading_label  # noqa: E402  (needs ROOT on the path)

# Regulations are published as PDFs; documents and minutes circulate as Word files.
SUFFIX_BY_FOLDER = {"regulations": ".pdf", "documents": ".docx", "minutes": ".docx"}

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
FONT = "DejaVuSans"

# Front-matter keys whose property names the loader reads; other keys are CamelCased.
PROPERTY_NAMES = {
    "title": "Title",
    "issuer": "Issuer",
    "number": "Number",
    "date": "Date",
    "status": "Status",
    "type": "DocType",
    "superseded_by": "SupersededBy",
}

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)^---[ \t]*\n", re.S | re.M)
_HEADING = re.compile(r"(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*")
_TABLE_RULE = re.compile(r"\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?")


class BuildError(Exception):
    """A source or the environment stops the build; the message says what to do."""


# --- sources ------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One block of the Markdown body: a heading, a paragraph's lines, or a table."""

    kind: str  # "heading", "paragraph" or "table"
    lines: tuple[str, ...] = ()
    level: int = 0
    rows: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Source:
    path: Path
    front: dict
    blocks: tuple[Block, ...]

    @property
    def rel(self) -> Path:
        return self.path.relative_to(SOURCES)

    @property
    def date(self) -> dt.datetime:
        """Midnight UTC of the document's date: the timestamp written into the files."""
        day = dt.date.fromisoformat(str(self.front["date"]))
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)


def read_source(path: Path) -> Source:
    text = path.read_text(encoding="utf-8")
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise BuildError(f"{path}: no YAML front matter; start the file with a '---' block")
    front = yaml.safe_load(match.group(1)) or {}
    for key in ("title", "date"):
        if not front.get(key):
            raise BuildError(f"{path}: front matter has no '{key}'; add it")
    return Source(path, front, tuple(parse_blocks(text[match.end():])))


def parse_blocks(body: str) -> Iterator[Block]:
    """Split a Markdown body into headings, paragraphs (lines kept) and tables."""
    for chunk in re.split(r"\n[ \t]*\n", body.strip()):
        lines = [line.strip() for line in chunk.strip().split("\n")]
        while lines:
            heading = _HEADING.fullmatch(lines[0])
            if heading:
                yield Block("heading", (heading.group(2),), level=len(heading.group(1)))
                lines = lines[1:]
            elif len(lines) >= 2 and lines[0].startswith("|") and _TABLE_RULE.fullmatch(lines[1]):
                rows = [_table_row(line) for line in lines if not _TABLE_RULE.fullmatch(line)]
                yield Block("table", rows=tuple(rows))
                lines = []
            else:
                yield Block("paragraph", tuple(lines))
                lines = []


def _table_row(line: str) -> tuple[str, ...]:
    return tuple(cell.strip() for cell in line.strip().strip("|").split("|"))


def properties(front: dict) -> dict[str, str]:
    """Front matter as document properties, named as the loader reads them (others CamelCased)."""
    out = {}
    for key, value in front.items():
        name = PROPERTY_NAMES.get(key) or "".join(part.title() for part in key.split("_"))
        if isinstance(value, (list, tuple)):
            value = "; ".join(map(str, value))
        elif isinstance(value, dt.date):
            value = value.isoformat()
        if value not in (None, ""):
            out[name] = str(value)
    return out


# --- PDF --------------------------------------------------------------------------------

PAGE_MARGIN = 22  # mm, on A4
BODY_SIZE, BODY_LINE = 11, 5.6  # pt, mm
HEADING_SIZES = {1: 16, 2: 13, 3: 12}
PARAGRAPH_GAP = 2.4  # mm


def _font_paths() -> dict[str, Path]:
    paths = {style: FONT_DIR / name for style, name in FONT_FILES.items()}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise BuildError(
            f"font not found: {', '.join(missing)}; install DejaVu Sans with "
            "`apt-get install fonts-dejavu-core`"
        )
    return paths


def build_pdf(source: Source) -> bytes:
    from fpdf import FPDF
    from pypdf import PdfReader, PdfWriter

    class Pdf(FPDF):
        def footer(self) -> None:
            # "- 3 -" reads as no heading to the chunker.
            self.set_y(-14)
            self.set_font(FONT, size=9)
            self.cell(0, 6, f"- {self.page_no()} -", align="C")

    pdf = Pdf(format="A4")
    for style, path in _font_paths().items():
        pdf.add_font(FONT, style=style, fname=str(path))
    pdf.set_margins(PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN)
    pdf.set_auto_page_break(True, margin=PAGE_MARGIN)
    pdf.set_creation_date(source.date)
    pdf.set_title(str(source.front["title"]))
    pdf.set_author(str(source.front.get("issuer", "")))
    pdf.set_creator("scripts/build_corpus_files.py")
    pdf.add_page()
    for block in source.blocks:
        if block.kind == "heading":
            _pdf_heading(pdf, block, source.path)
        elif block.kind == "table":
            _pdf_paragraph(pdf, [" | ".join(row) for row in block.rows])
        else:
            _pdf_paragraph(pdf, list(block.lines))

    # fpdf2 has no API for custom Info keys; pypdf adds them.
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(bytes(pdf.output()))))
    writer.add_metadata({f"/{name}": value for name, value in properties(source.front).items()})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _pdf_heading(pdf, block: Block, path: Path) -> None:
    text = block.lines[0]
    size = HEADING_SIZES.get(block.level, BODY_SIZE + 1)
    pdf.set_font(FONT, style="B", size=size)
    # A heading is one line: shrink it until it fits.
    while pdf.get_string_width(text) > _line_width(pdf) and size > BODY_SIZE - 1:
        size -= 0.5
        pdf.set_font(FONT, style="B", size=size)
    if pdf.get_string_width(text) > _line_width(pdf):
        raise BuildError(f"{path}: heading too long for one line: {text!r}; shorten it")
    height = size * 0.55
    # Keep a heading with the first lines under it.
    if pdf.get_y() + height + 3 * BODY_LINE > pdf.page_break_trigger:
        pdf.add_page()
    pdf.ln(PARAGRAPH_GAP if block.level > 1 else 0)
    pdf.multi_cell(0, height, text, align="C" if block.level == 1 else "L",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(PARAGRAPH_GAP)


def _pdf_paragraph(pdf, lines: list[str]) -> None:
    pdf.set_font(FONT, size=BODY_SIZE)
    wrapped = [row for line in lines for row in wrap(line, pdf.get_string_width, _line_width(pdf))]
    # No single line of a paragraph left at the foot of a page.
    if len(wrapped) > 1 and pdf.get_y() + 2 * BODY_LINE > pdf.page_break_trigger:
        pdf.add_page()
    pdf.multi_cell(0, BODY_LINE, "\n".join(wrapped), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(PARAGRAPH_GAP)


def _line_width(pdf) -> float:
    # multi_cell keeps a cell margin on both sides; a hair less keeps rounding from re-wrapping.
    return pdf.epw - 2 * pdf.c_margin - 0.5


def wrap(line: str, width_of, width: float) -> list[str]:
    """Greedy word wrap where no continuation line reads as a heading.

    A continuation starting "Article 7 of ...", "(2) ..." or "3.5 ..." could
    open a section in the extracted text; such a line starts one word earlier.
    """
    words = line.split()
    rows: list[list[int]] = []  # [start, end) word ranges
    start = 0
    while start < len(words):
        end = _fill(words, start, width_of, width)
        while rows and heading_label(" ".join(words[start:end])):
            if start - 1 <= rows[-1][0]:
                raise BuildError(f"cannot wrap without a heading-like line: {line!r}")
            start -= 1
            rows[-1][1] = start
            end = _fill(words, start, width_of, width)
        rows.append([start, end])
        start = end
    return [" ".join(words[s:e]) for s, e in rows]


def _fill(words: list[str], start: int, width_of, width: float) -> int:
    """The end of the longest row of words from ``start`` that fits (at least one word)."""
    end = start + 1
    while end < len(words) and width_of(" ".join(words[start : end + 1])) <= width:
        end += 1
    return end


# --- DOCX -------------------------------------------------------------------------------

_OOXML = "http://schemas.openxmlformats.org"
_CT_NS = f"{_OOXML}/package/2006/content-types"
_RELS_NS = f"{_OOXML}/package/2006/relationships"
_CUSTOM_TYPE = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
_CUSTOM_REL = f"{_OOXML}/officeDocument/2006/relationships/custom-properties"
_CUSTOM_NS = f"{_OOXML}/officeDocument/2006/custom-properties"
_VT_NS = f"{_OOXML}/officeDocument/2006/docPropsVTypes"
_CUSTOM_FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"  # the only one Word uses
_CUSTOM_PART = "docProps/custom.xml"
# python-docx's template carries a thumbnail of a blank page: drop it.
_THUMBNAIL_PART = "docProps/thumbnail.jpeg"
_THUMBNAIL_REL = f"{_OOXML}/package/2006/relationships/metadata/thumbnail"


def build_docx(source: Source) -> bytes:
    import docx
    from docx.enum.text import WD_LINE_SPACING
    from docx.shared import Mm, Pt

    document = docx.Document()
    # The page of the Implementing Rules on the Format of Official Documents, Articles 5 to 7:
    # A4, margins 37/35/28/26 mm, Times New Roman 16 pt on a fixed 28 pt line.
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    normal = document.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(16)
    normal.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    normal.paragraph_format.line_spacing = Pt(28)
    for block in source.blocks:
        if block.kind == "heading":
            # "#" is the Title; deeper levels keep their number.
            document.add_heading(block.lines[0], level=0 if block.level == 1 else block.level)
        elif block.kind == "table":
            _docx_table(document, block.rows)
        else:
            for line in block.lines:
                document.add_paragraph(line)
    core = document.core_properties
    core.title = str(source.front["title"])
    core.author = core.last_modified_by = str(source.front.get("issuer", ""))
    core.subject = str(source.front.get("number", ""))
    core.category = str(source.front.get("kind", ""))
    core.comments = ""
    core.revision = 1
    # Naive UTC datetimes: python-docx writes them as given, with a "Z".
    core.created = core.modified = source.date.replace(tzinfo=None)
    buffer = io.BytesIO()
    document.save(buffer)
    return _with_custom_properties(buffer.getvalue(), properties(source.front), source.date)


def _docx_table(document, rows: tuple[tuple[str, ...], ...]) -> None:
    columns = max(len(row) for row in rows)
    table = document.add_table(rows=len(rows), cols=columns)
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            cell = table.cell(r, c)
            cell.text = value
            if r == 0:
                for run in cell.paragraphs[0].runs:
                    run.bold = True


def custom_properties_xml(props: dict[str, str]) -> bytes:
    entries = "".join(
        f'<property fmtid="{_CUSTOM_FMTID}" pid="{pid}" name={quoteattr(name)}>'
        f"<vt:lpwstr>{escape(value)}</vt:lpwstr></property>"
        for pid, (name, value) in enumerate(props.items(), start=2)  # pid 0 and 1 are reserved
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Properties xmlns="{_CUSTOM_NS}" xmlns:vt="{_VT_NS}">{entries}</Properties>'
    ).encode()


def _with_custom_properties(package: bytes, props: dict[str, str], when: dt.datetime) -> bytes:
    """Rewrite a .docx adding docProps/custom.xml (no thumbnail), with fixed zip timestamps.

    python-docx has no API for custom properties: the part needs its content
    type and a relationship from the package root.
    """
    stamp = (when.year, when.month, when.day, 0, 0, 0)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename in (_CUSTOM_PART, _THUMBNAIL_PART):
                continue
            if item.filename == "[Content_Types].xml":
                data = _add_override(data)
            elif item.filename == "_rels/.rels":
                data = _root_relationships(data)
            dst.writestr(zipfile.ZipInfo(item.filename, stamp), data, zipfile.ZIP_DEFLATED)
        dst.writestr(zipfile.ZipInfo(_CUSTOM_PART, stamp), custom_properties_xml(props),
                     zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _add_override(content_types: bytes) -> bytes:
    ElementTree.register_namespace("", _CT_NS)
    root = ElementTree.fromstring(content_types)
    for override in root.findall(f"{{{_CT_NS}}}Override"):
        if override.get("PartName") == f"/{_CUSTOM_PART}":
            root.remove(override)
    ElementTree.SubElement(root, f"{{{_CT_NS}}}Override",
                           PartName=f"/{_CUSTOM_PART}", ContentType=_CUSTOM_TYPE)
    return ElementTree.tostring(root, encoding="UTF-8", xml_declaration=True)


def _root_relationships(rels: bytes) -> bytes:
    ElementTree.register_namespace("", _RELS_NS)
    root = ElementTree.fromstring(rels)
    for rel in root.findall(f"{{{_RELS_NS}}}Relationship"):
        if rel.get("Type") in (_CUSTOM_REL, _THUMBNAIL_REL):
            root.remove(rel)
    used = {rel.get("Id") for rel in root}
    rel_id = next(f"rId{n}" for n in range(1, len(used) + 2) if f"rId{n}" not in used)
    ElementTree.SubElement(root, f"{{{_RELS_NS}}}Relationship",
                           Id=rel_id, Type=_CUSTOM_REL, Target=_CUSTOM_PART)
    return ElementTree.tostring(root, encoding="UTF-8", xml_declaration=True)


# --- main -------------------------------------------------------------------------------

BUILDERS = {".pdf": build_pdf, ".docx": build_docx}


def target_of(source: Source) -> Path:
    folder = source.rel.parts[0]
    suffix = SUFFIX_BY_FOLDER.get(folder)
    if suffix is None:
        raise BuildError(
            f"{source.path}: no output format for folder {folder!r}; "
            f"use one of {', '.join(SUFFIX_BY_FOLDER)}"
        )
    return (CORPUS / source.rel).with_suffix(suffix)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if any generated file is out of date")
    args = parser.parse_args(argv)
    stale = []
    try:
        for path in sorted(SOURCES.rglob("*.md")):
            source = read_source(path)
            target = target_of(source)
            data = BUILDERS[target.suffix](source)
            if target.is_file() and target.read_bytes() == data:
                status = "unchanged"
            elif args.check:
                status = "out of date"
                stale.append(target)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                status = "written"
            print(f"{status:>11}  {target.relative_to(ROOT)}")
    except BuildError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    if stale:
        print(f"{len(stale)} file(s) out of date: run python scripts/build_corpus_files.py",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
