"""Read source files (PDF, DOCX, Markdown, text, JSONL passages) into Documents.

One private loader per format, chosen by suffix. Every failure is a
``LoadError`` whose message names the file, the reason and, where there is
one, the fix.

Metadata (title, type, issuer, number, date, status, superseded_by) comes from:

* Markdown and text: YAML front matter, validated strictly (a bad ``type``,
  ``status`` or ``date`` fails the file);
* PDF: the document information dictionary: ``/Title`` and the custom keys
  ``/Issuer``, ``/Number``, ``/Date``, ``/Status``, ``/DocType`` (type) and
  ``/SupersededBy``, and who may read it: ``/Level`` (or ``/Security``,
  ``/Classification``, ``/密级``) and ``/Groups`` (or ``/Departments``, ``/部门``);
* DOCX: the custom properties (File > Properties > Custom) of the same names,
  from ``docProps/custom.xml``; without a ``Title`` property, the title is the
  Title-styled paragraph, the first heading or the core title;
* JSONL: keys on each passage or in its ``metadata`` object.

Where these give no number or date, they are read from the text itself (not for JSONL): the
number from a header line that opens with one ("Mer. Gov. Off. [2026] No. 3", "子府办发〔2026〕3号",
"〔2026〕3号"), the date from the signature's date line near the end ("30 January 2026",
"2026年1月30日"), else from the first date line under the title; both as ``kb.grammar`` reads them.

Property names are matched ignoring case, spaces, ``_`` and ``-``. Properties
are set by templates and tools as much as by people, so an invalid
``DocType``, ``Status`` or ``Date`` is ignored (logged at debug level) and the
folder-derived type, ``in_force`` or no date is used instead.

Every file is read within ``LoadLimits``: a symbolic link is not followed
out of the ingested folder (nor round a loop), a DOCX whose XML unpacks
to more than ``max_docx_xml_bytes`` and a file of more than ``max_chars``
characters are refused, so one small hostile file cannot tie up an ingest.

A PDF page whose text layer holds no letter or digit is scanned: unless
``LoadLimits.ocr.mode`` is "off", it is read by OCR (see ``ingest.ocr``), and
``Document.meta`` lists the pages so read (``ocr_pages``) and those where OCR
found no usable text and which were left out (``ocr_unreadable_pages``).
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import io
import json
import logging
import os
import re
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import yaml

from ingest.ocr import OcrOptions
from kb.errors import LoadError
from kb.grammar import date_line, leading_number
from kb.types import DOC_TYPES, OCR_PAGES, OCR_UNREADABLE_PAGES, STATUSES, Chunk, Document

logger = logging.getLogger(__name__)

TITLE_MAX_CHARS = 120

# Folder names that say what a file is; the folder nearest the file wins.
_FOLDER_TYPES = {
    "regulations": "regulation",
    "regulation": "regulation",
    "rules": "regulation",
    "policies": "regulation",
    "制度": "regulation",
    "规章制度": "regulation",
    "规章": "regulation",
    "documents": "document",
    "document": "document",
    "docs": "document",
    "文件": "document",
    "公文": "document",
    "minutes": "minutes",
    "meetings": "minutes",
    "会议纪要": "minutes",
    "纪要": "minutes",
    "会议记录": "minutes",
}

# Front-matter keys that become Document fields; the rest go to ``meta``.
_NUMBER_KEYS = ("number", "doc_number", "document_number")
_FIELD_KEYS = ("title", "type", "status", "issuer", "date", "superseded_by", *_NUMBER_KEYS)

# Custom document property names (PDF info keys without "/", DOCX custom
# properties), lower-cased without spaces, "_" or "-", and the fields they set.
_PROPERTY_FIELDS = {
    "title": "title",
    "issuer": "issuer",
    "number": "number",
    "date": "date",
    "status": "status",
    "doctype": "type",
    "supersededby": "superseded_by",
    # Who may read it (kb.access): kept in Document.meta, checked at ingest.
    "level": "level", "security": "level", "securitylevel": "level", "classification": "level", "密级": "level",
    "groups": "groups", "departments": "groups", "department": "groups", "部门": "groups",
}
_DOCX_CUSTOM_PART = "docProps/custom.xml"
_DOCX_CUSTOM_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}"
# PDF dates ("D:20240722...") and ISO date-times (DOCX "filetime" values).
_PROPERTY_DATE = re.compile(r"D:(\d{4})(\d{2})(\d{2})\S*|(\d{4})-(\d{2})-(\d{2})T\S*")

_BINARY_SNIFF_BYTES = 8192
# Real text has next to no control bytes; random or binary data has ~10 %.
_MAX_CONTROL_SHARE = 0.05
_CONTROL_BYTES = frozenset(b for b in range(32) if b not in b"\t\n\v\f\r") | {0x7F}
# GB18030 decodes almost any byte string, so a decode alone proves little:
# real Chinese office text is overwhelmingly ASCII plus the GB2312 repertoire.
_MIN_COMMON_SHARE = 0.8
_COMMON_SAMPLE_CHARS = 5000
_CHINESE_CODECS = {"gb18030", "gbk", "gb2312", "hz"}
_DETECT_BYTES = 1 << 20  # the detector reads at most the first MiB
_MAX_CHAOS = 10.0  # per cent of "mess" in charset-normalizer's best guess above which we refuse

_FRONT_OPEN = re.compile(r"\A---[ \t]*\n")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)^(?:---|\.\.\.)[ \t]*$\n?", re.S | re.M)
_MD_TITLE = re.compile(r"^#[ \t]+(.+?)[ \t]*$", re.M)
_HEADING_MARK = re.compile(r"^#{1,6}[ \t]+")
_DOCX_HEADING = re.compile(r"heading\s*([1-9])", re.I)
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


@dataclass(frozen=True)
class LoadLimits:
    """What one file may cost to read.

    Attributes:
        max_chars: Most characters of text in one file that is to be chunked (pre-chunked
            JSONL passages are indexed as given, and not counted).
        max_docx_xml_bytes: Most bytes the XML parts of a DOCX may unpack to.
        follow_symlinks: Follow links that lead out of the ingested folder.
        ocr: Whether and how scanned PDF pages are read by OCR.
    """

    max_chars: int = 2_000_000
    max_docx_xml_bytes: int = 50 * 1024 * 1024
    follow_symlinks: bool = False
    ocr: OcrOptions = OcrOptions()


@dataclass(frozen=True)
class _Source:
    """A file to load, with the ids derived from where it sits.

    ``data`` is where its bytes are read from: the file itself, or a staged
    copy that will take its place once indexed (an upload).
    """

    path: Path
    doc_id: str
    folder_type: str
    data: Path
    limits: LoadLimits = LoadLimits()


@dataclass(frozen=True)
class _Fields:
    """Validated document metadata from front matter, document properties or JSONL keys."""

    title: str | None
    type: str
    status: str
    issuer: str | None
    number: str | None
    date: str | None
    superseded_by: str | None
    meta: dict[str, Any] = field(default_factory=dict)


# --- public API -------------------------------------------------------------


def iter_files(paths: Iterable[Path], follow_symlinks: bool = False) -> Iterator[tuple[Path, Path]]:
    """Expand files and folders into (file, root) pairs, ready for `load_file`.

    Folders are walked recursively in sorted order, skipping hidden files and
    folders (``.git``) and Office lock files (``~$...``). Files of unsupported
    types are yielded too, so that `load_file` reports each one rather than
    the ingest passing over it in silence; so are links to files, which
    `load_file` checks. Linked folders are entered only with
    ``follow_symlinks``, and each real folder once, so a loop ends.

    Raises:
        LoadError: A path does not exist.
    """
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for file in _walk(path, follow_symlinks):
                yield file, path
        elif path.is_file() or path.is_symlink():
            yield path, path.parent
        else:
            raise LoadError(f"{path}: no such file or folder; check the path")


def read_text(path: Path) -> str:
    """A Markdown or text file's whole text (front matter included), decoded and with
    ``\n`` line ends, exactly as `load_file` reads it.

    Raises:
        LoadError: The file is unreadable, binary or in an unknown encoding.
    """
    path = Path(path)
    return _normalise(_decode_text(path, _read_bytes(_Source(path, "", "other", path))))


def make_doc_id(path: Path, root: Path) -> str:
    """The posix path of ``path`` under ``root`` without suffix, e.g. 'rules/leave'."""
    return _relative(Path(path), Path(root)).with_suffix("").as_posix()


def load_file(
    path: Path, root: Path | None = None, limits: LoadLimits = LoadLimits(), data: Path | None = None
) -> list[Document]:
    """Read one file into documents: one per file, or one per doc_id for JSONL.

    Args:
        path: The file.
        root: The ingested folder; sets doc_id and the folder-derived type.
            Defaults to the file's parent.
        limits: Size limits, and whether links may lead out of ``root``.
        data: Read the bytes from here instead (a staged upload that will
            become ``path``); ``path`` still names the document.

    Raises:
        LoadError: The file is missing, empty, unsupported, unreadable, over a
            limit, or a link that loops or leads out of ``root``.
    """
    path = Path(path)
    root = path.parent if root is None else Path(root)
    if data is None:
        check_link(path, root, limits.follow_symlinks)
    data = Path(data or path)
    if not data.is_file():
        raise LoadError(f"{path}: no such file; check the path")
    loader = _LOADERS.get(path.suffix.lower())
    if loader is None:
        suffix = path.suffix or "(none)"
        raise LoadError(
            f"{path}: unsupported file type {suffix}; supported: "
            f"{', '.join(SUPPORTED_SUFFIXES)}. Convert it to one of these first"
        )
    if data.stat().st_size == 0:
        raise LoadError(f"{path} is empty (0 bytes)")
    rel = _relative(path, root)
    source = _Source(path, make_doc_id(path, root), _type_from_folders(rel, root), data, limits)
    documents = loader(source)
    # Pre-chunked passages (JSONL) are indexed as given; the limit guards the chunker's work.
    chars = sum(len(doc.text) for doc in documents if not doc.chunks)
    if chars > limits.max_chars:
        raise LoadError(
            f"{path} holds {chars:,} characters, over the limit of {limits.max_chars:,} per file "
            "(max_file_chars): split it into smaller files, or raise the limit"
        )
    return documents


def check_link(path: Path, root: Path, follow: bool) -> None:
    """Refuse a link that loops, dangles or (unless ``follow``) leads out of ``root``."""
    try:
        real = path.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports a loop so
        raise LoadError(f"{path}: symbolic link loop; remove or fix the link") from None
    except FileNotFoundError:
        if path.is_symlink():
            raise LoadError(f"{path}: broken symbolic link to {os.readlink(path)}; remove or fix it") from None
        raise LoadError(f"{path}: no such file; check the path") from None
    except OSError as exc:
        if exc.errno == 40:  # ELOOP, as Python >= 3.13 reports it
            raise LoadError(f"{path}: symbolic link loop; remove or fix the link") from None
        raise LoadError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if follow:
        return
    base = root.resolve()
    if real != base and base not in real.parents:
        raise LoadError(
            f"{path} is a link to {real}, outside the ingested folder {root}: not followed "
            "(set follow_symlinks = true to allow links out of the folder)"
        )


# --- one loader per format ---------------------------------------------------


def _load_pdf(src: _Source) -> list[Document]:
    data = _read_bytes(src)
    pages, info = _read_pdf(src.path, data)
    texts = [_drop_page_numbers(_normalise(page)).strip() for page in pages]
    ocr_meta: dict[str, Any] = {}
    if src.limits.ocr.mode != "off":
        texts, ocr_meta = _read_scanned_pages(src, data, texts)
    if not any(texts):
        if ocr_meta:
            raise LoadError(
                f"{src.path} has no readable text: no text layer, and OCR found no usable text on its "
                f"{len(texts)} page(s) (blank, or too faint, blurred or noisy to read); check the scan"
            )
        raise LoadError(
            f"{src.path} has no text layer (image-only or scanned PDF); "
            "run OCR on it first (e.g. ocrmypdf) and ingest the result, or set ocr = \"auto\""
        )
    starts, offset = [], 0
    for page_text in texts:
        starts.append(offset)
        offset += len(page_text) + 2  # the "\n\n" between pages
    text = "\n\n".join(texts)
    # Keys that are not metadata fields land in Document.meta.
    front = {**_property_front(info, str(src.path)), **ocr_meta}
    return [_document(src, text, front, _first_line_title(text), page_starts=tuple(starts))]


def _read_scanned_pages(src: _Source, data: bytes, texts: list[str]) -> tuple[list[str], dict[str, Any]]:
    """OCR the pages whose text layer holds no letter or digit: the page texts, and what to add to meta."""
    from ingest.ocr import read_pages

    scanned = [i for i, page in enumerate(texts) if not any(c.isalnum() for c in page)]
    if not scanned:
        return texts, {}
    try:
        result = read_pages(data, scanned, src.limits.ocr)
    except LoadError as exc:
        raise LoadError(f"{src.path} has scanned pages (no text layer), but {exc}") from None
    texts = list(texts)
    read, unreadable = [], []
    for index, page in sorted(result.pages.items()):
        page_text = _drop_page_numbers(_normalise(page.text)).strip()
        usable = page.usable and any(c.isalnum() for c in page_text)
        texts[index] = page_text if usable else ""
        (read if usable else unreadable).append(index + 1)
    meta: dict[str, Any] = {}
    if read:
        options = src.limits.ocr
        meta.update({OCR_PAGES: read, "ocr_engine": result.engine, "ocr_languages": options.languages,
                     "ocr_dpi": options.dpi})
    if unreadable:
        meta[OCR_UNREADABLE_PAGES] = unreadable
        logger.info("%s: no usable text on scanned page(s) %s; left out", src.path, unreadable)
    return texts, meta


# A line that holds only a page number ("3", "- 3 -", "Page 3 of 7"): print furniture
# that would otherwise land in the middle of a sentence running across pages.
_PAGE_NUMBER_LINE = re.compile(
    r"^\s*(?:[-–—]\s*)?(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?(?:\s*[-–—])?\s*$", re.IGNORECASE
)


def _drop_page_numbers(page: str) -> str:
    """The page's text without a page-number line at its top or bottom."""
    lines = page.strip().split("\n")
    if lines and _PAGE_NUMBER_LINE.match(lines[-1]):
        lines.pop()
    if lines and _PAGE_NUMBER_LINE.match(lines[0]):
        lines.pop(0)
    return "\n".join(lines)


