"""Scanned PDFs: pages without a text layer read by Tesseract, built as images in each test."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont, ImageOps

from ingest.loaders import LoadLimits, load_file
from ingest.ocr import OcrOptions, character_accuracy, comparable, install_hint, page_text
from kb.errors import LoadError
from kb.types import OCR_PAGES, OCR_UNREADABLE_PAGES, is_ocr_page

LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
CJK_FONT_SC = 2  # the face of NotoSansCJK-Regular.ttc drawn with Simplified Chinese forms
DPI = 300

ENGLISH = [
    "Article 9 Minutes of the executive meeting are kept",
    "in the archives for thirty years after the meeting.",
]
CHINESE = [
    "第九条 常务会议纪要由档案室保存三十年。",
    "会议材料应当在会后五个工作日内归档。",
]


def _tesseract_languages() -> set[str]:
    if shutil.which("tesseract") is None:
        return set()
    listed = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, check=False)
    return {line.strip() for line in listed.stdout.splitlines()[1:]}


needs_tesseract = pytest.mark.skipif(
    not {"eng", "chi_sim"} <= _tesseract_languages(),
    reason="Tesseract with English and Simplified Chinese is not installed: "
    "apt-get install tesseract-ocr tesseract-ocr-chi-sim (bash scripts/system-packages.sh)",
)
needs_fonts = pytest.mark.skipif(
    not (LATIN_FONT.is_file() and CJK_FONT.is_file()),
    reason="the test draws its pages with DejaVu Sans and Noto Sans CJK: apt-get install fonts-dejavu-core fonts-noto-cjk",
)


def scan(lines: list[str], cjk: bool = False, mirrored: bool = False) -> Image.Image:
    """A 6 x 2.5 inch page at 300 dpi with ``lines`` printed on it, as a scanner would see it."""
    font = ImageFont.truetype(str(CJK_FONT), 40, index=CJK_FONT_SC) if cjk else ImageFont.truetype(str(LATIN_FONT), 40)
    image = Image.new("L", (6 * DPI, int(2.5 * DPI)), 255)
    draw = ImageDraw.Draw(image)
    for n, line in enumerate(lines):
        draw.text((120, 150 + 90 * n), line, font=font, fill=0)
    return ImageOps.mirror(image) if mirrored else image


def blank() -> Image.Image:
    return Image.new("L", (6 * DPI, int(2.5 * DPI)), 255)


def image_pdf(path: Path, pages: list[Image.Image]) -> Path:
    """An image-only PDF: each image is a page, with no text layer."""
    pages[0].save(path, "PDF", resolution=DPI, save_all=True, append_images=pages[1:])
    return path


def text_pdf_page(lines: list[str]) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    for line in lines:
        pdf.cell(text=line)
        pdf.ln()
    return bytes(pdf.output())


def mixed_pdf(path: Path, text_lines: list[str], scanned: Image.Image) -> Path:
    """Page 1 with a text layer, page 2 a scan."""
    from pypdf import PdfReader, PdfWriter

    image = io.BytesIO()
    scanned.save(image, "PDF", resolution=DPI)
    writer = PdfWriter()
    for part in (text_pdf_page(text_lines), image.getvalue()):
        writer.append(PdfReader(io.BytesIO(part)))
    writer.write(path)
    return path


def page_texts(doc) -> list[str]:
    ends = [*doc.page_starts[1:], len(doc.text) + 2]
    return [doc.text[start : end - 2] for start, end in zip(doc.page_starts, ends)]


# --- reading scans ------------------------------------------------------------------------


@needs_tesseract
@needs_fonts
def test_english_and_chinese_scans_are_read_with_their_pages(tmp_path):
    path = image_pdf(tmp_path / "minutes-rules.pdf", [scan(ENGLISH), blank(), scan(CHINESE, cjk=True)])
    doc = load_file(path)[0]
    english, empty, chinese = page_texts(doc)
    assert character_accuracy(english, "\n".join(ENGLISH)) >= 0.9, english
    assert character_accuracy(chinese, "\n".join(CHINESE)) >= 0.9, chinese
    assert empty == ""  # the blank page is left out, its number kept
    assert doc.page_at(doc.text.index(chinese)) == 3
    assert doc.meta[OCR_PAGES] == [1, 3]
    assert doc.meta[OCR_UNREADABLE_PAGES] == [2]
    assert doc.meta["ocr_engine"].startswith("tesseract ")
    assert (doc.meta["ocr_languages"], doc.meta["ocr_dpi"]) == ("eng+chi_sim", 300)
    assert [is_ocr_page(doc.meta, page) for page in (1, 2, 3, None)] == [True, False, True, False]
    assert " 常" not in chinese and "第九条" in chinese  # no spaces between Chinese characters


@needs_tesseract
@needs_fonts
def test_text_page_keeps_its_text_layer_and_only_the_scan_is_read(tmp_path):
    lines = ["Article 1 Seals are kept in the safe.", "Article 2 Each use is logged."]
    path = mixed_pdf(tmp_path / "seals.pdf", lines, scan(ENGLISH))
    doc = load_file(path)[0]
    typed, scanned = page_texts(doc)
    assert typed == "\n".join(lines)
    assert character_accuracy(scanned, "\n".join(ENGLISH)) >= 0.9, scanned
    assert doc.meta[OCR_PAGES] == [2] and OCR_UNREADABLE_PAGES not in doc.meta
    assert (is_ocr_page(doc.meta, 1), is_ocr_page(doc.meta, 2)) == (False, True)


@needs_tesseract
@needs_fonts
def test_noise_read_with_low_confidence_is_left_out(tmp_path):
    # Mirrored print reads as strings of letters, but with low confidence: junk, not text.
    path = image_pdf(tmp_path / "scan.pdf", [scan(ENGLISH), scan(ENGLISH, mirrored=True)])
    doc = load_file(path)[0]
    assert doc.meta[OCR_PAGES] == [1] and doc.meta[OCR_UNREADABLE_PAGES] == [2]
    assert page_texts(doc)[1] == ""


@needs_tesseract
@needs_fonts
def test_a_scan_with_no_readable_page_fails_with_the_reason(tmp_path):
    path = image_pdf(tmp_path / "noise.pdf", [scan(ENGLISH, mirrored=True), blank()])
    message = r"noise\.pdf has no readable text: no text layer, and OCR found no usable text on its 2 page\(s\)"
    with pytest.raises(LoadError, match=message):
        load_file(path)


def test_blank_pages_alone_fail_without_running_tesseract(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-tesseract-here"))
    path = image_pdf(tmp_path / "blank.pdf", [blank(), blank()])
    with pytest.raises(LoadError, match=r"blank\.pdf has no readable text: no text layer, and OCR found no"):
        load_file(path)


# --- settings and missing pieces ------------------------------------------------------


def test_ocr_off_keeps_the_text_pages_of_a_mixed_pdf(tmp_path):
    path = mixed_pdf(tmp_path / "mixed.pdf", ["Article 1 Typed text."], blank())
    doc = load_file(path, limits=LoadLimits(ocr=OcrOptions(mode="off")))[0]
    assert page_texts(doc) == ["Article 1 Typed text.", ""]
    assert doc.meta == {}


@needs_fonts
def test_missing_tesseract_is_one_line_naming_the_packages(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-tesseract-here"))
    path = mixed_pdf(tmp_path / "mixed.pdf", ["Article 1 Typed text."], scan(ENGLISH))
    with pytest.raises(LoadError) as caught:
        load_file(path)
    message = str(caught.value)
    assert message == (
        f"{path} has scanned pages (no text layer), but Tesseract is not installed to read them: "
        "apt-get install tesseract-ocr tesseract-ocr-chi-sim"
    )
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@needs_tesseract
@needs_fonts
def test_missing_language_data_names_its_package(tmp_path):
    path = image_pdf(tmp_path / "scan.pdf", [scan(ENGLISH)])
    limits = LoadLimits(ocr=OcrOptions(languages="eng+nld_frisian"))
    message = (r"scan\.pdf has scanned pages \(no text layer\), but Tesseract has no language data for "
               r"nld_frisian \(ocr_languages = eng\+nld_frisian\): apt-get install tesseract-ocr-nld-frisian$")
    with pytest.raises(LoadError, match=message):
        load_file(path, limits=limits)


def test_install_hint_leaves_out_what_tesseract_ocr_brings():
    assert install_hint("eng+chi_sim") == "apt-get install tesseract-ocr tesseract-ocr-chi-sim"
    assert install_hint("eng") == "apt-get install tesseract-ocr"


# --- Tesseract's output -----------------------------------------------------------------

TSV_HEADER = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"


def tsv(*words: tuple[int, int, int, float, str]) -> str:
    """Tesseract TSV rows for (block, paragraph, line, confidence, word)."""
    rows = [TSV_HEADER, "1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t"]
    rows += [f"5\t1\t{b}\t{p}\t{ln}\t{n}\t0\t0\t10\t10\t{conf}\t{word}" for n, (b, p, ln, conf, word) in enumerate(words)]
    return "\n".join(rows) + "\n"


def test_page_text_keeps_lines_and_blocks_and_joins_chinese():
    read = page_text(tsv((1, 1, 1, 96.0, "Article"), (1, 1, 1, 90.0, "9"), (1, 1, 2, 95.0, "kept."),
                         (2, 1, 1, 80.0, "第九条"), (2, 1, 1, 70.0, "会"), (2, 1, 1, 90.0, "议。")))
    assert read.text == "Article 9\nkept.\n\n第九条会议。"
    assert read.chars == 17
    assert read.confidence == pytest.approx((96 * 7 + 90 + 95 * 5 + 80 * 3 + 70 + 90 * 2) / 19)
    assert read.usable


def test_page_text_makes_ascii_punctuation_beside_chinese_full_width():
    read = page_text(tsv((1, 1, 1, 90.0, "会议"), (1, 1, 1, 90.0, "(一);"), (1, 1, 1, 90.0, "时间"), (1, 1, 1, 90.0, "8:30"),
                         (1, 1, 1, 90.0, "(a),"), (1, 1, 1, 90.0, "b")))
    assert read.text == "会议（一）；时间8:30 (a), b"


def test_page_text_of_nothing_or_a_few_marks_is_not_usable():
    assert not page_text(TSV_HEADER + "\n").usable
    assert not page_text(tsv((1, 1, 1, 95.0, "|"), (1, 1, 1, 95.0, "ii"))).usable  # too few characters
    assert not page_text(tsv((1, 1, 1, 40.0, "Jeulo"), (1, 1, 1, 45.0, "punos6y9eg"))).usable  # unsure


def test_character_accuracy_ignores_layout_whitespace():
    assert comparable(" Article  9\nkept \n 第九条 会议 ") == "Article 9 kept第九条会议"
    assert character_accuracy("Article 9\n\nkept", "Article 9 kept") == 1.0
    assert character_accuracy("Articlc 9 kept", "Article 9 kept") == pytest.approx(1 - 1 / 14)
