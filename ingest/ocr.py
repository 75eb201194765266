"""Read scanned PDF pages with Tesseract OCR.

A page is rendered with pypdfium2 at ``OcrOptions.dpi`` and read by the
``tesseract`` command in ``OcrOptions.languages``. Tesseract's word
confidences then decide whether the page holds text worth indexing: noise
and blank paper come back empty or as a few marks, garbled print (blurred,
mirrored) as strings read with low confidence, and either page is reported
as unreadable rather than indexed as junk.

The command is run directly rather than through a wrapper so that each call
gets ``OMP_THREAD_LIMIT=1``: on two shared cores Tesseract's own threads make
a page about four times slower (measured in eval/README.md), and setting the
variable for the whole process would also cap torch's threads.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kb.errors import LoadError

# A page of more pixels is rendered at a lower resolution, so a PDF with a
# huge page cannot exhaust memory (A3 at 300 dpi is 17 million).
MAX_PAGE_PIXELS = 40_000_000
PAGE_TIMEOUT_S = 300
# No pixel darker than this (0 black, 255 white): the page has no ink at all.
_BLANK_DARKEST = 224
# Thresholds for a usable page, from the pages measured by eval/ocr_accuracy.py: garbled
# print reads at 24-42 mean confidence, clean print at 90 and more (eval/README.md).
MIN_CHARS = 4
MIN_CONFIDENCE = 60.0

# Tesseract puts a space between Chinese characters; Chinese text has none.
_CJK = r"\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}])[ \t]+|[ \t]+(?=[{_CJK}])")
# It also reads Chinese full-width punctuation as ASCII: "会议(一);" for "会议（一）；".
_FULL_WIDTH = {"(": "（", ")": "）", ",": "，", ";": "；", ":": "：", "?": "？", "!": "！"}
_ASCII_BY_CJK = re.compile(rf"(?<=[{_CJK}])[ \t]*([(),;:?!])|([(),;:?!])[ \t]*(?=[{_CJK}])")
# Language packs that come with Debian's tesseract-ocr package itself.
_BUNDLED_LANGUAGES = {"eng", "osd"}

_pdfium_lock = threading.Lock()  # PDFium is not thread-safe


@dataclass(frozen=True)
class OcrOptions:
    """How scanned pages are read.

    Attributes:
        mode: "auto" reads pages without a text layer by OCR; "off" leaves
            them empty (a PDF with no text layer at all is refused).
        languages: Tesseract languages joined by "+", e.g. "eng+chi_sim".
        dpi: Resolution pages are rendered at for OCR.
    """

    mode: str = "auto"
    languages: str = "eng+chi_sim"
    dpi: int = 300


@dataclass(frozen=True)
class PageText:
    """What OCR read on one page.

    Attributes:
        text: Lines of the page; blocks separated by a blank line.
        chars: Letters (Latin or CJK) and digits in ``text``.
        confidence: Tesseract's mean word confidence, weighted by word length, 0 to 100.
    """

    text: str
    chars: int
    confidence: float

    @property
    def usable(self) -> bool:
        """Whether the page holds enough confidently read text to index."""
        return self.chars >= MIN_CHARS and self.confidence >= MIN_CONFIDENCE


BLANK = PageText("", 0, 0.0)


def install_hint(languages: str) -> str:
    """The apt-get command that installs Tesseract with ``languages``."""
    return "apt-get install " + " ".join(["tesseract-ocr", *_language_packages(languages.split("+"))])


def _language_packages(languages: Sequence[str]) -> list[str]:
    return [f"tesseract-ocr-{lang.lower().replace('_', '-')}" for lang in languages if lang not in _BUNDLED_LANGUAGES]


class Tesseract:
    """The ``tesseract`` command on PATH, checked to have the languages asked for.

    Raises:
        LoadError: Tesseract is missing, does not run, or lacks a language;
            the message names the package to install.
    """

    def __init__(self, languages: str) -> None:
        self.languages = languages
        command = shutil.which("tesseract")
        if command is None:
            raise LoadError(f"Tesseract is not installed to read them: {install_hint(languages)}")
        self.command = command
        # The first line names the folder.
        installed = {line.strip() for line in self._run("--list-langs").splitlines()[1:]}
        missing = [lang for lang in languages.split("+") if lang not in installed]
        if missing:
            raise LoadError(
                f"Tesseract has no language data for {', '.join(missing)} (ocr_languages = {languages}): "
                f"apt-get install {' '.join(_language_packages(missing)) or 'tesseract-ocr'}"
            )
        version = self._run("--version").split("\n", 1)[0].split()
        self.version = " ".join(version[:2]) if version else "tesseract"
        # Page segmentation 1 first finds the page's orientation (with the "osd" data), so a page
        # scanned sideways or upside down reads as well as an upright one; 3 is the same without.
        self.segmentation = "1" if "osd" in installed else "3"

    def _run(self, *args: str, data: bytes | None = None, timeout: float = 60) -> str:
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        try:
            done = subprocess.run([self.command, *args], input=data, capture_output=True, env=env,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise LoadError(f"Tesseract took over {timeout:.0f} s") from None
        except OSError as exc:
            raise LoadError(f"Tesseract cannot run ({exc.strerror or exc}): {install_hint(self.languages)}") from None
        if done.returncode != 0:
            lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise LoadError(f"Tesseract failed: {lines[-1] if lines else f'exit status {done.returncode}'}")
        return done.stdout.decode("utf-8", "replace")

    def read(self, image: Any, dpi: int) -> PageText:
        """OCR one greyscale PIL image."""
        return page_text(self.tsv(image, dpi))

    def tsv(self, image: Any, dpi: int) -> str:
        """Tesseract's TSV for one greyscale PIL image: a row per word, with its place and confidence."""
        buffer = io.BytesIO()
        image.save(buffer, format="PPM")  # uncompressed: the quickest to write and to read
        return self._run("stdin", "stdout", "-l", self.languages, "--dpi", str(dpi), "--psm", self.segmentation,
                         "tsv", data=buffer.getvalue(), timeout=PAGE_TIMEOUT_S)