def _load_docx(src: _Source) -> list[Document]:
    import docx
    from docx.text.paragraph import Paragraph

    data = _read_bytes(src)
    _check_docx_size(src, data)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many types on a bad package
        raise LoadError(
            f"{src.path} is not a readable .docx file ({type(exc).__name__}: {exc}); "
            "if it is an old .doc or another format, open it in Word and save as .docx"
        ) from exc
    blocks: list[str] = []
    title_style: str | None = None
    first_heading: str | None = None
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            level, line = _docx_paragraph(item)
            if level and line:
                heading = line.split(" ", 1)[1]
                if title_style is None and _style_name(item).lower() == "title":
                    title_style = heading
                first_heading = first_heading or heading
        else:
            line = _docx_table(item)
        if line:
            blocks.append(line)
    text = _normalise("\n\n".join(blocks))
    if not text.strip():
        raise LoadError(f"{src.path} has no text; check that it is not empty or image-only")
    core_title = (document.core_properties.title or "").strip()
    title = _clip(title_style or first_heading or core_title) or _first_line_title(text)
    front = _property_front(_docx_properties(src.path, data), str(src.path))
    return [_document(src, text, front, title)]


def _load_markdown(src: _Source) -> list[Document]:
    return [_load_markup(src, markdown=True)]


