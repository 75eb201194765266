"""OCR speed and character accuracy on real corpus pages printed to image-only PDFs.

Usage: python eval/ocr_accuracy.py [--dpi 300] [--languages eng+chi_sim] [--pages-only] [--json FILE]

Each page is first a PDF with a text layer: the corpus's own PDF, or a corpus
Markdown file typeset as the corpus PDFs are (English, scripts/build_corpus_files.py)
or with fpdf2 in a Noto CJK face (Chinese). Its first page is rendered with
pypdfium2 at --dpi and saved as an image-only PDF (Pillow, JPEG-compressed as a
scanner's PDF is), then read by the loader exactly as `kb ingest` reads it; the
time is the loader's whole time for that page. The reference is the text layer
of the same page as PDFium extracts it, less its "- 1 -" footer (the loader drops
page-number lines), and

    character accuracy = 1 - Levenshtein distance / reference length

over whitespace-normalised text (`ingest.ocr.comparable`: whitespace runs made
one space, none beside a Chinese character). "scan-like" is the same page tilted
0.6 degrees, blurred a little and dusted with specks, as a flatbed scan of a
printout looks.

Then pages that should not be indexed (blank paper, dust, noise, garbled print)
are read, to show where they fall against the usable-page thresholds; and one
page is timed with Tesseract's own threads and with one thread, with and
without orientation detection.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from build_corpus_files import build_pdf, read_source  # noqa: E402

from ingest.loaders import LoadLimits, load_file  # noqa: E402
from ingest.ocr import (  # noqa: E402
    LINE_CLEANUPS,
    MIN_CHARS,
    MIN_CONFIDENCE,
    OcrOptions,
    Tesseract,
    character_accuracy,
    comparable,
    page_text,
)

CJK_FONTS = Path("/usr/share/fonts/opentype/noto")
SIMPLIFIED = 2  # the Simplified Chinese face in the Noto CJK collections

PAGES = [
    ("English", "corpus/regulations/document-format-rules.pdf", None),
    ("English", "corpus/regulations/meeting-management-rules.md", None),
    ("Chinese", "corpus/zh/regulations/huiyi-guanli-banfa.md", "NotoSerifCJK-Regular.ttc"),
    ("Chinese", "corpus/zh/documents/2025-09-19-tongzhi-2025-zhongqiu-guoqing-zhiban.md", "NotoSansCJK-Regular.ttc"),
]


def text_layer_pdf(path: Path, cjk_font: str | None) -> bytes:
    """The file as a PDF with a text layer, as the corpus PDFs are made."""
    if path.suffix == ".pdf":
        return path.read_bytes()
    source = read_source(path)
    return build_pdf(source) if cjk_font is None else chinese_pdf(source, CJK_FONTS / cjk_font)


def chinese_pdf(source, font: Path) -> bytes:
    """A Chinese Markdown source on A4 with the corpus PDFs' margins and sizes."""
    from fpdf import FPDF
    from fpdf.enums import WrapMode

    pdf = FPDF(format="A4")
    pdf.add_font("cjk", fname=str(font), collection_font_number=SIMPLIFIED)
    pdf.set_margins(22, 22, 22)
    pdf.add_page()
    for block in source.blocks:
        size = {1: 16, 2: 13}.get(block.level, 11) if block.kind == "heading" else 11
        lines = [" | ".join(row) for row in block.rows] if block.kind == "table" else list(block.lines)
        pdf.set_font("cjk", size=size)
        pdf.multi_cell(0, size * 0.55, "\n".join(lines), wrapmode=WrapMode.CHAR, new_x="LMARGIN", new_y="NEXT",
                       align="C" if block.kind == "heading" and block.level == 1 else "L")
        pdf.ln(2.4)
    return bytes(pdf.output())


def reference_text(pdf: bytes) -> str:
    """The first page's text layer, by PDFium.

    Not by the loader's pypdf: it reads fpdf2's Chinese text layer with a NUL after
    every character and many characters wrong, PDFium reads it right.
    """
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        text = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    return _FOOTER.sub("", text)


