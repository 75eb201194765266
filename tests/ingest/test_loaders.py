"""Tests for ingest.loaders: real files of each format, built in tmp_path."""

from __future__ import annotations

import io
import json
import logging
import random
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import docx
import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from ingest.loaders import SUPPORTED_SUFFIXES, LoadLimits, iter_files, load_file, make_doc_id
from ingest.ocr import OcrOptions
from kb.errors import LoadError
from kb.types import Chunk


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def pdf_bytes(pages: list[list[str]], title: str | None = None) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    if title:
        pdf.set_title(title)
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.cell(text=line)
            pdf.ln()
    return bytes(pdf.output())


def encrypted_pdf(source: bytes, *, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source)))
    writer.encrypt(user_password=user_password, owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def with_pdf_info(source: bytes, info: dict[str, str]) -> bytes:
    """Add custom keys to a PDF's document information, as PDF tools let users do."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source)))
    writer.add_metadata(info)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def save_docx_with_custom_properties(
    document, path: Path, properties: dict[str, tuple[str, str]], custom_xml: str | None = None
) -> Path:
    """Save ``document`` with ``docProps/custom.xml`` holding {name: (vt type, value)}."""
    buffer = io.BytesIO()
    document.save(buffer)
    entries = [
        f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="{pid}" '
        f'name="{escape(name)}"><vt:{kind}>{escape(value)}</vt:{kind}></property>'
        for pid, (name, (kind, value)) in enumerate(properties.items(), start=2)
    ]
    ns = "http://schemas.openxmlformats.org/officeDocument/2006"
    if custom_xml is None:
        custom_xml = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Properties xmlns="{ns}/custom-properties" xmlns:vt="{ns}/docPropsVTypes">'
            + "".join(entries)
            + "</Properties>"
        )
    override = (
        '<Override PartName="/docProps/custom.xml" ContentType='
        '"application/vnd.openxmlformats-officedocument.custom-properties+xml"/>'
    )
    rel = (
        f'<Relationship Id="rIdCustom" Type="{ns}/relationships/custom-properties" '
        'Target="docProps/custom.xml"/>'
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", override.encode() + b"</Types>")
            elif item.filename == "_rels/.rels":
                data = data.replace(b"</Relationships>", rel.encode() + b"</Relationships>")
            out.writestr(item, data)
        out.writestr("docProps/custom.xml", custom_xml)
    return path


def load_one(path: Path, root: Path | None = None):
    docs = load_file(path, root)
    assert len(docs) == 1
    return docs[0]


# --- iter_files, make_doc_id, suffixes -----------------------------------------


def test_supported_suffixes():
    assert SUPPORTED_SUFFIXES == (".pdf", ".docx", ".md", ".markdown", ".txt", ".jsonl")


def test_iter_files_walks_sorted_skips_hidden_and_lock_files_keeps_unsupported(tmp_path):
    for rel in [
        "b.md",
        "a.TXT",
        "regulations/z.pdf",
        "regulations/a/deep.docx",
        ".git/config.md",
        "regulations/.hidden.md",
        "regulations/~$lock.docx",
        "minutes/photo.png",
        "minutes/m.jsonl",
    ]:
        write(tmp_path / rel, "x")
    pairs = list(iter_files([tmp_path]))
    assert [p.relative_to(tmp_path).as_posix() for p, _ in pairs] == [
        "a.TXT",
        "b.md",
        "minutes/m.jsonl",
        "minutes/photo.png",
        "regulations/a/deep.docx",
        "regulations/z.pdf",
    ]
    assert all(root == tmp_path for _, root in pairs)


def test_iter_files_file_given_directly_keeps_it_with_parent_root(tmp_path):
    file = write(tmp_path / "docs" / "sheet.xlsx", "x")
    folder = tmp_path / "minutes"
    write(folder / "m.md", "x")
    assert list(iter_files([file, folder])) == [
        (file, file.parent),
        (folder / "m.md", folder),
    ]


def test_iter_files_missing_path_raises(tmp_path):
    with pytest.raises(LoadError, match="no such file or folder"):
        list(iter_files([tmp_path / "nope"]))


def test_make_doc_id_is_posix_relative_without_suffix(tmp_path):
    path = tmp_path / "regulations" / "meeting-rules.v2.md"
    assert make_doc_id(path, tmp_path) == "regulations/meeting-rules.v2"


def test_make_doc_id_outside_root_raises(tmp_path):
    with pytest.raises(LoadError, match="is not inside"):
        make_doc_id(tmp_path / "a.md", tmp_path / "other")


def test_load_file_doc_id_defaults_to_stem_and_source_is_resolved(tmp_path):
    path = write(tmp_path / "notes" / "plan.txt", "Plan\nbody")
    doc = load_one(path)
    assert doc.doc_id == "plan"
    assert doc.source == str(path.resolve())
    assert doc.page_starts == () and doc.chunks == ()


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("regulations/a.md", "regulation"),
        ("Rules/a.md", "regulation"),
        ("docs/a.md", "document"),
        ("documents/2023/a.md", "document"),
        ("meetings/a.md", "minutes"),
        ("会议纪要/a.md", "minutes"),
        ("minutes/attachments/docs/a.md", "document"),  # nearest folder wins
        ("misc/a.md", "other"),
        ("a.md", "other"),
    ],
)
def test_type_from_folder_names(tmp_path, rel, expected):
    path = write(tmp_path / "kb" / rel, "Some text")
    assert load_one(path, tmp_path / "kb").type == expected


def test_type_from_root_name_when_no_subfolder_says(tmp_path):
    path = write(tmp_path / "regulations" / "leave.md", "Leave policy")
    assert load_one(path).type == "regulation"


# --- generic failures -------------------------------------------------------------


def test_zero_byte_file(tmp_path):
    path = write(tmp_path / "empty.md", b"")
    with pytest.raises(LoadError, match=r"empty\.md is empty \(0 bytes\)"):
        load_file(path)


@pytest.mark.parametrize("name", ["blank.txt", "blank.md"])
def test_whitespace_only_file(tmp_path, name):
    path = write(tmp_path / name, " \n\t\r\n  ")
    with pytest.raises(LoadError, match="has no text"):
        load_file(path)


def test_unsupported_suffix(tmp_path):
    path = write(tmp_path / "sheet.xlsx", b"PK\x03\x04")
    message = r"unsupported file type \.xlsx; supported: \.pdf, \.docx, \.md"
    with pytest.raises(LoadError, match=message):
        load_file(path)


def test_missing_file(tmp_path):
    with pytest.raises(LoadError, match="no such file"):
        load_file(tmp_path / "gone.md")


# --- Markdown -------------------------------------------------------------------------


def test_markdown_front_matter_fields_and_body(tmp_path):
    text = (
        "---\n"
        "title: Meeting Rules\n"
        "doc_number: OFF-2023-07\n"
        "issuer: General Office\n"
        "date: 2023-05-01\n"
        "status: in force\n"
        "superseded_by: regulations/meeting-rules-2024\n"
        "tags: [meetings, rules]\n"
        "reviewed: 2023-06-30\n"
        "---\n"
        "# Meeting Rules\n\nArticle 1. Meetings start on time.\n"
    )
    path = write(tmp_path / "regulations" / "meeting-rules.md", text)
    doc = load_one(path, tmp_path)
    assert doc.doc_id == "regulations/meeting-rules"
    assert doc.title == "Meeting Rules"
    assert doc.type == "regulation"
    assert doc.number == "OFF-2023-07"
    assert doc.issuer == "General Office"
    assert doc.date == "2023-05-01"
    assert doc.status == "in_force"
    assert doc.superseded_by == "regulations/meeting-rules-2024"
    assert doc.text == "# Meeting Rules\n\nArticle 1. Meetings start on time.\n"
    assert doc.meta == {"tags": ["meetings", "rules"], "reviewed": "2023-06-30"}
    json.dumps(doc.meta)


def test_front_matter_type_overrides_folder_and_status_spelling(tmp_path):
    text = "---\ntype: Minutes\nstatus: Superseded\nnumber: 12\ndate: '2023/5/1'\n---\nBody\n"
    doc = load_one(write(tmp_path / "regulations" / "x.md", text), tmp_path)
    assert doc.type == "minutes"
    assert doc.status == "superseded"
    assert doc.number == "12"
    assert doc.date == "2023-05-01"


def test_markdown_title_from_first_h1_then_first_line(tmp_path):
    with_h1 = write(tmp_path / "a.md", "Intro line\n\n## Sub\n\n# Real Title #\n")
    assert load_one(with_h1).title == "Real Title"
    no_h1 = write(tmp_path / "b.md", "\n\n## Only a subheading\ntext\n")
    assert load_one(no_h1).title == "Only a subheading"
    long_line = write(tmp_path / "c.md", "x" * 300)
    assert load_one(long_line).title == "x" * 120


def test_markdown_normalises_newlines_and_bom(tmp_path):
    data = "\ufeff---\r\ntitle: T\r\n---\r\nline1\r\nline2\rline3\r\n".encode()
    path = write(tmp_path / "crlf.markdown", data)
    doc = load_one(path)
    assert doc.title == "T"
    assert doc.text == "line1\nline2\nline3\n"


def test_markdown_invalid_yaml_names_line(tmp_path):
    path = write(tmp_path / "bad.md", "---\ntitle: ok\nissuer: [unclosed\n---\nBody\n")
    with pytest.raises(LoadError, match=r"bad\.md: invalid YAML front matter \(line \d+: "):
        load_file(path)


def test_markdown_front_matter_not_a_mapping(tmp_path):
    path = write(tmp_path / "list.md", "---\n- a\n- b\n---\nBody\n")
    with pytest.raises(LoadError, match=r"front matter must be .*mapping.*not a list"):
        load_file(path)


def test_markdown_front_matter_never_closed(tmp_path):
    path = write(tmp_path / "open.md", "---\ntitle: T\nBody\n")
    with pytest.raises(LoadError, match="never closed"):
        load_file(path)


def test_markdown_front_matter_only_has_no_text(tmp_path):
    path = write(tmp_path / "fm.md", "---\ntitle: T\n---\n\n")
    with pytest.raises(LoadError, match="has no text"):
        load_file(path)


@pytest.mark.parametrize(
    ("front", "message"),
    [
        ("type: memo", r"type 'memo' is not one of regulation, document, minutes, other"),
        ("status: draft", r"status 'draft' is not one of in_force, superseded, repealed"),
        ("date: soon", r"date 'soon' is not a valid date; write it as YYYY-MM-DD"),
        ("date: 2023-02-30x", r"is not a valid date"),
    ],
)
def test_markdown_bad_field_values(tmp_path, front, message):
    path = write(tmp_path / "f.md", f"---\n{front}\n---\nBody\n")
    with pytest.raises(LoadError, match=message):
        load_file(path)


def test_markdown_binary_content_rejected(tmp_path):
    path = write(tmp_path / "image.md", bytes(range(256)) * 10)
    with pytest.raises(LoadError, match="looks like a binary file, not text"):
        load_file(path)


# --- plain text ------------------------------------------------------------------------

CHINESE = "会议纪要\n\n第一条 为规范会议管理，提高会议效率，制定本办法。\n第二条 本办法适用于全体员工。\n"


def test_text_utf8_chinese(tmp_path):
    doc = load_one(write(tmp_path / "minutes" / "m.txt", CHINESE.encode("utf-8")), tmp_path)
    assert doc.text == CHINESE
    assert doc.title == "会议纪要"
    assert doc.type == "minutes"


def test_text_gb18030_chinese(tmp_path):
    doc = load_one(write(tmp_path / "gb.txt", CHINESE.encode("gb18030")))
    assert doc.text == CHINESE


def test_text_utf16_with_bom(tmp_path):
    doc = load_one(write(tmp_path / "u16.txt", "Notice\r\nBody".encode("utf-16")))
    assert doc.text == "Notice\nBody"


def test_text_with_front_matter(tmp_path):
    doc = load_one(write(tmp_path / "t.txt", "---\ntitle: Notice 5\nissuer: HR\n---\nFirst line\n"))
    assert (doc.title, doc.issuer, doc.text) == ("Notice 5", "HR", "First line\n")


def test_text_binary_with_nuls_rejected(tmp_path):
    path = write(tmp_path / "blob.txt", bytes(range(256)) * 10)
    with pytest.raises(LoadError, match=r"blob\.txt looks like a binary file, not text"):
        load_file(path)


def test_text_random_bytes_without_nuls_rejected(tmp_path):
    data = bytes(b for b in random.Random(7).randbytes(4096) if b)
    path = write(tmp_path / "noise.txt", data)
    with pytest.raises(LoadError, match="looks like a binary file"):
        load_file(path)


def test_text_random_bytes_without_control_chars_rejected(tmp_path):
    data = bytes(b for b in random.Random(7).randbytes(4096) if b >= 0x20 and b != 0x7F)
    path = write(tmp_path / "noise.txt", data)
    with pytest.raises(LoadError, match=r"cannot tell its text encoding \(it is not UTF-8\); re-save it as UTF-8"):
        load_file(path)


def test_text_windows_1252_is_not_read_as_gb18030(tmp_path):
    # GB18030 decodes these bytes without an error, as "Mr M黮ler from Z黵ich".
    data = "Mr Müller from Zürich met Mrs Bräuer about the façade.\n".encode("cp1252")
    path = write(tmp_path / "letter.txt", data)
    [doc] = load_file(path)
    assert "Mr Müller from Zürich met Mrs Bräuer about the façade." in doc.text


def test_text_big5_is_read_as_big5_not_gb18030(tmp_path):
    text = "會議紀錄：第一條 本辦法依據公司章程訂定，適用於全體員工之出勤管理與請假規定。"
    path = write(tmp_path / "big5.txt", text.encode("big5"))
    [doc] = load_file(path)
    assert doc.text.strip() == text


def test_text_gb18030_chinese_still_read(tmp_path):
    text = "第十二条 会议通知应当至少提前三个工作日发出，写明会议时间、地点、议程和参会人员。"
    path = write(tmp_path / "gb.txt", text.encode("gb18030"))
    [doc] = load_file(path)
    assert doc.text.strip() == text


# --- PDF ----------------------------------------------------------------------------------


def test_pdf_pages_text_and_page_starts(tmp_path):
    pages = [["Page one", "Article caf\xe9"], ["Page two"], ["Page three"]]
    data = pdf_bytes(pages, title="Office Rules")
    path = write(tmp_path / "regulations" / "rules.pdf", data)
    doc = load_one(path, tmp_path)
    assert doc.text == "Page one\nArticle caf\xe9\n\nPage two\n\nPage three"
    assert doc.page_starts == (0, 23, 33)
    assert doc.text[doc.page_starts[1] :].startswith("Page two")
    assert [doc.page_at(0), doc.page_at(24), doc.page_at(len(doc.text) - 1)] == [1, 2, 3]
    assert doc.title == "Office Rules"
    assert (doc.doc_id, doc.type) == ("regulations/rules", "regulation")


def test_pdf_title_from_first_line_without_metadata(tmp_path):
    doc = load_one(write(tmp_path / "p.pdf", pdf_bytes([["Notice on Leave", "body"]])))
    assert doc.title == "Notice on Leave"


def test_pdf_metadata_from_custom_document_properties(tmp_path):
    data = with_pdf_info(
        pdf_bytes([["Rules on Seals", "Article 1 Seals are kept safe."]], title="Rules on Seals"),
        {
            "/Issuer": "General Office",
            "/number": "Mer. Gov. Off. [2022] No. 18",  # names match in any case
            "/DATE": "2022-05-09",
            "/Status": "Superseded",
            "/DocType": "Regulation",
            "/SupersededBy": "regulations/seals-2025",
            "/Kind": "rules",  # not a metadata field: ignored
        },
    )
    doc = load_one(write(tmp_path / "documents" / "seals.pdf", data), tmp_path)
    assert doc.title == "Rules on Seals"
    assert doc.type == "regulation"  # the property beats the folder
    assert doc.issuer == "General Office"
    assert doc.number == "Mer. Gov. Off. [2022] No. 18"
    assert doc.date == "2022-05-09"
    assert doc.status == "superseded"
    assert doc.superseded_by == "regulations/seals-2025"
    assert doc.meta == {}


@pytest.mark.parametrize("value", ["2024-07-22", "2024/7/22", "D:20240722093000+08'00'"])
def test_pdf_date_property_forms(tmp_path, value):
    data = with_pdf_info(pdf_bytes([["Notice"]]), {"/Date": value})
    assert load_one(write(tmp_path / "n.pdf", data)).date == "2024-07-22"


def test_pdf_invalid_properties_are_ignored_not_fatal(tmp_path, caplog):
    data = with_pdf_info(
        pdf_bytes([["Notice"]]),
        {"/DocType": "Memo", "/Status": "Final", "/Date": "next week", "/Number": "No. 5"},
    )
    path = write(tmp_path / "regulations" / "n.pdf", data)
    with caplog.at_level(logging.DEBUG, logger="ingest.loaders"):
        doc = load_one(path, tmp_path)
    assert (doc.type, doc.status, doc.date, doc.number) == ("regulation", "in_force", None, "No. 5")
    assert "document property 'DocType': type 'Memo' is not one of" in caplog.text
    assert "document property 'Status': status 'Final'" in caplog.text
    assert "document property 'Date': date 'next week'" in caplog.text
    assert all(r.levelno == logging.DEBUG for r in caplog.records)


def test_pdf_without_text_layer_and_ocr_off(tmp_path):
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    path = write(tmp_path / "scan.pdf", out.getvalue())
    message = r"scan\.pdf has no text layer \(image-only or scanned PDF\); run OCR .* or set ocr = \"auto\"$"
    with pytest.raises(LoadError, match=message):
        load_file(path, limits=LoadLimits(ocr=OcrOptions(mode="off")))  # tests/ingest/test_ocr.py: OCR on


def test_pdf_encrypted_with_password(tmp_path):
    data = encrypted_pdf(pdf_bytes([["Secret"]]), user_password="secret")
    path = write(tmp_path / "locked.pdf", data)
    with pytest.raises(LoadError, match=r"locked\.pdf is encrypted \(password-protected\)"):
        load_file(path)


def test_pdf_encrypted_with_empty_user_password_loads(tmp_path):
    data = encrypted_pdf(pdf_bytes([["Readable", "text"], ["Two"]]), user_password="")
    path = write(tmp_path / "open.pdf", data)
    doc = load_one(path)
    assert doc.text == "Readable\ntext\n\nTwo"
    assert doc.page_starts == (0, 15)


@pytest.mark.parametrize("data", [b"not a pdf at all", b"%PDF-1.4\n1 0 obj garbage\n"])
def test_pdf_corrupt(tmp_path, data):
    path = write(tmp_path / "broken.pdf", data)
    with pytest.raises(LoadError, match=r"broken\.pdf is not a readable PDF"):
        load_file(path)


def test_pdf_warnings_do_not_leak(tmp_path, caplog, recwarn):
    path = write(tmp_path / "broken.pdf", b"%PDF-1.4\n1 0 obj garbage\n")
    with caplog.at_level(logging.DEBUG), pytest.raises(LoadError):
        load_file(path)
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]
    assert len(recwarn) == 0
    assert logging.getLogger("pypdf").level == logging.NOTSET


# --- DOCX ---------------------------------------------------------------------------------


def test_docx_headings_paragraphs_and_table_in_order(tmp_path):
    document = docx.Document()
    document.add_heading("Expense Policy", level=0)
    document.add_heading("Chapter 1 General", level=1)
    document.add_paragraph("Staff must keep receipts.")
    document.add_paragraph("")
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate([["Item", "Limit", "Note"], ["Taxi", "50", "per day"], ["", "", ""]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    merged = table.cell(1, 1).merge(table.cell(1, 2))
    merged.text = "50 per day"
    document.add_heading("Article 2", level=2)
    document.add_paragraph("Claims are paid monthly.")
    path = tmp_path / "documents" / "expenses.docx"
    path.parent.mkdir()
    document.save(path)

    doc = load_one(path, tmp_path)
    assert doc.text == (
        "# Expense Policy\n\n"
        "# Chapter 1 General\n\n"
        "Staff must keep receipts.\n\n"
        "Item | Limit | Note\n"
        "Taxi | 50 per day\n\n"
        "## Article 2\n\n"
        "Claims are paid monthly."
    )
    assert doc.title == "Expense Policy"
    assert (doc.doc_id, doc.type) == ("documents/expenses", "document")


def test_docx_title_from_first_heading_then_core_properties(tmp_path):
    with_heading = docx.Document()
    with_heading.core_properties.title = "Stale template title"
    with_heading.add_paragraph("Preamble")
    with_heading.add_heading("Leave Rules", level=1)
    with_heading.save(tmp_path / "a.docx")
    assert load_one(tmp_path / "a.docx").title == "Leave Rules"

    no_heading = docx.Document()
    no_heading.core_properties.title = "Core Title"
    no_heading.add_paragraph("Just a paragraph")
    no_heading.save(tmp_path / "b.docx")
    assert load_one(tmp_path / "b.docx").title == "Core Title"


def test_docx_metadata_from_custom_properties(tmp_path):
    document = docx.Document()
    document.add_heading("MINUTES", level=0)
    document.add_paragraph("The meeting agreed the following.")
    path = save_docx_with_custom_properties(
        document,
        tmp_path / "documents" / "quality.docx",
        {
            "title": ("lpwstr", "Minutes on Document Quality"),  # beats the Title paragraph
            "Issuer": ("lpwstr", "General Office"),
            "NUMBER": ("lpwstr", "Coordination Meeting Minutes [2024] No. 11"),
            "Date": ("filetime", "2024-09-12T00:00:00Z"),  # a Word "Date" property
            "status": ("lpwstr", "in force"),
            "Doc Type": ("lpwstr", "minutes"),
            "Superseded_By": ("lpwstr", "minutes/quality-2025"),
            "Chair": ("lpwstr", "Li Hua"),  # not a metadata field: ignored
        },
    )
    doc = load_one(path, tmp_path)
    assert doc.title == "Minutes on Document Quality"
    assert doc.type == "minutes"
    assert doc.issuer == "General Office"
    assert doc.number == "Coordination Meeting Minutes [2024] No. 11"
    assert doc.date == "2024-09-12"
    assert doc.status == "in_force"
    assert doc.superseded_by == "minutes/quality-2025"
    assert doc.meta == {}


def test_docx_invalid_doctype_property_falls_back_to_folder(tmp_path, caplog):
    document = docx.Document()
    document.add_paragraph("Body")
    path = save_docx_with_custom_properties(
        document,
        tmp_path / "documents" / "memo.docx",
        {"DocType": ("lpwstr", "Memo"), "Number": ("i4", "7")},
    )
    with caplog.at_level(logging.DEBUG, logger="ingest.loaders"):
        doc = load_one(path, tmp_path)
    assert (doc.type, doc.status, doc.number) == ("document", "in_force", "7")
    assert "memo.docx: document property 'DocType': type 'Memo' is not one of" in caplog.text


def test_docx_unreadable_custom_properties_are_ignored(tmp_path):
    document = docx.Document()
    document.add_paragraph("Body")
    path = save_docx_with_custom_properties(
        document, tmp_path / "minutes" / "m.docx", {}, custom_xml="<Properties><unclosed"
    )
    doc = load_one(path, tmp_path)
    assert (doc.type, doc.number, doc.text) == ("minutes", None, "Body")


def test_docx_without_text(tmp_path):
    document = docx.Document()
    document.add_paragraph("   ")
    document.save(tmp_path / "blank.docx")
    with pytest.raises(LoadError, match=r"blank\.docx has no text"):
        load_file(tmp_path / "blank.docx")


def test_docx_corrupt(tmp_path):
    path = write(tmp_path / "old.docx", b"\xd0\xcf\x11\xe0 this is an old .doc")
    message = r"old\.docx is not a readable \.docx file .*save as \.docx"
    with pytest.raises(LoadError, match=message):
        load_file(path)


# --- JSONL -----------------------------------------------------------------------------------


def jsonl(path: Path, rows: list[dict | str]) -> Path:
    lines = [row if isinstance(row, str) else json.dumps(row, ensure_ascii=False) for row in rows]
    return write(path, "\n".join(lines) + "\n")


def test_jsonl_groups_passages_with_exact_offsets(tmp_path, caplog):
    path = jsonl(
        tmp_path / "regulations" / "passages.jsonl",
        [
            {
                "id": 1,
                "text": "Article 1.\r\nScope.",
                "doc_id": "reg/a",
                "title": "Reg A",
                "section": "Ch 1",
                "page": 3,
            },
            {
                "id": "b1",
                "text": "Other doc.",
                "doc_id": "reg/b",
                "metadata": {"type": "minutes", "room": "5F"},
            },
            "",
            {"id": 2, "text": "   ", "doc_id": "reg/a"},
            {"id": 3, "text": "Article 2.", "doc_id": "reg/a", "date": "2024-01-02", "page": "4"},
            {"id": "loose", "text": "No doc id."},
        ],
    )
    with caplog.at_level(logging.WARNING, logger="ingest.loaders"):
        docs = load_file(path, tmp_path)
    assert "skipped 1 passage(s) with empty text" in caplog.text
    assert [d.doc_id for d in docs] == ["reg/a", "reg/b", "regulations/passages"]

    a, b, loose = docs
    assert a.text == "Article 1.\nScope.\n\nArticle 2."
    assert a.chunks == (
        Chunk("1", "reg/a", "Article 1.\nScope.", start=0, end=17, section="Ch 1", page=3),
        Chunk("3", "reg/a", "Article 2.", start=19, end=29, section="", page=4),
    )
    assert (a.title, a.type, a.date) == ("Reg A", "regulation", "2024-01-02")
    assert (b.title, b.type, b.meta) == ("reg/b", "minutes", {"room": "5F"})
    assert loose.title == "regulations/passages"
    for doc in docs:
        assert doc.source == str(path.resolve())
        for chunk in doc.chunks:
            assert doc.text[chunk.start : chunk.end] == chunk.text


def test_jsonl_passage_keys_beat_metadata_object(tmp_path):
    path = jsonl(
        tmp_path / "p.jsonl",
        [
            {"id": "a", "text": "One.", "metadata": {"status": "repealed", "number": "M-1"}},
            {"id": "b", "text": "Two.", "status": "superseded", "superseded_by": "new"},
        ],
    )
    doc = load_one(path)
    assert (doc.status, doc.number, doc.superseded_by) == ("superseded", "M-1", "new")


def test_jsonl_bad_line(tmp_path):
    path = jsonl(tmp_path / "p.jsonl", [{"id": "a", "text": "ok"}, "{not json"])
    with pytest.raises(LoadError, match=r"p\.jsonl, line 2: not valid JSON"):
        load_file(path)


@pytest.mark.parametrize("row", [{"id": "a"}, {"text": "no id"}])
def test_jsonl_missing_required_key(tmp_path, row):
    path = jsonl(tmp_path / "p.jsonl", ["", row])
    missing = "text" if "id" in row else "id"
    with pytest.raises(LoadError, match=rf"line 2: passage has no '{missing}'"):
        load_file(path)


def test_jsonl_duplicate_ids(tmp_path):
    path = jsonl(
        tmp_path / "p.jsonl",
        [{"id": "a", "text": "one"}, {"id": "b", "text": "two"}, {"id": "a", "text": ""}],
    )
    with pytest.raises(LoadError, match=r"passage id 'a' appears on lines 1 and 3"):
        load_file(path)


def test_jsonl_bad_page(tmp_path):
    path = jsonl(tmp_path / "p.jsonl", [{"id": "a", "text": "one", "page": "iv"}])
    with pytest.raises(LoadError, match=r"line 1: 'page' must be a whole number"):
        load_file(path)


def test_jsonl_only_empty_passages(tmp_path):
    path = jsonl(tmp_path / "p.jsonl", [{"id": "a", "text": ""}, {"id": "b", "text": " \n"}])
    with pytest.raises(LoadError, match="has no text"):
        load_file(path)


def test_pdf_page_number_lines_are_dropped(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(False)
    pdf.set_font("helvetica", size=11)
    for n in (1, 2):
        pdf.add_page()
        pdf.multi_cell(0, 6, f"Article {n} Text of article {n} runs here.", new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(-20)
        pdf.cell(0, 6, f"- {n} -")
    path = tmp_path / "numbered.pdf"
    pdf.output(str(path))
    [doc] = load_file(path)
    assert doc.text == "Article 1 Text of article 1 runs here.\n\nArticle 2 Text of article 2 runs here."
    assert doc.page_starts == (0, len("Article 1 Text of article 1 runs here.") + 2)


def test_the_character_limit_spares_pre_chunked_passages(tmp_path):
    from ingest.loaders import LoadLimits

    rows = [json.dumps({"id": str(i), "text": "word " * 100}) for i in range(50)]
    path = write(tmp_path / "passages.jsonl", "\n".join(rows).encode())
    assert len(load_file(path, limits=LoadLimits(max_chars=1000))[0].chunks) == 50
    text = write(tmp_path / "long.txt", ("word " * 300).encode())
    with pytest.raises(LoadError, match=r"holds 1,500 characters, over the limit of 1,000 per file"):
        load_file(text, limits=LoadLimits(max_chars=1000))


# --- number and date read from the text when the metadata lacks them ----------------------------------

NOTICE_EN = """\
# Notice on Duty during the 2026 Spring Festival Holiday

Mer. Gov. Off. [2026] No. 3

People's Governments of all districts:

Duty is kept from 08:00 on 14 February to 08:00 on 22 February 2026, as the Rules require.

General Office of the Meridian City Municipal People's Government

30 January 2026

Copy to: Provincial General Office.

General Office of the Meridian City Municipal People's Government    Printed on 31 January 2026
"""

NOTICE_ZH = """\
子午市人民政府办公厅关于做好2026年春节期间值班工作的通知

子府办发〔2026〕3号　　　　签发人：周明

各区、县人民政府，市政府各部门：

值班时间自2026年2月14日8:00至2月22日8:00。

子午市人民政府办公厅

2026年1月30日

（联系人：郭强；联系电话：8826 1110）
"""


def test_markdown_number_and_date_from_the_text(tmp_path):
    doc = load_one(write(tmp_path / "notice.md", NOTICE_EN))
    assert (doc.number, doc.date) == ("Mer. Gov. Off. [2026] No. 3", "2026-01-30")  # not the printing date


def test_text_chinese_number_and_date_from_the_text(tmp_path):
    doc = load_one(write(tmp_path / "notice.txt", NOTICE_ZH))
    assert (doc.number, doc.date) == ("子府办发〔2026〕3号", "2026-01-30")


def test_docx_number_and_date_from_the_text(tmp_path):
    document = docx.Document()
    document.add_heading("Minutes of the Coordination Meeting on Seals", level=0)
    document.add_paragraph("〔2026〕3号")
    document.add_paragraph("The meeting agreed that seals are kept in the seal room.")
    document.add_paragraph("二〇二六年一月三十日")
    path = tmp_path / "minutes.docx"
    document.save(str(path))
    doc = load_one(path)
    assert (doc.number, doc.date) == ("〔2026〕3号", "2026-01-30")


def test_the_first_date_line_under_the_title_when_none_ends_the_text(tmp_path):
    body = "# Minutes of the Mayor's Office Meeting\n\n12 March 2026\n\n" + "The meeting agreed.\n\n" * 20
    assert load_one(write(tmp_path / "m.md", body)).date == "2026-03-12"


def test_metadata_beats_the_text_and_sentences_are_not_date_lines(tmp_path):
    front = "---\nnumber: Mer. Gov. Off. [2025] No. 9\ndate: 2025-12-01\n---\n"
    doc = load_one(write(tmp_path / "a.md", front + NOTICE_EN))
    assert (doc.number, doc.date) == ("Mer. Gov. Off. [2025] No. 9", "2025-12-01")
    plain = "# Rules on Parking\n\nArticle 1 These rules, Mer. Gov. Off. [2026] No. 3, took effect on 1 March 2026.\n"
    doc = load_one(write(tmp_path / "b.md", plain))
    assert (doc.number, doc.date) == (None, None)