def _load_text(src: _Source) -> list[Document]:
    return [_load_markup(src, markdown=False)]


def _load_jsonl(src: _Source) -> list[Document]:
    try:
        raw = _read_bytes(src).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(
            f"{src.path} is not UTF-8 text ({exc.reason}); save the JSONL as UTF-8"
        ) from exc
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    first_line_of: dict[str, int] = {}
    skipped = 0
    # split("\n"), not splitlines(): JSON strings may hold a raw U+2028.
    for line_no, line in enumerate(_normalise(raw).split("\n"), start=1):
        if not line.strip():
            continue
        record = _parse_passage(src.path, line_no, line)
        passage_id = record["id"]
        if passage_id in first_line_of:
            raise LoadError(
                f"{src.path}: passage id {passage_id!r} appears on lines "
                f"{first_line_of[passage_id]} and {line_no}; ids must be unique in a file"
            )
        first_line_of[passage_id] = line_no
        if not record["text"].strip():
            skipped += 1
            continue
        doc_id = str(record.get("doc_id") or "").strip() or src.doc_id
        groups.setdefault(doc_id, []).append((line_no, record))
    if skipped:
        logger.warning("%s: skipped %d passage(s) with empty text", src.path, skipped)
    if not groups:
        raise LoadError(f"{src.path} has no text: no passage has non-empty 'text'")
    return [_jsonl_document(src, doc_id, records) for doc_id, records in groups.items()]


