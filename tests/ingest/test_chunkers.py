"""Tests for ingest.chunkers: structure, sections, offsets, the token cap."""

from __future__ import annotations

import hashlib
import re
import time

import pytest

from ingest.chunkers import (
    CHARS_PER_TOKEN,
    ChunkingParams,
    chinese_numeral_to_int,
    chunk_document,
    heading_label,
)
from kb.errors import KbError
from kb.types import Chunk, Document

_TOKEN = re.compile(r"[\u3400-\u9fff]|[^\s\u3400-\u9fff]+")


def count(text: str) -> int:
    """Deterministic stand-in for a tokenizer: each CJK character, each other word."""
    return len(_TOKEN.findall(text))


def make_doc(text: str, doc_id: str = "doc", page_starts: tuple[int, ...] = ()) -> Document:
    return Document(doc_id=doc_id, title="T", text=text, source=f"{doc_id}.md",
                    page_starts=page_starts)


def chunk(text: str, counter=count, page_starts: tuple[int, ...] = (), **params) -> list[Chunk]:
    """Chunk ``text`` and check the invariants every chunk must keep."""
    doc = make_doc(text, page_starts=page_starts)
    p = ChunkingParams(**params)
    chunks = chunk_document(doc, counter, p)
    check_invariants(doc, chunks, p, counter)
    return chunks


def check_invariants(doc: Document, chunks: list[Chunk], p: ChunkingParams, counter) -> None:
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text
        assert c.text and c.text == c.text.strip()
        assert counter(c.text) <= p.max_tokens
        assert c.page == doc.page_at(c.start)
        assert c.doc_id == doc.doc_id
        digest = hashlib.sha256(f"{doc.doc_id}\x00{c.start}\x00{c.end}".encode())
        assert c.id == digest.hexdigest()[:16]
    for a, b in zip(chunks, chunks[1:]):
        assert a.start < b.start
        if p.overlap_tokens == 0:
            assert a.end <= b.start
    # Nothing but whitespace is left out.
    covered = [False] * len(doc.text)
    for c in chunks:
        covered[c.start:c.end] = [True] * (c.end - c.start)
    assert all(covered[i] or ch.isspace() for i, ch in enumerate(doc.text))


def sections(chunks: list[Chunk]) -> list[str]:
    return [c.section for c in chunks]


def texts(chunks: list[Chunk]) -> list[str]:
    return [c.text for c in chunks]


# ---------------------------------------------------------------- English

REGULATION = """\
Rules of Procedure of the Board

CHAPTER I GENERAL PROVISIONS

Article 1 These rules govern the meetings of the Board and of its committees.

Article 2 Definitions
In these rules:
(a) "Board" means the governing board of the office;
(b) "Chair" means the person who chairs the Board;
(c) "Member" means a member of the Board.

CHAPTER II MEETINGS

Article 3 Notices of meetings shall be sent at least five working days before the meeting.
1. The notice shall state the agenda.
1.1 The agenda shall be numbered.
1.1.2 Further items may be added by the Chair.
2. The notice shall be signed by the secretary.
"""


def test_regulation_one_chunk_per_article_with_its_clauses():
    chunks = chunk(REGULATION, max_tokens=60, min_tokens=5)
    assert sections(chunks) == [
        "",
        "CHAPTER I GENERAL PROVISIONS > Article 1",
        "CHAPTER I GENERAL PROVISIONS > Article 2 Definitions",
        "CHAPTER II MEETINGS > Article 3",
    ]
    assert texts(chunks)[0] == "Rules of Procedure of the Board"
    # The lone chapter heading travels with the first article under it.
    assert chunks[1].text.startswith("CHAPTER I GENERAL PROVISIONS\n\nArticle 1 ")
    assert chunks[2].text.startswith("Article 2 Definitions\n")
    assert chunks[2].text.endswith('"Member" means a member of the Board.')
    assert chunks[3].text.startswith("CHAPTER II MEETINGS\n\nArticle 3 ")
    assert chunks[3].text.endswith("signed by the secretary.")


