"""Fixtures for the draft checker: the bundled rules' regulations indexed offline, a Chinese extract, rule files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kb.check.catalogue import Catalogue
from kb.encoder import HashingEncoder
from kb.index import KnowledgeBase
from tests.conftest import write

ROOT = Path(__file__).resolve().parents[2]
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
    root = tmp_path / "corpus"
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