_LOADERS: dict[str, Callable[[_Source], list[Document]]] = {
    ".pdf": _load_pdf,
    ".docx": _load_docx,
    ".md": _load_markdown,
    ".markdown": _load_markdown,
    ".txt": _load_text,
    ".jsonl": _load_jsonl,
}
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(_LOADERS)


# --- files and paths ----------------------------------------------------------


def _walk(root: Path, follow_symlinks: bool = False) -> list[Path]:
    found = []
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=follow_symlinks):
        real = os.path.realpath(dirpath)
        if real in seen:  # a linked folder leading back to one already walked
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = [name for name in dirnames if not name.startswith(".")]
        found.extend(Path(dirpath, name) for name in filenames if _wanted(name))
    return sorted(found, key=lambda file: file.relative_to(root).parts)


def _wanted(name: str) -> bool:
    return not name.startswith((".", "~$"))


def _relative(path: Path, root: Path) -> Path:
    try:
        return path.relative_to(root)
    except ValueError:
        pass
    # Mixed relative/absolute or symlinked spellings of the same place.
    try:
        return path.resolve().relative_to(root.resolve())
    except ValueError:
        raise LoadError(f"{path} is not inside {root}; pass the folder that holds it") from None


def _type_from_folders(rel: Path, root: Path) -> str:
    # The root's own name counts last, so `kb ingest regulations/` still types its files.
    for name in reversed((root.resolve().name, *rel.parts[:-1])):
        doc_type = _FOLDER_TYPES.get(name.lower())
        if doc_type:
            return doc_type
    return "other"