def test_regulation_descends_into_clauses_when_an_article_is_too_long():
    chunks = chunk(REGULATION, max_tokens=22, min_tokens=3)
    assert [(c.section, c.text) for c in chunks[2:]] == [
        ("CHAPTER I GENERAL PROVISIONS > Article 2 Definitions",
         "Article 2 Definitions\nIn these rules:"),
        ("CHAPTER I GENERAL PROVISIONS > Article 2 Definitions > (a)",
         '(a) "Board" means the governing board of the office;'),
        ("CHAPTER I GENERAL PROVISIONS > Article 2 Definitions > (b)",
         '(b) "Chair" means the person who chairs the Board;'),
        ("CHAPTER I GENERAL PROVISIONS > Article 2 Definitions > (c)",
         '(c) "Member" means a member of the Board.'),
        ("CHAPTER II MEETINGS > Article 3",
         "CHAPTER II MEETINGS\n\nArticle 3 Notices of meetings shall be sent at least five "
         "working days before the meeting."),
        ("CHAPTER II MEETINGS > Article 3 > 1.",
         "1. The notice shall state the agenda.\n1.1 The agenda shall be numbered.\n"
         "1.1.2 Further items may be added by the Chair."),
        ("CHAPTER II MEETINGS > Article 3 > 2.",
         "2. The notice shall be signed by the secretary."),
    ]


def test_numbered_clauses_nest_by_depth():
    chunks = chunk(REGULATION, max_tokens=12, min_tokens=1)
    by_text = {c.text: c.section for c in chunks}
    assert by_text["1. The notice shall state the agenda."] == "CHAPTER II MEETINGS > Article 3 > 1."
    assert by_text["1.1 The agenda shall be numbered."] == (
        "CHAPTER II MEETINGS > Article 3 > 1. > 1.1"
    )
    assert by_text["1.1.2 Further items may be added by the Chair."] == (
        "CHAPTER II MEETINGS > Article 3 > 1. > 1.1 > 1.1.2"
    )
    assert by_text["2. The notice shall be signed by the secretary."] == (
        "CHAPTER II MEETINGS > Article 3 > 2."
    )


LETTERS_AND_ROMANS = """\
PART I GENERAL

CHAPTER IV FINANCE

Article 7 Payments
(a) payments are approved by the treasurer;
(b) payments above the limit also need:
(i) the signature of the chair;
(ii) a record in the register;
(iv) a copy to the auditor;
(h) the eighth condition applies;
(i) the ninth condition applies.
"""


def test_roman_numerals_and_letters():
    chunks = chunk(LETTERS_AND_ROMANS, max_tokens=10, min_tokens=1)
    base = "PART I GENERAL > CHAPTER IV FINANCE > Article 7 Payments"
    need = "(b) payments above the limit also need"
    assert [(c.section, c.text) for c in chunks] == [
        (base, "PART I GENERAL\n\nCHAPTER IV FINANCE\n\nArticle 7 Payments"),
        (f"{base} > (a)", "(a) payments are approved by the treasurer;"),
        (f"{base} > {need}", "(b) payments above the limit also need:"),
        (f"{base} > {need} > (i)", "(i) the signature of the chair;"),
        (f"{base} > {need} > (ii)", "(ii) a record in the register;"),
        (f"{base} > {need} > (iv)", "(iv) a copy to the auditor;"),
        (f"{base} > (h)", "(h) the eighth condition applies;"),
        # After (h), (i) is the next letter, not a Roman one.
        (f"{base} > (i)", "(i) the ninth condition applies."),
    ]


def test_article_with_clauses_that_fits_is_one_chunk():
    chunks = chunk(LETTERS_AND_ROMANS, min_tokens=1)
    assert len(chunks) == 1
    assert chunks[0].section == "PART I GENERAL > CHAPTER IV FINANCE > Article 7 Payments"
    assert chunks[0].text == LETTERS_AND_ROMANS.strip()


# ---------------------------------------------------------------- Markdown

MARKDOWN_REGULATION = """\
# Staff Regulations

Adopted by the Board on 3 May 2024.

## Chapter 3 Meeting Notices

### Article 12 Notices shall be sent at least five working days before the meeting.

(a) The notice states the agenda;
(b) the notice names the venue.

Article 13 Minutes
The secretary keeps the minutes of every meeting.

## **Chapter 4** Final Provisions

### Article 14 Entry into force
These regulations enter into force on 1 June 2024.

### Background

Some history of the regulations.
"""


