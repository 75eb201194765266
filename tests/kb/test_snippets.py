"""Snippets: a sentence or two of a passage around its match, short enough for a result list."""

from __future__ import annotations

from kb.snippets import SNIPPET_CHARS, snippet

PASSAGE = """## Chapter 4 Records

Article 18 Duty records are written for every shift. The duty officer signs each page at the end of the shift.

Article 19 Duty logs, handover registers and recordings of duty telephones are kept for three years from the day they are made, and are destroyed after that with the approval of the head of the Duty Office. Recordings are stored on the server of the Duty Office, never on a personal device, and each destruction is entered in the register with the date, the records destroyed and the names of the two staff who destroyed them.
"""


def test_the_sentence_that_matches_with_its_neighbour_and_no_heading() -> None:
    text = snippet(PASSAGE, "Who signs the duty records?")
    # The article's number is in the caption beside the snippet (its section), as in a quote.
    assert text == "Duty records are written for every shift. The duty officer signs each page at the end of the shift."
    assert "##" not in text and "Chapter 4" not in text


def test_a_long_sentence_is_cut_around_its_match() -> None:
    long = ("Article 20 The Duty Office keeps the registers of incoming calls, outgoing calls, faxes, messages, "
            "visitors, handovers, equipment checks, drills, training sessions, complaints, corrections and "
            "instructions from the leaders on duty, each in its own binder on the shelf by the door, and sends "
            "the monthly summary of all of them to the Secretary-General before the fifth working day of the "
            "following month, together with the list of the calls that were not answered within three rings.")
    text = snippet(long, "monthly summary Secretary-General")
    assert len(text) <= SNIPPET_CHARS + 2
    assert "monthly summary" in text and text.startswith("…")
    assert text[1] != " " and text[1:].split()[0] in long.split()  # opens at a word's start


def test_chinese_passages() -> None:
    passage = ("第十八条 会议处应当不迟于以下时间发出会议通知：\n（一）全体会议，会前5个工作日；\n（二）全市性会议，会前7个工作日；\n"
               "（三）常务会议，会前3个工作日。\n\n第十九条 会议通知应当写明会议名称、日期和地点。" + "参会单位应当按时报名。" * 30)
    text = snippet(passage, "常务会议的会议通知提前几个工作日发出")
    assert "常务会议，会前3个工作日" in text
    assert len(text) <= SNIPPET_CHARS + 2


def test_no_term_in_common_gives_the_opening_sentences() -> None:
    assert snippet(PASSAGE, "zzzz qqqq").startswith("Duty records are written")


def test_a_short_passage_is_shown_whole_but_for_its_label() -> None:
    assert snippet("Article 1 Cars park in the east yard.", "where do cars park", "Article 1") == \
        "Cars park in the east yard."
