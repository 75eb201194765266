"""Shared fixtures: a small office corpus written per test, settings on a fresh index, and the regulations
the draft checker's bundled rules rest on."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from kb.check.catalogue import Catalogue
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
                    uploads=tmp_path / "uploads", feedback_db=tmp_path / "feedback.sqlite3",
                    reranker="none", answerability="none")


@pytest.fixture
def kb(settings: Settings) -> KnowledgeBase:
    return KnowledgeBase(settings, HashingEncoder())


@pytest.fixture
def built(kb: KnowledgeBase, corpus: Path) -> KnowledgeBase:
    """The corpus fixture, ingested."""
    report = kb.ingest([corpus])
    assert not report.failed, report.failed
    return kb


# --- the draft checker: the regulations its bundled rules rest on -------------------------------

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"

# A short extract of the 2012 regulations (党政机关公文处理工作条例), written for these tests in our own
# words: only the articles and clauses the Chinese rule set rests on, under their real numbers.
TIAOLI = """\
---
title: 党政机关公文处理工作条例（测试用摘述）
type: regulation
issuer: 中共中央办公厅 国务院办公厅
number: 中办发〔2012〕14号
date: 2012-04-16
status: in_force
---
# 党政机关公文处理工作条例（测试用摘述）

## 第二章 公文种类

第八条 公文种类有决议、决定、命令（令）、公报、公告、通告、意见、通知、通报、报告、请示、批复、议案、函、纪要。

## 第三章 公文格式

第九条 公文由下列要素组成：
（一）份号，涉密公文要标。
（二）密级和保密期限，分绝密、机密、秘密三级。
（三）紧急程度，分特急、加急。
（四）发文机关标志。
（五）发文字号，含机关代字、年份、序号。
（六）签发人，上行文要标。
（七）标题，含发文机关、事由、文种。
（八）主送机关。
（九）正文，层次序数依次为一、（一）1.（1）。
（十）附件说明。
（十一）发文机关署名。
（十二）成文日期。
（十三）印章。
（十四）附注。
（十五）附件。
（十六）抄送机关。
（十七）印发机关和印发日期。
（十八）页码。

第十条 版式按《党政机关公文格式》国家标准办理。

## 第四章 行文规则

第十五条 向上级机关行文的规则：
（一）只主送一个上级机关。
（四）请示一文一事，报告不夹带请示。
"""


@pytest.fixture
def rules_corpus(tmp_path: Path) -> Path:
    """The regulations the bundled rules rest on (and the superseded duty rules with their replacement),
    a few documents to cite, and the Chinese extract."""
    root = tmp_path / "office"
    for rel in ("regulations/document-format-rules.pdf", "regulations/document-handling-rules.md",
                "regulations/duty-emergency-reporting-rules-2019.md", "regulations/duty-emergency-reporting-rules.md",
                "regulations/reception-rules.pdf", "regulations/coordination-supervision-rules.md",
                "documents/2025-04-14-lakeside-reservoir-funding-request.md",
                "documents/2024-07-05-reply-archives-supplementary-funding.md",
                "documents/2024-02-26-research-topics-2024.md"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CORPUS / rel, root / rel)
    write(root / "regulations" / "gongwen-tiaoli.md", TIAOLI)
    return root


@pytest.fixture
def catalogue(rules_corpus: Path) -> Catalogue:
    return Catalogue.from_files([rules_corpus])


@pytest.fixture
def rules_kb(settings, rules_corpus: Path) -> KnowledgeBase:
    kb = KnowledgeBase(settings, HashingEncoder())
    report = kb.ingest([rules_corpus])
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