def test_markdown_regulation_headings_and_plain_article_lines():
    chunks = chunk(MARKDOWN_REGULATION, min_tokens=1)
    assert [(c.section, c.text.splitlines()[0]) for c in chunks] == [
        ("", "# Staff Regulations"),
        ("Chapter 3 Meeting Notices > Article 12", "## Chapter 3 Meeting Notices"),
        ("Chapter 3 Meeting Notices > Article 13 Minutes", "Article 13 Minutes"),
        ("Chapter 4 Final Provisions > Article 14 Entry into force", "## **Chapter 4** Final Provisions"),
        ("Chapter 4 Final Provisions > Background", "### Background"),
    ]
    assert chunks[0].text == "# Staff Regulations\n\nAdopted by the Board on 3 May 2024."
    assert chunks[1].text.endswith("(b) the notice names the venue.")


def test_markdown_plain_headings_nest_by_level():
    text = (
        "# Handbook\nHow we work.\n\n## Travel\n\nBook early.\n\n### Claims\n\nClaim within a month.\n\n"
        "Article 5 Limits\nHotels up to 150 a night.\n\n### Advances\n\nAsk the office.\n\n"
        "## Leave\n\nAsk your manager.\n"
    )
    chunks = chunk(text, min_tokens=1)
    assert sections(chunks) == [
        "",
        "Travel",
        "Travel > Claims",
        "Travel > Claims > Article 5 Limits",
        "Travel > Advances",
        "Leave",
    ]
    assert chunks[0].text == "# Handbook\nHow we work."
    assert chunks[3].text == "Article 5 Limits\nHotels up to 150 a night."


def test_single_top_heading_is_the_title_and_stays_out_of_sections():
    text = "# Office Rules\n\n## Chapter 1 Scope\n\nArticle 1 These rules apply to all staff.\n"
    chunks = chunk(text)
    assert sections(chunks) == ["Chapter 1 Scope > Article 1"]
    assert chunks[0].text == text.strip()


# ---------------------------------------------------------------- Chinese

CHINESE_REGULATION = """\
会议管理办法

第一章　总则

第一条　为规范会议管理，提高会议效率，根据有关规定，制定本办法。

第二条 本办法适用于本单位各类会议。

第二章 会议通知

第一节 一般规定

第十二条　会议通知应当提前五个工作日发出，并包括下列内容：
（一）会议时间；
（二）会议地点；
（三）会议议题。

第一百零五条　依照本办法第十二条的规定发出的通知，应当存档。

第106条 本办法自发布之日起施行。
"""


def test_chinese_regulation_sections():
    chunks = chunk(CHINESE_REGULATION, min_tokens=1)
    assert sections(chunks) == [
        "",
        "第一章 总则 > 第一条",
        "第一章 总则 > 第二条",
        "第二章 会议通知 > 第一节 一般规定 > 第十二条",
        "第二章 会议通知 > 第一节 一般规定 > 第一百零五条",
        "第二章 会议通知 > 第一节 一般规定 > 第106条",
    ]
    assert chunks[3].text.startswith("第二章 会议通知\n\n第一节 一般规定\n\n第十二条")
    assert chunks[3].text.endswith("（三）会议议题。")
    # "第十二条的规定" in running text is no heading.
    assert "第十二条的规定发出的通知" in chunks[4].text


def test_chinese_items_descend_when_article_is_too_long():
    chunks = chunk(CHINESE_REGULATION, max_tokens=30, min_tokens=1)
    by_text = {c.text: c.section for c in chunks}
    base = "第二章 会议通知 > 第一节 一般规定 > 第十二条"
    assert by_text["（一）会议时间；"] == f"{base} > （一）"
    assert by_text["（三）会议议题。"] == f"{base} > （三）"


OFFICIAL_DOCUMENT = """\
关于加强办公用品管理的通知

各处室：

一、总体要求
办公用品实行统一采购、统一管理。
（一）采购计划
各处室每季度报送采购计划。
（二）领用登记
领用办公用品应当登记。
二、工作安排
1. 办公室负责汇总采购计划。
2. 财务处负责资金保障。
"""


def test_chinese_official_document_items():
    chunks = chunk(OFFICIAL_DOCUMENT, max_tokens=24, min_tokens=1)
    assert [(c.section, c.text) for c in chunks] == [
        ("", "关于加强办公用品管理的通知\n\n各处室："),
        ("一、总体要求", "一、总体要求\n办公用品实行统一采购、统一管理。"),
        ("一、总体要求 > （一）采购计划", "（一）采购计划\n各处室每季度报送采购计划。"),
        ("一、总体要求 > （二）领用登记", "（二）领用登记\n领用办公用品应当登记。"),
        ("二、工作安排 > 1.", "二、工作安排\n1. 办公室负责汇总采购计划。"),
        ("二、工作安排 > 2.", "2. 财务处负责资金保障。"),
    ]
    whole = chunk(OFFICIAL_DOCUMENT, max_tokens=40, min_tokens=1)
    assert whole[-1].section == "二、工作安排"
    assert whole[-1].text == "二、工作安排\n1. 办公室负责汇总采购计划。\n2. 财务处负责资金保障。"


