"""Shared fixtures: a small office corpus written per test, and settings on a fresh index."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kb.config import Settings
from kb.encoder import HashingEncoder
from kb.index import KnowledgeBase

MEETING_RULES = """\
---
title: Rules on Meeting Management
type: regulation
number: Mer. Gov. Off. [2023] No. 20
date: 2023-06-15
status: in_force
---
# Rules on Meeting Management

## Chapter 1 General Provisions

Article 1 These rules govern the planning, notice, conduct and follow-up of meetings held by the Municipal Government and its General Office.

Article 2 The Meetings Division of the General Office organises meetings and keeps the annual meeting plan.

## Chapter 2 Notices

Article 3 A meeting notice shall be sent at least three working days before the meeting. The notice states the time, venue, agenda, attendees and the deadline for submitting materials.

Article 4 Materials for the meeting shall reach the Meetings Division two working days before the meeting, and no set of materials may exceed ten pages.

## Chapter 3 Minutes

Article 5 The Meetings Division drafts the minutes within two working days after the meeting; the chair signs them before they are issued.

Article 6 The Supervision Office follows up each decision recorded in the minutes and reports progress every month.
"""

DUTY_2019 = """\
---
title: Rules on Duty Work and Emergency Information Reporting (2019)
type: regulation
date: 2019-06-01
status: superseded
superseded_by: regulations/duty-rules
---
# Rules on Duty Work and Emergency Information Reporting (2019)

## Chapter 1 Reporting

Article 1 A major emergency shall be reported to the Duty Office by telephone within one hour and in writing within two hours of its occurrence.

Article 2 Duty records are kept for one year.
"""

DUTY_2024 = """\
---
title: Rules on Duty Work and Emergency Information Reporting
type: regulation
date: 2024-03-01
status: in_force
---
# Rules on Duty Work and Emergency Information Reporting

## Chapter 1 Reporting

Article 1 A major emergency shall be reported to the Duty Office by telephone within thirty minutes and in writing within one hour of its occurrence.

Article 2 Duty records are kept for three years.
"""

MINUTES = """\
---
title: Minutes of the Coordination Meeting on Flood-Season Preparation
type: minutes
date: 2024-04-18
---
# Minutes of the Coordination Meeting on Flood-Season Preparation

## Agenda item 1: Drainage works

The Housing Bureau reported on the clearing of drainage pipes in Harbour District.

## Decisions

1. The Finance Bureau allocates 2.4 million yuan for pumping equipment before 15 May 2024.

## Action items

1. Owner: Wu Jun, Finance and Administration Division; deadline: 10 May 2024; purchase twelve mobile pumps.
"""

CHINESE_RULES = """\
会议管理办法

第一章 总则

第一条 为规范市政府会议管理，提高会议效率，制定本办法。

第二章 会议通知

第十二条 会议通知应当至少提前三个工作日发出，写明会议时间、地点、议程和参会人员。

第十三条 会议材料应当在会议召开两个工作日前报送会议处。
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory):
    """One cache of converted models for the session, never the user's ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        root = tmp_path_factory.mktemp("xdg-cache")
        patch.setenv("XDG_CACHE_HOME", str(root))
        yield root / "office-kb"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A folder with regulations (one superseded), minutes and a Chinese text file."""
    root = tmp_path / "corpus"
    write(root / "regulations" / "meeting-rules.md", MEETING_RULES)
    write(root / "regulations" / "duty-rules-2019.md", DUTY_2019)
    write(root / "regulations" / "duty-rules.md", DUTY_2024)
    write(root / "minutes" / "2024-04-18-flood.md", MINUTES)
    write(root / "regulations" / "huiyi-banfa.txt", CHINESE_RULES)
    return root


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on a fresh index, with the offline hashing encoder."""
    return Settings(index=tmp_path / "index", model="hashing", answer_threshold=0.2,
                    uploads=tmp_path / "uploads", feedback_db=tmp_path / "feedback.sqlite3")


@pytest.fixture
def kb(settings: Settings) -> KnowledgeBase:
    return KnowledgeBase(settings, HashingEncoder())


@pytest.fixture
def built(kb: KnowledgeBase, corpus: Path) -> KnowledgeBase:
    """The corpus fixture, ingested."""
    report = kb.ingest([corpus])
    assert not report.failed, report.failed
    return kb


SCANNED_TEXT = "Article 9 Minutes of the executive meeting are kept in the archives for thirty years after the meeting."


@pytest.fixture
def scanned_pdf(tmp_path: Path, monkeypatch) -> Path:
    """regulations/archives-scan.pdf: page 1 typed, page 2 blank, page 3 a scan.

    OCR is replaced by a fixed reading (page 2 unreadable, page 3 ``SCANNED_TEXT``),
    so what is built on it runs without Tesseract; tests/ingest/test_ocr.py runs the real thing.
    """
    from fpdf import FPDF

    from ingest import ocr

    def read_pages(pdf: bytes, pages, options) -> ocr.OcrResult:
        assert list(pages) == [1, 2]
        return ocr.OcrResult({1: ocr.BLANK, 2: ocr.PageText(SCANNED_TEXT, 86, 95.0)}, "tesseract 5.3.0")

    monkeypatch.setattr(ocr, "read_pages", read_pages)
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.cell(text="Rules on the Archives of Meetings")
    pdf.add_page()
    pdf.add_page()
    path = tmp_path / "scans" / "regulations" / "archives-scan.pdf"
    path.parent.mkdir(parents=True)
    path.write_bytes(bytes(pdf.output()))
    return path