def full_width_punctuation(line: str) -> str:
    """ASCII ( ) , ; : ? ! beside a Chinese character made full-width, as Chinese text writes them."""
    return _ASCII_BY_CJK.sub(lambda m: _FULL_WIDTH[m.group(1) or m.group(2)], line)


def join_chinese(line: str) -> str:
    """No space beside a Chinese character."""
    return _CJK_GAP.sub("", line)


# What is done to each line of OCR text, in order (eval/ocr_accuracy.py measures each).
LINE_CLEANUPS: tuple[Callable[[str], str], ...] = (full_width_punctuation, join_chinese)


def page_text(tsv: str, cleanups: Sequence[Callable[[str], str]] = LINE_CLEANUPS) -> PageText:
    """Assemble Tesseract's TSV output into lines and blocks, each line cleaned, and score it."""
    blocks: dict[tuple[str, str], dict[str, list[str]]] = {}
    weighted = length = chars = 0.0
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5" or not cells[11].strip():
            continue
        word, confidence = cells[11].strip(), float(cells[10])
        blocks.setdefault((cells[1], cells[2]), {}).setdefault(f"{cells[3]}.{cells[4]}", []).append(word)
        weighted += confidence * len(word)
        length += len(word)
        chars += sum(c.isalnum() for c in word)

    def clean(line: str) -> str:
        for step in cleanups:
            line = step(line)
        return line

    text = "\n\n".join("\n".join(clean(" ".join(words)) for words in lines.values()) for lines in blocks.values())
    return PageText(text, int(chars), weighted / length if length else 0.0)


@dataclass(frozen=True)
class OcrResult:
    """The pages OCR read, and what read them.

    Attributes:
        pages: By 0-based page index.
        engine: E.g. "tesseract 5.3.0"; "" when every page was blank and Tesseract never ran.
    """

    pages: dict[int, PageText]
    engine: str


def read_pages(pdf: bytes, pages: Sequence[int], options: OcrOptions) -> OcrResult:
    """OCR the given 0-based pages of a PDF.

    A page with no ink at all is ``BLANK`` without running Tesseract, so a
    PDF whose only textless pages are blank reads without Tesseract installed.

    Raises:
        LoadError: The PDF cannot be rendered, or Tesseract is needed and
            missing or fails (the message has no file name).
    """
    import pypdfium2 as pdfium

    engine: Tesseract | None = None
    read: dict[int, PageText] = {}
    with _pdfium_lock:
        try:
            document = pdfium.PdfDocument(pdf)
        except pdfium.PdfiumError as exc:
            raise LoadError(f"PDFium cannot open it to render its pages ({exc})") from None
    try:
        for index in pages:
            image = _render(document, index, options.dpi)
            if image.getextrema()[0] > _BLANK_DARKEST:
                read[index] = BLANK
                continue
            engine = engine or Tesseract(options.languages)
            try:
                read[index] = engine.read(image, options.dpi)
            except LoadError as exc:
                raise LoadError(f"OCR of page {index + 1} failed ({exc})") from None
    finally:
        with _pdfium_lock:
            document.close()
    return OcrResult(read, engine.version if engine else "")


def _render(document: Any, index: int, dpi: int) -> Any:
    """Page ``index`` as a greyscale PIL image at ``dpi``, or less for a huge page."""
    import pypdfium2 as pdfium

    with _pdfium_lock:
        try:
            page = document[index]
            width, height = page.get_size()  # in points, 1/72 inch
            scale = min(dpi / 72, (MAX_PAGE_PIXELS / max(width * height, 1.0)) ** 0.5)
            return page.render(scale=scale, grayscale=True).to_pil()
        except pdfium.PdfiumError as exc:
            raise LoadError(f"PDFium cannot render page {index + 1} ({exc})") from None


def comparable(text: str) -> str:
    """``text`` with whitespace runs made one space, and none beside a CJK character."""
    return _CJK_GAP.sub("", " ".join(text.split()))


def character_accuracy(text: str, reference: str) -> float:
    """1 - Levenshtein distance / reference length, over `comparable` text; can fall below 0.

    Needs rapidfuzz (the test and eval extras).
    """
    from rapidfuzz.distance import Levenshtein

    text, reference = comparable(text), comparable(reference)
    return 1.0 - Levenshtein.distance(text, reference) / max(len(reference), 1)