def test_chinese_item_numbering_under_markdown_heading():
    text = "## 会议纪要\n\n一、审议预算\n同意预算方案。\n\n二、审议搬迁\n搬迁推迟至九月。\n"
    chunks = chunk(text, min_tokens=1)
    assert sections(chunks) == ["会议纪要 > 一、审议预算", "会议纪要 > 二、审议搬迁"]


def test_chinese_numbered_items_nest_under_parenthesised_items():
    text = (
        "一、总体要求\n（一）采购管理\n1. 办公室负责汇总采购计划。\n2. 财务处负责资金保障。\n"
        "（二）领用管理\n领用应当登记。\n二、其他\n另行通知。\n"
    )
    chunks = chunk(text, max_tokens=16, min_tokens=1)
    assert [(c.section, c.text) for c in chunks] == [
        # The carried headings would push clause 1. over the cap: they stand alone.
        ("一、总体要求 > （一）采购管理", "一、总体要求\n（一）采购管理"),
        ("一、总体要求 > （一）采购管理 > 1.", "1. 办公室负责汇总采购计划。"),
        ("一、总体要求 > （一）采购管理 > 2.", "2. 财务处负责资金保障。"),
        ("一、总体要求 > （二）领用管理", "（二）领用管理\n领用应当登记。"),
        ("二、其他", "二、其他\n另行通知。"),
    ]


# ---------------------------------------------------------------- minutes

MINUTES = """\
# Minutes of the Board Meeting, 3 May 2024

Present: Alice (Chair), Bob, Carol.

## Agenda item 1: Budget review
The treasurer presented the draft budget for 2025.
Members asked about travel costs.

## Agenda item 2: Office move
The move to the new building was discussed.

## Decisions
1. The budget was approved.
2. The move is postponed to September.

## Action items
Action 1: Bob to circulate the final budget by 10 May.
Action 2: Carol to contact the landlord.
"""


def test_minutes_agenda_items_decisions_and_actions():
    chunks = chunk(MINUTES, min_tokens=1)
    assert sections(chunks) == [
        "",
        "Agenda item 1: Budget review",
        "Agenda item 2: Office move",
        "Decisions",
        "Action items",
    ]
    assert chunks[3].text == (
        "## Decisions\n1. The budget was approved.\n2. The move is postponed to September."
    )


def test_minutes_plain_lines():
    text = (
        "Minutes of the staff meeting\n\nItem 1: Holidays\nThe holiday plan was agreed.\n\n"
        "Decision 1: The office closes on 24 December.\n"
        "Action items:\nAction 1: Dan to tell the staff.\n"
    )
    chunks = chunk(text, max_tokens=12, min_tokens=1)
    assert [(c.section, c.text) for c in chunks] == [
        ("", "Minutes of the staff meeting"),
        ("Item 1: Holidays", "Item 1: Holidays\nThe holiday plan was agreed."),
        ("Item 1: Holidays > Decision 1", "Decision 1: The office closes on 24 December."),
        # Action 1 is an item of the action list, which fits as a whole.
        ("Action items", "Action items:\nAction 1: Dan to tell the staff."),
    ]


CHINESE_MINUTES = """\
办公会议纪要

议题一：审议年度预算
会议听取了财务处的汇报。

议题二：审议办公楼搬迁
会议讨论了搬迁方案。

会议决定：
一、原则同意年度预算。
二、搬迁推迟至九月。

督办事项
（一）财务处负责预算执行。
（二）办公室负责联系出租方。
"""


def test_chinese_minutes():
    chunks = chunk(CHINESE_MINUTES, min_tokens=1)
    assert sections(chunks) == ["", "议题一：审议年度预算", "议题二：审议办公楼搬迁", "会议决定", "督办事项"]
    assert chunks[3].text == "会议决定：\n一、原则同意年度预算。\n二、搬迁推迟至九月。"