def _read_bytes(src: _Source) -> bytes:
    try:
        return src.data.read_bytes()
    except OSError as exc:
        raise LoadError(
            f"{src.path}: cannot read the file ({exc.strerror or exc}); check its permissions"
        ) from exc


# --- text ---------------------------------------------------------------------


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").removeprefix("\ufeff")


def _decode_text(path: Path, data: bytes) -> str:
    # Notepad's "Unicode" is UTF-16 with a BOM; its NUL bytes are not binary.
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise LoadError(f"{path} is not valid UTF-16 text; re-save it as UTF-8") from None
    if _looks_binary(data[:_BINARY_SNIFF_BYTES]):
        raise LoadError(f"{path} looks like a binary file, not text; check its suffix and content")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Not UTF-8: let a detector weigh the legacy encodings (GB18030, Big5, Windows-125x, ...)
    # against each other. GB18030 alone decodes almost any bytes: "Müller" in Windows-1252
    # reads as "M黮ler" without an error, so a clean decode proves nothing.
    from charset_normalizer import from_bytes

    best = from_bytes(data[:_DETECT_BYTES]).best()
    if best is None or best.percent_chaos > _MAX_CHAOS:
        raise LoadError(
            f"{path}: cannot tell its text encoding (it is not UTF-8); re-save it as UTF-8"
        )
    try:
        text = data.decode(best.encoding)
    except (UnicodeDecodeError, LookupError):
        raise LoadError(
            f"{path}: looks like {best.encoding} text but does not decode as such; re-save it as UTF-8"
        ) from None
    if best.encoding.replace("_", "").lower() in _CHINESE_CODECS and not _mostly_common_chars(text):
        raise LoadError(f"{path}: decodes as {best.encoding} only into rare characters; re-save it as UTF-8")
    return text


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    controls = sum(byte in _CONTROL_BYTES for byte in head)
    return controls > len(head) * _MAX_CONTROL_SHARE


def _mostly_common_chars(text: str) -> bool:
    sample = list(islice((c for c in text if not c.isspace()), _COMMON_SAMPLE_CHARS))
    common = sum(c.isascii() or _in_gb2312(c) for c in sample)
    return common >= _MIN_COMMON_SHARE * len(sample)


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _clip(title: str | None) -> str | None:
    if not title:
        return None
    return " ".join(title.split())[:TITLE_MAX_CHARS].rstrip() or None


def _first_line_title(text: str) -> str | None:
    for line in text.split("\n"):
        if line.strip():
            return _clip(_HEADING_MARK.sub("", line.strip()))
    return None


# --- Markdown and plain text ----------------------------------------------------


def _load_markup(src: _Source, *, markdown: bool) -> Document:
    text = _normalise(_decode_text(src.path, _read_bytes(src)))
    front, body = _split_front_matter(src.path, text)
    if not body.strip():
        raise LoadError(f"{src.path} has no text (only whitespace or front matter)")
    heading = _MD_TITLE.search(body) if markdown else None
    # Drop an ATX closing sequence ("# Title #") but keep "C#".
    heading_title = re.sub(r"[ \t]+#+$", "", heading.group(1)) if heading else None
    title = _clip(heading_title) or _first_line_title(body)
    return _document(src, body, front, title)


