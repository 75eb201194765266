"""Quotable units: sentences not cut at the office's abbreviations, lists whole, labels and headings left out."""

from __future__ import annotations

import pytest

from kb.sentences import clean, split_sentences, units


def texts(text: str, section: str = "", kind: str | None = None) -> list[str]:
    return [clean(text[u.start:u.end]) for u in units(text, section) if kind is None or u.kind == kind]


@pytest.mark.parametrize("text, expected", [
    ("The reply Mer. Gov. Off. Letter [2023] No. 31 approved RMB 2.4 million. Work starts in May.",
     ["The reply Mer. Gov. Off. Letter [2023] No. 31 approved RMB 2.4 million.", "Work starts in May."]),
    ('Cite "the Rules on Official Document Handling of the General Office (Mer. Gov. Off. [2023] No. 12)". Then send.',
     ['Cite "the Rules on Official Document Handling of the General Office (Mer. Gov. Off. [2023] No. 12)".',
      "Then send."]),
    ("See Art. 12 and para. 3 of the Rules, e.g. the notice. No. 5 applies.",
     ["See Art. 12 and para. 3 of the Rules, e.g. the notice.", "No. 5 applies."]),
    ("The rate is 2.5 per cent at 10:30 a.m. on 3 May. Approved.", ["The rate is 2.5 per cent at 10:30 a.m. on 3 May.",
                                                                    "Approved."]),
    ("会议通知应当提前发出。材料两日前报送；逾期不收！是否可以？", ["会议通知应当提前发出。", "材料两日前报送；逾期不收！", "是否可以？"]),
])
def test_sentences_end_where_the_office_ends_them(text: str, expected: list[str]) -> None:
    assert [text[a:b] for a, b in split_sentences(text)] == expected


ARTICLE_21 = """Article 21 The Meetings Division sends the notice of a meeting no later than the following times:
(1) a plenary meeting, 5 working days before the meeting;
(2) a municipal-wide meeting, 7 working days before the meeting;
(3) a special-topic meeting, 1 working day before the meeting.
A meeting called urgently may be notified by telephone."""


def test_a_list_is_one_unit_with_its_lead_in_and_items_and_the_label_left_out() -> None:
    [whole] = texts(ARTICLE_21, "Chapter 4 Notices > Article 21", "list")
    assert whole.startswith("The Meetings Division sends the notice")  # not "Article 21 The ..."
    assert "(1) a plenary meeting, 5 working days" in whole and whole.endswith("1 working day before the meeting.")
    assert texts(ARTICLE_21, "Chapter 4 Notices > Article 21", "item")[1] == (
        "(2) a municipal-wide meeting, 7 working days before the meeting;")
    assert texts(ARTICLE_21, "Chapter 4 Notices > Article 21", "sentence") == [
        "A meeting called urgently may be notified by telephone."]


def test_chinese_items_inside_a_paragraph_are_units_and_a_semicolon_does_not_end_one() -> None:
    text = "第十五条 发文办理主要程序是：（一）复核。已经签发的公文应当复核；（二）登记。确定发文字号；（三）印制。确保质量。"
    items = texts(text, "第三章 发文办理 > 第十五条", "item")
    assert items == ["（一）复核。已经签发的公文应当复核；", "（二）登记。确定发文字号；", "（三）印制。确保质量。"]
    [whole] = texts(text, "第三章 发文办理 > 第十五条", "list")
    assert whole.startswith("发文办理主要程序是：")  # no 第十五条 label in the quote


def test_headings_and_markdown_are_never_quoted() -> None:
    text = "## Chapter 3 Minutes\n\nArticle 31 Printing office and printing date. On the last line the printing " \
           "office is placed flush left.\n\n**Decisions**\n\n1. The Finance Bureau allocates 2.4 million yuan."
    got = texts(text, "Chapter 3 Minutes > Article 31")
    assert got == ["On the last line the printing office is placed flush left.",
                   "1. The Finance Bureau allocates 2.4 million yuan."]
    assert clean("## Heading\n**bold** and `code`") == "Heading bold and code"


def test_a_merged_passage_strips_each_article_label() -> None:
    text = "Article 5 Minutes are drafted in two days.\n\nArticle 6 The Supervision Office follows up each decision."
    assert texts(text, "Chapter 3 > Article 5") == ["Minutes are drafted in two days.",
                                                    "The Supervision Office follows up each decision."]


def test_threads_segment_as_one_thread_does() -> None:
    # pysbd's Segmenter keeps state while it segments: shared by threads, it cut their texts.
    import threading

    passages = [f"Article {n} The notice of meeting {n} goes out {n} days ahead. Mer. Gov. Off. [2024] No. {n} "
                f"applies, e.g. to plenary meetings. Materials run to {n} pages." for n in range(1, 9)]
    expected = [split_sentences(p) for p in passages]
    wrong = []

    def run(i: int) -> None:
        for _ in range(100):
            if split_sentences(passages[i]) != expected[i]:
                wrong.append(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_a_wrapped_pdf_line_does_not_end_a_sentence() -> None:
    text = ("Article 7 The body is set in Times New Roman at 16 point, giving 22\n"
            "lines on a full page. Each paragraph begins with an indent of 10\nmm, and the text is justified.")
    quoted = [" ".join(text[u.start:u.end].split()) for u in units(text, "Chapter 2 > Article 7")]
    assert quoted == ["The body is set in Times New Roman at 16 point, giving 22 lines on a full page.",
                      "Each paragraph begins with an indent of 10 mm, and the text is justified."]


def test_a_card_leaves_out_the_heading_lines_its_section_path_names() -> None:
    from kb.sentences import without_headings

    text = "## Chapter 7 Minutes\nArticle 30 Minutes are drafted by the Meetings Division.\n(1) an item;\n"
    assert without_headings(text, "Chapter 7 Minutes > Article 30") == (
        "Article 30 Minutes are drafted by the Meetings Division.\n(1) an item;\n")
    assert without_headings("第七章 会议纪要\n第二十五条 会议纪要按照以下时限印发。\n", "第七章 会议纪要 > 第二十五条") == (
        "第二十五条 会议纪要按照以下时限印发。\n")