def test_chinese_minutes_items_inside_decisions():
    chunks = chunk(CHINESE_MINUTES, max_tokens=16, min_tokens=1)
    assert [(c.section, c.text) for c in chunks[5:]] == [
        ("会议决定 > 一、", "会议决定：\n一、原则同意年度预算。"),
        ("会议决定 > 二、", "二、搬迁推迟至九月。"),
        # 督办事项 closes the decisions; it does not nest under 二、.
        ("督办事项", "督办事项"),
        ("督办事项 > （一）", "（一）财务处负责预算执行。"),
        ("督办事项 > （二）", "（二）办公室负责联系出租方。"),
    ]


def test_markdown_same_level_chapter_and_articles_nest_by_marker():
    text = (
        "## Chapter 3 Notices\n\n## Article 12 Timing\nNotices go out early.\n\n"
        "## Article 13 Form\nNotices are written.\n\n## Chapter 4 Votes\n\n"
        "## Article 14 Majority\nA majority decides.\n"
    )
    chunks = chunk(text, min_tokens=1)
    assert sections(chunks) == [
        "Chapter 3 Notices > Article 12 Timing",
        "Chapter 3 Notices > Article 13 Form",
        "Chapter 4 Votes > Article 14 Majority",
    ]


# ---------------------------------------------------------------- policy

def test_articles_never_merge_however_small():
    text = (
        "Chapter 2 Meetings\n\n"
        "Article 5 The Board meets monthly.\n\n"
        "Article 6 Meetings are public.\n\n"
        "Chapter 3 Votes\n\n"
        "Article 7 Decisions need a majority.\n"
    )
    chunks = chunk(text, max_tokens=30, min_tokens=10)
    assert [(c.section, c.text) for c in chunks] == [
        ("Chapter 2 Meetings > Article 5", "Chapter 2 Meetings\n\nArticle 5 The Board meets monthly."),
        ("Chapter 2 Meetings > Article 6", "Article 6 Meetings are public."),
        ("Chapter 3 Votes > Article 7", "Chapter 3 Votes\n\nArticle 7 Decisions need a majority."),
    ]


LONG_ARTICLE_WITH_CLAUSES = """Article 9 Duties of the secretary
The secretary of the Board carries out the following duties throughout the year:
(a) sends notices;
(b) keeps minutes;
(c) keeps the register of decisions and publishes it on the office website every month;
(d) files papers;
(e) answers letters.

Article 10 Budget
"""


def test_tiny_clauses_merge_and_name_the_first():
    chunks = chunk(LONG_ARTICLE_WITH_CLAUSES, max_tokens=30, min_tokens=6)
    assert [(c.section, c.text) for c in chunks] == [
        # The lead text takes the tiny clauses (a) and (b) along.
        ("Article 9 Duties of the secretary",
         "Article 9 Duties of the secretary\nThe secretary of the Board carries out the following "
         "duties throughout the year:\n(a) sends notices;\n(b) keeps minutes;"),
        ("Article 9 Duties of the secretary > (c)",
         "(c) keeps the register of decisions and publishes it on the office website every month;"
         "\n(d) files papers;\n(e) answers letters."),
        # A lone article heading is still an article: it stays apart.
        ("Article 10 Budget", "Article 10 Budget"),
    ]


def test_merging_stops_at_the_cap():
    text = "Article 1 Scope\n" + "\n".join(f"({chr(97 + n)}) item number {n} here;" for n in range(8))
    chunks = chunk(text, max_tokens=16, min_tokens=10)
    assert sections(chunks) == ["Article 1 Scope > (a)", "Article 1 Scope > (c)", "Article 1 Scope > (f)"]
    assert [count(c.text) for c in chunks] == [13, 15, 15]
    assert chunks[0].text == "Article 1 Scope\n(a) item number 0 here;\n(b) item number 1 here;"


def test_small_markdown_sections_stay_apart_so_each_is_cited_by_its_own_heading():
    text = "## Background\n\nShort.\n\n## Scope\n\nAlso short.\n\n## Details\n\n" + "Many words. " * 13
    chunks = chunk(text, max_tokens=30, min_tokens=10)
    assert [(c.section, c.text) for c in chunks] == [
        ("Background", "## Background\n\nShort."),
        ("Scope", "## Scope\n\nAlso short."),
        ("Details", "## Details\n\n" + ("Many words. " * 13).strip()),
    ]


def test_preamble_shorter_than_min_tokens_joins_the_first_chunk():
    text = "Office Rules\n\nArticle 1 These rules apply to all staff of the office.\n"
    chunks = chunk(text, min_tokens=5)
    assert [(c.section, c.text) for c in chunks] == [("Article 1", text.strip())]