def _split_front_matter(path: Path, text: str) -> tuple[dict[Any, Any], str]:
    """Split YAML front matter from the body; offsets later point into the body."""
    if not _FRONT_OPEN.match(text):
        return {}, text
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise LoadError(
            f"{path}: front matter opened with '---' on line 1 is never closed; "
            "add a '---' line after it"
        )
    try:
        front = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise LoadError(
            f"{path}: invalid YAML front matter ({_yaml_problem(exc)}); fix it"
        ) from exc
    if front is None:
        front = {}
    if not isinstance(front, dict):
        raise LoadError(
            f"{path}: front matter must be 'key: value' lines (a mapping), "
            f"not a {type(front).__name__}"
        )
    return front, text[match.end() :]


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is None or problem is None:
        return str(exc)
    # The YAML starts on line 2 of the file, after the opening '---'.
    return f"line {mark.line + 2}: {problem}"


# --- PDF ----------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """Silence pypdf's warnings and log lines about harmless quirks of real PDFs."""
    pypdf_logger = logging.getLogger("pypdf")
    level = pypdf_logger.level
    pypdf_logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        pypdf_logger.setLevel(level)


def _read_pdf(path: Path, data: bytes) -> tuple[list[str], dict[str, str]]:
    """Return the text of each page and the document information, by key without "/"."""
    from pypdf import PdfReader

    with _quiet_pypdf():
        # pypdf raises many exception types on damaged files; any of them
        # means the same thing to the user.
        try:
            reader = PdfReader(io.BytesIO(data))
        except Exception as exc:
            raise LoadError(
                f"{path} is not a readable PDF ({exc}); check that it opens in a viewer"
            ) from exc
        _unlock_pdf(path, reader)
        pages: list[str] = []
        try:
            for page in reader.pages:
                pages.append(page.extract_text() or "")
        except Exception as exc:
            raise LoadError(
                f"{path} is not a readable PDF: page {len(pages) + 1} failed ({exc}); "
                "re-save or print it to a new PDF"
            ) from exc
        if not pages:
            raise LoadError(f"{path} has no pages")
        return pages, _pdf_info(path, reader)


def _pdf_info(path: Path, reader: Any) -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        metadata = reader.metadata or {}
        for key in metadata:
            value = metadata[key]  # resolves indirect objects
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                info[str(key).removeprefix("/")] = str(value)
    except Exception as exc:  # a broken Info dictionary must not cost the text
        logger.debug("%s: unreadable document information (%s); ignored", path, exc)
    return info


def _unlock_pdf(path: Path, reader: Any) -> None:
    from pypdf.errors import DependencyError

    if not reader.is_encrypted:
        return
    # Many "protected" PDFs only restrict printing: the empty password opens them.
    try:
        opened = reader.decrypt("")
    except DependencyError as exc:
        raise LoadError(
            f"{path} is encrypted with AES, which needs the 'cryptography' package; "
            "install it or save an unprotected copy"
        ) from exc
    if not opened:
        raise LoadError(
            f"{path} is encrypted (password-protected); save an unprotected copy and ingest that"
        )


# --- DOCX ------------------------------------------------------------------------------


def _style_name(paragraph: Any) -> str:
    style = paragraph.style
    return (style.name or "") if style is not None else ""


def _docx_paragraph(paragraph: Any) -> tuple[int, str]:
    """Return (heading level or 0, the paragraph as one Markdown-style block)."""
    name = _style_name(paragraph)
    text = paragraph.text.strip()
    match = _DOCX_HEADING.fullmatch(name)
    if name.lower() == "title":
        level = 1
    else:
        level = int(match.group(1)) if match else 0
    if not level or not text:
        return 0, text
    # Markdown stops at six levels; a heading is one line.
    return level, "#" * min(level, 6) + " " + " ".join(text.split())


def _check_docx_size(src: _Source, data: bytes) -> None:
    """Refuse a DOCX whose XML unpacks to more than the limit, before any XML is parsed."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            unpacked = sum(info.file_size for info in package.infolist() if info.filename.endswith(".xml"))
    except zipfile.BadZipFile:
        return  # python-docx reports it with the fix
    limit = src.limits.max_docx_xml_bytes
    if unpacked > limit:
        raise LoadError(
            f"{src.path}: its XML unpacks to {unpacked / 2**20:.0f} MB from a {len(data) / 2**20:.1f} MB file, "
            f"over the limit of {limit / 2**20:.0f} MB (max_docx_xml_mb); if the document is genuine, "
            "save it as PDF or split it, or raise the limit"
        )


def _docx_properties(path: Path, data: bytes) -> dict[str, str]:
    """The custom document properties (File > Properties > Custom), by name."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            xml = package.read(_DOCX_CUSTOM_PART)
        root = ElementTree.fromstring(xml)
    except KeyError:  # no custom properties
        return {}
    except (zipfile.BadZipFile, ElementTree.ParseError) as exc:
        logger.debug("%s: unreadable %s (%s); ignored", path, _DOCX_CUSTOM_PART, exc)
        return {}
    properties: dict[str, str] = {}
    for prop in root.iter(f"{_DOCX_CUSTOM_NS}property"):
        name = prop.get("name")
        # The value is one typed child: <vt:lpwstr>, <vt:i4>, <vt:filetime>, ...
        value = next(iter(prop), None)
        if name and value is not None and value.text:
            properties.setdefault(name, value.text)
    return properties


