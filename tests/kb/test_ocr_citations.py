"""Scanned pages through the index and the CLI: unreadable pages warned of, OCR'd pages cited as such."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from kb.cli import cli
from kb.config import load_settings
from kb.index import KnowledgeBase
from kb.types import OCR_PAGES, is_ocr_page

QUESTION = "How long are minutes of the executive meeting kept in the archives?"


def test_ingest_warns_of_unreadable_pages_and_indexes_the_rest(kb: KnowledgeBase, scanned_pdf: Path) -> None:
    report = kb.ingest([scanned_pdf])
    assert not report.failed, report.failed
    assert report.warnings == (
        f"{scanned_pdf.resolve()}: no usable text on scanned page(s) 2 (blank, or too faint or noisy for OCR); left out",
    )
    chunk = kb.search("executive meeting minutes kept in the archives", k=1)[0].chunk
    document = kb.snapshot.records["archives-scan"].document
    page = document.page_at(chunk.start + chunk.text.index("Article 9"))
    assert (chunk.doc_id, page) == ("archives-scan", 3)
    assert document.meta[OCR_PAGES] == [3] and is_ocr_page(document.meta, page)
    assert not is_ocr_page(document.meta, document.page_at(document.text.index("Rules on the Archives")))


def test_load_limits_carry_the_ocr_settings(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KB_OCR", "off")
    monkeypatch.setenv("KB_OCR_LANGUAGES", "chi_sim")
    monkeypatch.setenv("KB_OCR_DPI", "200")
    limits = KnowledgeBase(load_settings(index=tmp_path / "index", model="hashing")).load_limits()
    assert (limits.ocr.mode, limits.ocr.languages, limits.ocr.dpi) == ("off", "chi_sim", 200)


def test_kb_ask_says_a_cited_page_was_read_by_ocr(tmp_path: Path, monkeypatch, corpus: Path, scanned_pdf: Path) -> None:
    monkeypatch.setenv("KB_MODEL", "hashing")
    monkeypatch.setenv("KB_RERANKER", "none")  # the hashing encoder: no learned models
    monkeypatch.setenv("KB_ANSWER_THRESHOLD", "0.2")
    monkeypatch.setenv("KB_INDEX", str(tmp_path / "index"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    ingest = runner.invoke(cli, ["ingest", str(corpus), str(scanned_pdf)], catch_exceptions=False)
    assert ingest.exit_code == 0, ingest.output
    assert "warning: " in ingest.stderr and "scanned page(s) 2" in ingest.stderr
    answer = runner.invoke(cli, ["ask", QUESTION], catch_exceptions=False).stdout
    sources = answer.split("Sources:")[1].splitlines()
    assert any("Rules on the Archives of Meetings" in line and "page 3 (text read by OCR)" in line for line in sources)
    assert not any("meeting-rules" in line and "OCR" in line for line in sources)