def test_trailing_lone_heading_joins_the_last_chunk():
    text = "Chapter 1 Scope\n\nArticle 1 These rules apply to all staff.\n\nChapter 2 Reserved\n"
    chunks = chunk(text)
    assert [(c.section, c.text) for c in chunks] == [("Chapter 1 Scope > Article 1", text.strip())]


def test_carried_heading_does_not_break_an_article_that_fits_alone():
    text = "Chapter 1 Scope\n\nArticle 1 The " + "word " * 17 + "end.\n"
    chunks = chunk(text, max_tokens=22, min_tokens=1)
    assert [(c.section, c.text) for c in chunks] == [
        ("Chapter 1 Scope", "Chapter 1 Scope"),
        ("Chapter 1 Scope > Article 1", "Article 1 The " + "word " * 17 + "end."),
    ]


def test_text_without_headings():
    chunks = chunk("Just a short note.\n\nWith two paragraphs.\n")
    assert [(c.section, c.text) for c in chunks] == [
        ("", "Just a short note.\n\nWith two paragraphs.")
    ]
    assert chunk("  \n\n ") == []


# ---------------------------------------------------------------- the cap

def test_long_english_article_without_structure_is_split_under_the_cap():
    sentences = [f"Sentence number {i} describes the duties of the office in detail." for i in range(80)]
    text = "Chapter 1 Duties\n\nArticle 9 Duties\n" + " ".join(sentences) + "\n"
    chunks = chunk(text, max_tokens=50, min_tokens=5)
    assert len(chunks) > 10
    assert {c.section for c in chunks} == {"Chapter 1 Duties > Article 9 Duties"}
    assert chunks[0].text.startswith("Chapter 1 Duties\n\nArticle 9 Duties\nSentence number 0 ")
    # Sentences are kept whole.
    assert all(c.text.endswith("detail.") for c in chunks)