_FOOTER = re.compile(r"\s*-\s*\d+\s*-\s*\Z")


def first_page(pdf: bytes) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.add_page(PdfReader(io.BytesIO(pdf)).pages[0])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def render(pdf: bytes, dpi: int) -> Image.Image:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        return document[0].render(scale=dpi / 72, grayscale=True).to_pil().copy()
    finally:
        document.close()


def scan_like(image: Image.Image, seed: int = 0) -> Image.Image:
    """Tilted 0.6 degrees, slightly blurred, with dark specks on the paper."""
    rng = np.random.default_rng(seed)
    tilted = image.rotate(0.6, resample=Image.Resampling.BICUBIC, fillcolor=255).filter(ImageFilter.GaussianBlur(0.8))
    pixels = np.array(tilted, dtype=np.int16)
    specks = rng.random(pixels.shape) < 0.0005
    pixels[specks] = rng.integers(0, 140, int(specks.sum()))
    pixels += rng.normal(0, 6, pixels.shape).astype(np.int16)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def image_pdf(image: Image.Image, dpi: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "PDF", resolution=dpi)
    return out.getvalue()


def read_scan(pdf: bytes, workdir: Path, name: str, options: OcrOptions) -> tuple[str, float]:
    """(the loader's text, seconds) for an image-only PDF."""
    path = workdir / name
    path.write_bytes(pdf)
    start = time.perf_counter()
    doc = load_file(path, limits=LoadLimits(ocr=options))[0]
    return doc.text, time.perf_counter() - start


def measure_pages(options: OcrOptions, workdir: Path) -> list[dict]:
    tesseract = Tesseract(options.languages)
    rows = []
    for n, (language, rel, font) in enumerate(PAGES):
        text_pdf = first_page(text_layer_pdf(ROOT / rel, font))
        reference = reference_text(text_pdf)
        page = render(text_pdf, options.dpi)
        row = {"language": language, "file": rel, "reference_chars": len(comparable(reference))}
        for variant, image in (("clean", page), ("scan_like", scan_like(page, n))):
            text, seconds = read_scan(image_pdf(image, options.dpi), workdir, f"{variant}-{n}.pdf", options)
            row[variant] = {"accuracy": round(character_accuracy(text, reference), 4), "seconds": round(seconds, 2)}
        # Each line cleanup left out in turn, on the clean page as the loader saw it.
        tsv = tesseract.tsv(render(image_pdf(page, options.dpi), options.dpi), options.dpi)
        row["clean"]["confidence"] = round(page_text(tsv).confidence, 1)
        row["without"] = {
            step.__name__: round(character_accuracy(
                page_text(tsv, [other for other in LINE_CLEANUPS if other is not step]).text, reference), 4)
            for step in LINE_CLEANUPS
        }
        rows.append(row)
        print(f"{language:8} {rel}: clean {row['clean']}, scan-like {row['scan_like']}", file=sys.stderr)
    return rows


def hard_pages(page: Image.Image, chinese: Image.Image) -> dict[str, tuple[Image.Image, bool]]:
    """Pages a scanner produces, each with whether it should be indexed: blank or noisy
    paper and unreadable print should not; print upside down should, turned by Tesseract."""
    rng = np.random.default_rng(1)
    shape = page.size[::-1]
    dust = np.full(shape, 235, np.uint8)
    for _ in range(400):
        y, x, size = int(rng.integers(0, shape[0] - 6)), int(rng.integers(0, shape[1] - 6)), int(rng.integers(2, 7))
        dust[y : y + size, x : x + size] = rng.integers(0, 120)
    return {
        "dusty blank paper": (Image.fromarray(dust), False),
        "grey noise": (Image.fromarray(np.clip(rng.normal(200, 40, shape), 0, 255).astype(np.uint8)), False),
        "print blurred past reading (6 px)": (page.filter(ImageFilter.GaussianBlur(6)), False),
        "print mirrored (scanned through the paper)": (ImageOps.mirror(page), False),
        "Chinese print mirrored": (ImageOps.mirror(chinese), False),
        "print upside down": (page.rotate(180), True),
    }


