"""Reading drafts: lines of the file (front matter counted), .docx paragraphs and layout, pasted text."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from kb.check.draft import draft_from_text, draft_from_upload, language_of, read_draft, read_layout
from kb.errors import LoadError
from tests.conftest import write


def docx_bytes(paragraphs: list[tuple[str, str]], **layout) -> bytes:
    import docx
    from docx.enum.text import WD_LINE_SPACING
    from docx.shared import Mm, Pt

    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(layout.get("width", 210)), Mm(layout.get("height", 297))
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    normal = document.styles["Normal"]
    normal.font.name = layout.get("font", "Times New Roman")
    normal.font.size = Pt(layout.get("size", 16))
    if layout.get("spacing"):
        normal.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        normal.paragraph_format.line_spacing = Pt(layout["spacing"])
    for style, text in paragraphs:
        document.add_paragraph(text, style=style)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_markdown_lines_are_lines_of_the_file_front_matter_included(tmp_path: Path) -> None:
    path = write(tmp_path / "draft.md", "---\nissuer: General Office\nnumber: Mer. Gov. Off. [2025] No. 3\n---\n"
                                        "# Notice on Duty\n\nSome text.\n")
    draft = read_draft(path)
    assert [(line.number, line.text, line.heading) for line in draft.lines] == [
        (5, "Notice on Duty", 1), (7, "Some text.", 0)]
    assert draft.meta["issuer"] == "General Office" and draft.meta["number"] == "Mer. Gov. Off. [2025] No. 3"
    assert draft.location(draft.lines[1]) == "line 7"
    assert all(draft.text[line.start:line.end] == line.raw for line in draft.lines)


def test_docx_is_read_by_paragraph_with_its_layout(tmp_path: Path) -> None:
    data = docx_bytes([("Title", "Notice on Duty"), ("Normal", ""), ("Normal", "First paragraph."),
                       ("Normal", "Second paragraph.")], width=215.9, height=279.4, font="Arial", size=12, spacing=28)
    path = tmp_path / "draft.docx"
    path.write_bytes(data)
    draft = read_draft(path)
    assert draft.unit == "paragraph"
    assert [(line.number, line.text) for line in draft.lines] == [
        (1, "Notice on Duty"), (2, "First paragraph."), (3, "Second paragraph.")]
    layout = draft.layout
    assert (layout.paper_width_mm, layout.paper_height_mm) == (215.9, 279.4)
    assert (layout.margin_top_mm, layout.margin_bottom_mm, layout.margin_left_mm, layout.margin_right_mm) == (
        37.0, 35.0, 28.0, 26.0)
    assert (layout.font_name, layout.font_size_pt, layout.line_spacing_pt) == ("Arial", 12.0, 28.0)
    assert layout.describe("line_spacing_pt") == "28 pt" and layout.describe("margin_top_mm") == "37 mm"


def test_relative_line_spacing_is_described_as_word_does() -> None:
    layout = read_layout(docx_bytes([("Normal", "Text.")]))
    assert layout.line_spacing_pt is None
    assert layout.describe("line_spacing_pt") == "single (not set)"


def test_an_upload_is_read_like_a_file(tmp_path: Path) -> None:
    draft = draft_from_upload("../../etc/draft.txt", "Notice on Duty\n\nText.\n".encode("gb18030"))
    assert draft.name == "draft.txt" and [line.number for line in draft.lines] == [1, 3]


def test_pasted_text_and_its_language() -> None:
    draft = draft_from_text("\r\n子午市人民政府办公室关于做好值班工作的通知\r\n")
    assert draft.language == "zh" and draft.lines[0].number == 2
    assert language_of("Notice on Duty during the Holiday (see 附件 1)") == "en"
    with pytest.raises(LoadError, match=r"pasted text is empty: paste or upload the draft's text"):
        draft_from_text("  \n ")


def test_other_file_types_are_refused_with_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path / "draft.pdf", "x")
    with pytest.raises(LoadError, match=r"draft\.pdf: a draft must be \.docx, \.md or \.txt, not \.pdf; save it in one "
                                        r"of these forms"):
        read_draft(path)