def test_long_chinese_text_without_spaces_is_split_under_the_cap():
    body = "会议通知应当提前五个工作日发出并写明会议时间地点和议题" * 40  # no punctuation
    text = f"第十二条　{body}\n"
    chunks = chunk(text, max_tokens=64, min_tokens=5)
    assert len(chunks) == -(-count(text) // 64)
    assert all(count(c.text) <= 64 for c in chunks)
    assert {c.section for c in chunks} == {"第十二条"}


def test_chinese_sentences_split_at_sentence_ends():
    body = "".join(f"第{chinese}项工作由办公室负责落实。" for chinese in "一二三四五六七八九十" * 4)
    chunks = chunk(body, max_tokens=40, min_tokens=5)
    assert len(chunks) > 5
    assert all(c.text.endswith("。") for c in chunks)


def test_overlap_between_split_pieces():
    text = " ".join(f"Word{i}." for i in range(300))
    chunks = chunk(text, max_tokens=40, min_tokens=5, overlap_tokens=10)
    assert len(chunks) > 7
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end  # consecutive pieces share text
        assert a.text[b.start - a.start:] == b.text[: a.end - b.start]


def test_cap_holds_when_counts_do_not_add_up():
    def uneven(text: str) -> int:  # a joined text counts more than its pieces
        n = count(text)
        return n + n // 4

    text = "Article 1 " + " ".join(f"w{i}" for i in range(500)) + "\n"
    chunks = chunk(text, counter=uneven, max_tokens=30, min_tokens=5)
    assert max(uneven(c.text) for c in chunks) <= 30


def test_one_long_word_is_cut():
    text = "Article 1 See https://example.org/" + "x" * 3000 + "\n"
    chunks = chunk(text, counter=lambda t: len(t) // 10, max_tokens=50, min_tokens=5)
    assert len(chunks) > 5


def test_a_character_over_the_cap_is_an_error():
    with pytest.raises(KbError, match=r"one character needs 4 tokens, more than max tokens \(3\)"):
        chunk_document(make_doc("abcdef"), lambda t: 4 * len(t), ChunkingParams(3, 1))


# ---------------------------------------------------------------- pages, ids

def test_pages_from_page_starts():
    pages = ["Article 1 Page one text.\n", "Article 2 Page two text.\n", "Article 3 Page three.\n"]
    text = "".join(pages)
    starts = (0, len(pages[0]), len(pages[0]) + len(pages[1]))
    chunks = chunk(text, page_starts=starts, min_tokens=1)
    assert [(c.section, c.page) for c in chunks] == [("Article 1", 1), ("Article 2", 2), ("Article 3", 3)]
    assert [c.page for c in chunk(text, min_tokens=1)] == [None, None, None]


def test_ids_are_stable_and_distinct():
    first = chunk_document(make_doc(REGULATION), count)
    again = chunk_document(make_doc(REGULATION), count)
    other = chunk_document(make_doc(REGULATION, doc_id="other"), count)
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == len(first)
    assert not {c.id for c in first} & {c.id for c in other}
    assert all(re.fullmatch(r"[0-9a-f]{16}", c.id) for c in first)


def test_prechunked_documents_pass_through():
    given = (
        Chunk(id="a1", doc_id="faq", text="Q1 A1", start=0, end=5, section="FAQ > Q1", page=None),
        Chunk(id="a2", doc_id="faq", text="Q2 A2", start=6, end=11, section="FAQ > Q2", page=None),
    )
    doc = Document(doc_id="faq", title="FAQ", text="Q1 A1\nQ2 A2", source="faq.jsonl", chunks=given)
    assert chunk_document(doc, count) == list(given)


def test_five_hundred_articles_chunk_fast():
    parts = []
    for n in range(1, 501):
        if n % 20 == 1:
            parts.append(f"Chapter {n // 20 + 1} Provisions\n")
        words = " ".join(f"W{(n * k) % 97}" for k in range(n % 150 + 5))
        clauses = "".join(f"\n({chr(97 + k)}) clause text {k} of article {n};" for k in range(n % 4))
        parts.append(f"Article {n} {words}.{clauses}\n")
    text = "\n".join(parts)
    counted = 0

    def whitespace(t: str) -> int:
        nonlocal counted
        counted += len(t)
        return len(t.split())

    began = time.perf_counter()
    chunks = chunk_document(make_doc(text), whitespace, ChunkingParams(max_tokens=100, min_tokens=20))
    elapsed = time.perf_counter() - began
    check_invariants(make_doc(text), chunks, ChunkingParams(max_tokens=100, min_tokens=20), whitespace)
    assert elapsed < 2.0
    assert counted < 4 * len(text)  # no quadratic re-counting
    assert chunks[-1].section == "Chapter 25 Provisions > Article 500"


# ---------------------------------------------------------------- params

@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_tokens": 256, "overlap_tokens": 300},
         r"^chunk overlap \(300\) must be smaller than max tokens \(256\)$"),
        ({"max_tokens": 100, "overlap_tokens": 100},
         r"^chunk overlap \(100\) must be smaller than max tokens \(100\)$"),
        ({"max_tokens": 0}, r"^max tokens \(0\) must be positive$"),
        ({"max_tokens": 50, "min_tokens": 50},
         r"^min tokens \(50\) must be smaller than max tokens \(50\)$"),
        ({"min_tokens": -1}, r"^min tokens \(-1\) must not be negative$"),
        ({"overlap_tokens": -5}, r"^chunk overlap \(-5\) must not be negative$"),
        ({"max_tokens": "200"}, r"^max tokens must be a whole number, got '200'$"),
    ],
)
def test_params_are_validated(kwargs, message):
    with pytest.raises(KbError, match=message):
        ChunkingParams(**kwargs)


def test_params_as_dict():
    assert ChunkingParams().as_dict() == {"max_tokens": 200, "min_tokens": 40, "overlap_tokens": 0}
    assert ChunkingParams(254, 20, 32).as_dict() == {
        "max_tokens": 254, "min_tokens": 20, "overlap_tokens": 32,
    }


# ---------------------------------------------------------------- helpers

@pytest.mark.parametrize(
    ("numeral", "value"),
    [
        ("一", 1), ("十", 10), ("十二", 12), ("二十", 20), ("二十一", 21), ("一百", 100),
        ("一百零五", 105), ("一百一十", 110), ("两百", 200), ("一千零一十", 1010),
        ("一千二百三十四", 1234), ("一万零一", 10001), ("二〇二四", 2024), ("零", 0), ("12", 12),
    ],
)
def test_chinese_numeral_to_int(numeral, value):
    assert chinese_numeral_to_int(numeral) == value


def test_chinese_numeral_to_int_rejects_other_text():
    with pytest.raises(KbError, match="not a Chinese numeral: '第十'"):
        chinese_numeral_to_int("第十")
    with pytest.raises(KbError, match="not a Chinese numeral: ''"):
        chinese_numeral_to_int("")


