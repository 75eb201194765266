"""End to end through the real packaged all-MiniLM-L6-v2 model (slow: loads torch)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.config import Settings
from kb.encoder import packaged_model_dir
from kb.index import KnowledgeBase

pytestmark = pytest.mark.slow

ARTICLES = [
    ("Chapter 1 General Provisions", [
        "Article 1 These rules govern how the General Office drafts, reviews, numbers, sends, receives and archives official documents.",
        "Article 2 The Secretariat Division reviews every draft before it is submitted for signature.",
    ]),
    ("Chapter 2 Format", [
        "Article 3 The attachment note is placed one line below the body, indented two characters, and lists each attachment by number and title.",
        "Article 4 The date of issue is written in Arabic numerals with the full year, month and day.",
    ]),
    ("Chapter 3 Receiving", [
        "Article 5 An urgent incoming document is registered and passed to the responsible division on the day it arrives.",
        "Article 6 A request for instructions is answered within fifteen working days of its registration.",
    ]),
]


def make_pdf(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 6, "Rules on Official Document Handling", new_x="LMARGIN", new_y="NEXT")
    for chapter, articles in ARTICLES:
        pdf.add_page()
        pdf.multi_cell(0, 6, chapter, new_x="LMARGIN", new_y="NEXT")
        for article in articles:
            pdf.multi_cell(0, 6, article, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def test_real_model_cites_the_right_article_and_page(tmp_path: Path) -> None:
    library = tmp_path / "library"
    folder = library / "regulations"
    folder.mkdir(parents=True)
    make_pdf(folder / "document-rules.pdf")
    (folder / "meetings.md").write_text(
        "# Meeting Rules\n\n## Chapter 1 Notices\n\nArticle 1 Meeting notices are sent three working days ahead.\n",
        encoding="utf-8",
    )
    kb = KnowledgeBase(Settings(index=tmp_path / "index"))
    report = kb.ingest([library])
    assert not report.failed
    encoder = kb.manifest()["encoder"]
    assert {key: encoder[key] for key in ("name", "dim", "max_tokens", "backend", "path")} == {
        "name": "all-MiniLM-L6-v2", "dim": 384, "max_tokens": 256, "backend": "openvino",
        "path": str(packaged_model_dir().resolve())}
    assert encoder["precision"] in ("bf16", "f32")

    result = kb.ask("Where is the attachment note placed?")
    assert result.found
    top = result.citations[0]
    assert top.hit.chunk.doc_id == "regulations/document-rules"
    assert top.hit.chunk.section.endswith("Article 3")
    assert top.page == 3
    assert "attachment note" in top.quote

    result = kb.ask("How long do we have to answer a request for instructions?")
    assert result.citations[0].hit.chunk.section.endswith("Article 6")
    assert result.citations[0].page == 4

    assert not kb.ask("What is the best recipe for chocolate cake?").found
    assert kb.search("Article 5 of the document handling rules")[0].chunk.section.endswith("Article 5")