def measure_hard_pages(page: Image.Image, chinese: Image.Image, options: OcrOptions) -> list[dict]:
    tesseract = Tesseract(options.languages)
    rows = []
    for name, (image, wanted) in hard_pages(page, chinese).items():
        read = tesseract.read(image, options.dpi)
        rows.append({"page": name, "chars": read.chars, "confidence": round(read.confidence, 1),
                     "indexed": read.usable, "should_be": wanted})
        print(f"{name}: {rows[-1]}", file=sys.stderr)
    return rows


def measure_settings(page: Image.Image, options: OcrOptions, repeats: int) -> list[dict]:
    """Tesseract on one page: its own threads or one; orientation detection (psm 1) or not (psm 3)."""
    buffer = io.BytesIO()
    page.save(buffer, format="PPM")
    rows = []
    for threads in ("default", "1"):
        for psm in ("1", "3"):
            env = {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT"}
            if threads == "1":
                env["OMP_THREAD_LIMIT"] = "1"
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                subprocess.run(["tesseract", "stdin", "stdout", "-l", options.languages, "--dpi", str(options.dpi),
                                "--psm", psm, "tsv"], input=buffer.getvalue(), capture_output=True, env=env, check=True)
                times.append(time.perf_counter() - start)
            rows.append({"threads": threads, "psm": psm, "seconds": round(statistics.median(times), 2)})
            print(rows[-1], file=sys.stderr)
    return rows


def markdown(result: dict) -> str:
    steps = [step.__name__ for step in LINE_CLEANUPS]
    lines = ["| page | language | reference chars | clean: accuracy / s / confidence | scan-like: accuracy / s | "
             + " | ".join(f"clean, without `{step}`" for step in steps) + " |", "|---" * (5 + len(steps)) + "|"]
    for row in result["pages"]:
        lines.append(f"| `{row['file']}` p. 1 | {row['language']} | {row['reference_chars']:,} | "
                     f"{row['clean']['accuracy']:.2%} / {row['clean']['seconds']:.1f} / {row['clean']['confidence']} | "
                     f"{row['scan_like']['accuracy']:.2%} / {row['scan_like']['seconds']:.1f} | "
                     + " | ".join(f"{row['without'][step]:.2%}" for step in steps) + " |")
    lines += ["", f"| page | characters read | mean confidence | indexed (≥ {MIN_CHARS} characters, "
              f"confidence ≥ {MIN_CONFIDENCE:.0f}) | should be |", "|---|---|---|---|---|"]
    lines += [f"| {r['page']} | {r['chars']:,} | {r['confidence']} | {'yes' if r['indexed'] else 'no'} | "
              f"{'yes' if r['should_be'] else 'no'} |" for r in result["hard_pages"]]
    lines += ["", "| Tesseract threads | page segmentation | s/page (median) |", "|---|---|---|"]
    lines += [f"| {r['threads']} | {r['psm']} | {r['seconds']:.2f} |" for r in result["settings"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dpi", type=int, default=300)
    parser.add_argument("--languages", default="eng+chi_sim")
    parser.add_argument("--repeats", type=int, default=3, help="runs per Tesseract setting timed")
    parser.add_argument("--pages-only", action="store_true", help="only the corpus pages, no hard pages or timings")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    options = OcrOptions(languages=args.languages, dpi=args.dpi)
    import tempfile

    load_before = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory() as tmp:
        pages = measure_pages(options, Path(tmp))
    first = render(first_page(text_layer_pdf(ROOT / PAGES[0][1], None)), args.dpi)
    chinese = render(first_page(text_layer_pdf(ROOT / PAGES[2][1], PAGES[2][2])), args.dpi)
    result = {
        "dpi": args.dpi, "languages": args.languages, "engine": Tesseract(args.languages).version,
        "cpus": os.cpu_count(), "load_average_before": load_before, "pages": pages,
        "hard_pages": [] if args.pages_only else measure_hard_pages(first, chinese, options),
        "settings": [] if args.pages_only else measure_settings(first, options, args.repeats),
    }
    result["load_average_after"] = round(os.getloadavg()[0], 2)
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