def _docx_table(table: Any) -> str:
    lines = []
    for row in table.rows:
        cells = []
        for cell in row.cells:
            # A horizontally merged cell comes back once per grid column.
            if cells and cell is cells[-1]:
                continue
            cells.append(cell)
        texts = [" ".join(cell.text.split()) for cell in cells]
        if any(texts):
            lines.append(" | ".join(texts))
    return "\n".join(lines)


# --- JSONL ------------------------------------------------------------------------------


def _parse_passage(path: Path, line_no: int, line: str) -> dict[str, Any]:
    where = f"{path}, line {line_no}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LoadError(
            f"{where}: not valid JSON ({exc.msg}); each line must be one JSON object"
        ) from exc
    if not isinstance(record, dict):
        raise LoadError(f"{where}: expected a JSON object, got {type(record).__name__}")
    for key in ("id", "text"):
        if key not in record:
            raise LoadError(f"{where}: passage has no '{key}'; every line needs 'id' and 'text'")
    passage_id = record["id"]
    # bool is an int subclass, but True is no id.
    valid_id = isinstance(passage_id, (str, int)) and not isinstance(passage_id, bool)
    if not valid_id or str(passage_id) == "":
        raise LoadError(f"{where}: 'id' must be a non-empty string or integer, not {passage_id!r}")
    if not isinstance(record["text"], str):
        raise LoadError(f"{where}: 'text' must be a string")
    metadata = record.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise LoadError(f"{where}: 'metadata' must be a JSON object")
    return {**record, "id": str(passage_id), "text": _normalise(record["text"])}