@pytest.mark.parametrize(
    ("line", "label"),
    [
        ("Article 12 Notices", "Article 12 Notices"),
        ("   Article 12 Notices shall be sent five days before the meeting.", "Article 12"),
        ("## **Article 12** Notices", "Article 12 Notices"),
        ("CHAPTER IV GENERAL PROVISIONS", "CHAPTER IV GENERAL PROVISIONS"),
        ("Section 2.1 Scope", "Section 2.1 Scope"),
        ("Rule 3.2.1 Quorum", "Rule 3.2.1 Quorum"),
        ("3.2.1 The quorum is half of the members, rounded up to the next whole number.", "3.2.1"),
        ("1.1.2. Items", "1.1.2. Items"),
        ("2. The office shall keep a register of all incoming correspondence.", "2."),
        ("(a) the chair;", "(a)"),
        ("(iv) the auditor", "(iv) the auditor"),
        ("第十二条　会议通知应当提前五个工作日发出。", "第十二条"),
        ("**第三章**　会议", "第三章 会议"),
        ("第 5 条 适用范围", "第 5 条 适用范围"),
        ("一、总体要求", "一、总体要求"),
        ("（一）会议时间；", "（一）"),
        ("议题一：审议预算", "议题一：审议预算"),
        ("Decisions:", "Decisions"),
        ("Action items", "Action items"),
        ("督办事项", "督办事项"),
        ("# Notes", "Notes"),
        # Running text, not headings.
        ("Article 12 of the act applies.", None),
        ("Article 12, paragraph 2", None),
        ("2.5 million was spent.", None),
        ("Chapter Introduction", None),
        ("第十二条的规定适用于临时会议。", None),
        ("第十二条第二款", None),
        ("Decisions were taken.", None),
        ("2024年工作要点", None),
        ("(see above) the text", None),
        ("#hashtag", None),
        ("", None),
    ],
)
def test_heading_label(line, label):
    assert heading_label(line) == label


def test_deeply_indented_numbered_line_continues_the_line_above():
    text = (
        "# Notice\n\n## 1. Duty\n\nKeep duty around the clock during the holiday period.\n\n"
        "Attachments: 1. Duty Roster Form\n             2. Daily Duty Situation Form\n"
    )
    doc = Document(doc_id="d", title="Notice", text=text, source="d.md")
    chunks = chunk_document(doc, lambda t: len(t.split()), ChunkingParams(max_tokens=100, min_tokens=0))
    assert chunks[-1].section == "1. Duty"
    assert chunks[-1].text.endswith("2. Daily Duty Situation Form")


def test_rulebook_sub_rule_numbers_are_clause_headings():
    text = (
        "1.2\tApplication\n1.2.1\t\n1.2.1.(1)\tSubject to (2), the Rulebook applies to:\n(a)\tevery Relevant Person;\n"
        "1.2.1.(2)\tIn respect of a Representative Office, only Chapters 1 to 6 apply.\n"
        "1.2.1.Guidance\t\n1.2.1.Guidance.1.\tChapters 7 to 9 deal with customers.\n92)\tINTRODUCTION\n"
    )
    assert heading_label("1.2.1.(1)\tSubject to (2), the Rulebook applies to:").startswith("1.2.1.(1) ")
    assert heading_label("1.2.1.Guidance.1.\tChapters 7 to 9 deal with customers.") == "1.2.1.Guidance.1"
    assert heading_label("92)\tINTRODUCTION") == "92) INTRODUCTION"
    doc = Document(doc_id="r", title="Rules", text=text, source="r.txt")
    chunks = chunk_document(doc, lambda t: len(t.split()), ChunkingParams(max_tokens=12, min_tokens=0))
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text
    starts = [c.text.split("\t")[0] for c in chunks]
    assert {"1.2.1.(1)", "1.2.1.(2)", "1.2.1.Guidance", "92)"} <= set(starts)


def test_text_the_tokenizer_reads_as_one_word_is_still_cut_to_a_readable_size():
    # BERT's tokenizer reads a run of 300,000 letters as one [UNK]: by tokens it "fits" any cap.
    def one_unknown(text: str) -> int:
        return len(text.split())

    text = "x" * 300_000
    chunks = chunk(text, counter=one_unknown, max_tokens=254)
    assert max(len(c.text) for c in chunks) <= 254 * CHARS_PER_TOKEN
    assert "".join(c.text for c in chunks) == text