def _passage_page(path: Path, line_no: int, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise LoadError(f"{path}, line {line_no}: 'page' must be a whole number, not {value!r}")


def _jsonl_document(
    src: _Source, doc_id: str, records: list[tuple[int, dict[str, Any]]]
) -> Document:
    chunks, offset = [], 0
    for line_no, record in records:
        text = record["text"]
        chunks.append(
            Chunk(
                id=record["id"],
                doc_id=doc_id,
                text=text,
                start=offset,
                end=offset + len(text),
                section=str(record.get("section") or ""),
                page=_passage_page(src.path, line_no, record.get("page")),
            )
        )
        offset += len(text) + 2  # the "\n\n" between passages
    front: dict[str, Any] = {}
    # Keys on a passage beat the metadata object; within each, the first passage wins.
    for key in _FIELD_KEYS:
        value = next((r[key] for _, r in records if r.get(key) not in (None, "")), None)
        if value is not None:
            front[key] = value
    for _, record in records:
        for key, value in (record.get("metadata") or {}).items():
            front.setdefault(key, value)
    text = "\n\n".join(chunk.text for chunk in chunks)
    where = f"{src.path} (doc_id {doc_id!r})"
    return _document(src, text, front, doc_id, doc_id=doc_id, chunks=tuple(chunks), where=where)


# --- metadata ----------------------------------------------------------------------------


def _document(
    src: _Source,
    text: str,
    front: Mapping[Any, Any],
    derived_title: str | None,
    *,
    doc_id: str | None = None,
    page_starts: tuple[int, ...] = (),
    chunks: tuple[Chunk, ...] = (),
    where: str | None = None,
) -> Document:
    fields = _parse_fields(front, where or str(src.path), src.folder_type)
    number, date = fields.number, fields.date
    if not chunks and (number is None or date is None):
        lines = _plain_lines(text)
        number = number or _number_in(lines)
        date = date or _date_in(lines)
    return Document(
        doc_id=doc_id or src.doc_id,
        title=fields.title or derived_title or src.path.stem,
        text=text,
        source=str(src.path.resolve()),
        type=fields.type,
        issuer=fields.issuer,
        number=number,
        date=date,
        status=fields.status,
        superseded_by=fields.superseded_by,
        page_starts=page_starts,
        chunks=chunks,
        meta=fields.meta,
    )


# Where a document's own text gives its number and date: the header's lines, and the signature's.
_HEAD_LINES = 8
_TAIL_LINES = 12
_EMPHASIS = re.compile(r"\*\*|__")


def _plain_lines(text: str) -> list[str]:
    """The text's non-empty lines without Markdown heading or bold marks."""
    lines = (_EMPHASIS.sub("", _HEADING_MARK.sub("", line.strip())).strip() for line in text.split("\n"))
    return [line for line in lines if line]


def _number_in(lines: list[str]) -> str | None:
    """The document number a header line opens with, among the first lines."""
    return next((n for n in map(leading_number, lines[:_HEAD_LINES]) if n), None)


def _date_in(lines: list[str]) -> str | None:
    """The date of issue: the last date line near the end (under the signature), else the first under the title."""
    for line in reversed(lines[-_TAIL_LINES:]):
        if date := date_line(line):
            return date
    return next((d for d in map(date_line, lines[1:_HEAD_LINES]) if d), None)


def _property_front(properties: Mapping[str, str], where: str) -> dict[str, str]:
    """The metadata fields among custom document properties, as front matter for `_document`."""
    front: dict[str, str] = {}
    for name, raw in properties.items():
        key = _PROPERTY_FIELDS.get(re.sub(r"[\s_-]", "", name).lower())
        value = _property_date(raw.strip()) if key == "date" else raw.strip()
        if key is None or not value or key in front:
            continue
        if _valid_property(key, value, f"{where}: document property {name!r}"):
            front[key] = value
    return front


def _property_date(value: str) -> str:
    match = _PROPERTY_DATE.fullmatch(value)
    if match is None:
        return value
    year, month, day = (part for part in match.groups() if part is not None)
    return f"{year}-{month}-{day}"


def _valid_property(key: str, value: str, where: str) -> bool:
    """Whether a property value passes the front-matter checks; log and drop it if not."""
    try:
        if key == "type":
            _doc_type(value, where, "other")
        elif key == "status":
            _status(value, where)
        elif key == "date":
            _iso_date(value, where)
    except LoadError as exc:
        logger.debug("%s; property ignored", exc)
        return False
    return True


def _parse_fields(front: Mapping[Any, Any], where: str, default_type: str) -> _Fields:
    known: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    for key, value in front.items():
        name = str(key).strip().lower().replace("-", "_").replace(" ", "_")
        canonical = "number" if name in _NUMBER_KEYS else name
        if name in _FIELD_KEYS and canonical not in known:
            known[canonical] = value
        else:
            meta[_json_key(key)] = _jsonable(value)
    return _Fields(
        title=_scalar(known.get("title"), "title", where),
        type=_doc_type(known.get("type"), where, default_type),
        status=_status(known.get("status"), where),
        issuer=_scalar(known.get("issuer"), "issuer", where),
        number=_scalar(known.get("number"), "number", where),
        date=_iso_date(known.get("date"), where),
        superseded_by=_scalar(known.get("superseded_by"), "superseded_by", where),
        meta=meta,
    )


def _scalar(value: Any, key: str, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        raise LoadError(f"{where}: '{key}' must be a single value, not {value!r}")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip() or None


def _doc_type(value: Any, where: str, default: str) -> str:
    if value is None or value == "":
        return default
    doc_type = str(value).strip().lower()
    if doc_type not in DOC_TYPES:
        raise LoadError(f"{where}: type {value!r} is not one of {', '.join(DOC_TYPES)}; fix 'type'")
    return doc_type


def _status(value: Any, where: str) -> str:
    if value is None or value == "":
        return "in_force"
    status = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    if status not in STATUSES:
        raise LoadError(
            f"{where}: status {value!r} is not one of {', '.join(STATUSES)}; fix 'status'"
        )
    return status


def _iso_date(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    match = _DATE.fullmatch(str(value).strip())
    if match:
        try:
            return dt.date(*map(int, match.groups())).isoformat()
        except ValueError:
            pass
    raise LoadError(f"{where}: date {value!r} is not a valid date; write it as YYYY-MM-DD")


def _json_key(key: Any) -> str:
    return key.isoformat() if isinstance(key, dt.date) else str(key)


def _jsonable(value: Any) -> Any:
    """Make YAML values JSON-serialisable: dates become ISO strings."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {_json_key(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
