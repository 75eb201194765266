"""Each page's main flow, run by streamlit's AppTest over a small index (offline hashing encoder)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kb.encoder import HashingEncoder
from kb.index import KnowledgeBase
from tests.conftest import write

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def page(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    if name != "start":
        at.switch_page(f"app_pages/{name}.py").run()
        assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption]
                     + [e.value for e in at.error] + [w.value for w in at.warning] + [s.value for s in at.success])


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def test_start_page_counts_the_index_and_runs_a_starter_question(app_env) -> None:
    at = page("start")
    assert "**5** documents" in texts(at)
    assert [m.value for m in at.metric][:3] == ["4", "0", "1"]  # regulations (one Chinese), documents, minutes
    starter = next(b for b in at.button if b.key and b.key.startswith("starter-meetings"))
    starter.click().run()
    assert not at.exception, at.exception
    assert at.chat_message, "the starter question was not asked on the Ask page"
    assert starter.label in "\n".join(t.value for t in at.get("text"))


def test_ask_shows_the_answer_with_source_cards(app_env) -> None:
    at = ask(page("ask"), "How many working days before the meeting must the meeting notice be sent?")
    body = texts(at)
    assert "three working days" in body
    assert "**[1]**" in body
    assert "Rules on Meeting Management" in body
    assert "Article 3" in body and ":orange-background[" in body  # the cited sentence, highlighted
    assert any(b.label.startswith("Download meeting-rules.md") for b in at.get("download_button"))


def test_not_found_is_said_plainly_with_the_closest_passages(app_env) -> None:
    at = ask(page("ask"), "What is the recipe for a chocolate cake with vanilla frosting?")
    [error] = [e.value for e in at.error]
    assert error.startswith("Not found in the knowledge base. ")  # and why
    assert "none of which answers" in texts(at)


def test_superseded_source_is_marked_with_its_replacement(app_env) -> None:
    at = page("ask")
    at.sidebar.multiselect(key="ask-status").set_value(["superseded"]).run()
    ask(at, "how long are duty records kept")
    warnings = [w.value for w in at.warning]
    assert any("superseded by Rules on Duty Work" in w for w in warnings), warnings


def test_type_filter_limits_the_sources(app_env) -> None:
    at = page("ask")
    at.sidebar.multiselect(key="ask-types").set_value(["minutes"]).run()
    ask(at, "When must the meeting notice be sent and who buys pumps?")
    cards = [m.value for m in at.markdown if m.value.startswith("**")]
    assert cards and all("Minutes of the Coordination Meeting" in c for c in cards if "badge" in c)


def test_a_follow_up_is_read_with_the_previous_question(app_env) -> None:
    at = ask(page("ask"), "Within what time must a major emergency be reported to the Duty Office by telephone?")
    ask(at, "and in writing?")
    assert "Read with the previous question as: in writing" in texts(at)
    assert len(at.chat_message) == 4


def test_thumbs_are_stored_with_the_question_and_cited_chunks(app_env) -> None:
    at = ask(page("ask"), "How many working days before the meeting must the meeting notice be sent?")
    at.feedback[0].set_value(0).run()  # thumbs down
    rows = sqlite3.connect(app_env["feedback"]).execute("SELECT question, rating, chunks FROM feedback").fetchall()
    assert len(rows) == 1
    question, rating, chunks = rows[0]
    assert question.startswith("How many working days") and rating == -1
    assert "regulations/meeting-rules" in chunks


def test_document_html_is_shown_as_text(app_env, corpus: Path, settings) -> None:
    write(corpus / "documents" / "odd.md", "# Odd notice\n\nThe seal <script>alert(1)</script> is kept by "
          "[the office](javascript:alert(2)) ![x](http://example.invalid/x.png) :red[loud].\n")
    KnowledgeBase(settings, HashingEncoder()).ingest([corpus])
    at = ask(page("ask"), "Who keeps the seal script alert office")
    passage = next(m.value for m in at.markdown if "seal" in m.value and "script" in m.value)
    assert "<script>" not in passage and r"\<script\>" in passage
    assert "](" not in passage and ":red[" not in passage


def test_a_source_read_by_ocr_says_so(app_env, scanned_pdf: Path, settings) -> None:
    KnowledgeBase(settings, HashingEncoder()).ingest([scanned_pdf])
    at = ask(page("ask"), "How long are minutes of the executive meeting kept in the archives?")
    captions = [c.value for c in at.caption]
    assert any("page 3" in c and r"\(text read by OCR\)" in c for c in captions), captions
    assert not any("OCR" in c for c in captions if "page 3" not in c)


def test_search_ranks_documents_with_facets_and_similar_documents(app_env) -> None:
    at = page("search")
    at.text_input(key="precedent-query").set_value("emergency reporting duty office").run()
    assert not at.exception, at.exception
    titles = [m.value for m in at.markdown if m.value.startswith("**1. ")]
    assert titles and "Rules on Duty Work" in titles[0]
    status = at.sidebar.multiselect(key="facet-status")
    assert "superseded" in status.options[-1].lower() or any("Superseded" in o for o in status.options)
    status.set_value(["superseded"]).run()
    shown = [m.value for m in at.markdown if m.value[:4] in ("**1.", "**2.")]
    assert len(shown) == 1 and "(2019" in shown[0] and "Superseded" in shown[0]
    at.toggle(key="similar-regulations/duty-rules-2019").set_value(True).run()
    assert "Similar documents" in texts(at)
    similar = [m.value for m in at.markdown if "(similarity" in m.value]
    assert similar and similar[0].startswith("- Rules on Duty Work and Emergency Information Reporting ·")


def test_library_lists_opens_uploads_and_deletes(app_env) -> None:
    at = page("library")
    table = at.dataframe[0].value
    assert set(table["id"]) >= {"regulations/meeting-rules", "minutes/2024-04-18-flood"}
    open_document(at, "regulations/meeting-rules")
    assert at.subheader[0].value == "Rules on Meeting Management"
    assert "Chapter 2 Notices" in texts(at)
    assert "characters" in texts(at)

    upload = b"# Rules on Parking\n\nArticle 1 Official cars park in the east yard of the Municipal Building.\n"
    at.file_uploader[0].set_value([("parking.md", upload, "text/markdown"), ("../../evil.exe", b"MZ", "x"),
                                   ("big.txt", b"x" * 20_000, "text/plain")])
    at.selectbox(key="upload-type").set_value("regulation")
    at.button(key="upload-submit").click().run()
    assert not at.exception, at.exception
    assert any("parking.md: added (1 passage)" in s.value.replace("\\", "").replace("**", "") for s in at.success)
    errors = "\n".join(e.value for e in at.error).replace("\\", "")
    assert ".exe files are not accepted" in errors and "over the 0.01 MB limit" in errors
    assert sorted(p.name for p in app_env["uploads"].rglob("*") if p.is_file()) == ["parking.md"]

    ask_page = page("ask")
    ask(ask_page, "Where do official cars park?")
    assert "east yard" in texts(ask_page)

    at = page("library")
    open_document(at, "parking")
    at.button(key="delete-parking").click().run()
    assert not at.exception, at.exception
    assert "parking" not in set(at.dataframe[0].value["id"])
    assert "east yard" not in texts(ask(page("ask"), "Where do official cars park?"))


def open_document(at: AppTest, doc_id: str) -> AppTest:
    """Click the table's row of ``doc_id`` (a row selection, as the browser sends it)."""
    row = list(at.dataframe[0].value["id"]).index(doc_id)
    at.session_state["library-table"] = {"selection": {"rows": [row], "columns": []}}
    at.run()
    assert not at.exception, at.exception
    return at


def test_an_index_built_with_another_encoder_stops_with_the_fix(app_env, monkeypatch) -> None:
    monkeypatch.setenv("KB_MODEL", "hashing-64")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert "run `kb ingest --rebuild` to re-encode it" in at.error[0].value.replace("\\", "")


# --- Check a draft -------------------------------------------------------------------------------------

def check(at: AppTest) -> AppTest:
    at.button(key="check-submit").click().run()
    assert not at.exception, at.exception
    return at


def test_check_page_lists_findings_each_with_its_basis_card(check_env) -> None:
    from tests.check.test_bundled_rules import WORKED

    at = page("check")
    at.text_area(key="check-text").set_value(WORKED)
    check(at)
    assert [s.value for s in at.subheader] == ["pasted text: 10 errors, 1 warning, 0 notes"]
    body = texts(at)
    assert ":red-badge[error] **line 3** · `number-leading-zeros`" in body
    assert "**Fix:** Drop the leading zeros" in body
    labels = [e.label for e in at.expander]
    assert "Basis: Rules on Official Document Handling of the General Office, Article 24" in labels
    # The card quotes the article, the clause the rule rests on highlighted, as answers' cards do.
    assert any(":orange-background[Numbers are written without leading zeros" in m.value for m in at.markdown)
    assert "- Notice on Issuing the 2024 Key Research Topics of the Municipal Government" in body  # precedent


def test_check_page_reads_an_uploaded_word_draft(check_env) -> None:
    data = (Path(__file__).resolve().parents[2] / "eval" / "drafts" / "en-request-clean.docx").read_bytes()
    at = page("check")
    at.file_uploader(key="check-file").set_value([("request.docx", data, "application/octet-stream")])
    check(at)
    assert [s.value for s in at.subheader] == ["request.docx: 0 errors, 0 warnings, 0 notes"]
    assert "No findings: the draft meets every rule that applies to it." in texts(at)


def test_check_page_checks_chinese_drafts_with_the_chinese_rules(check_env) -> None:
    from tests.check.test_bundled_rules import CHINESE

    at = page("check")
    at.text_area(key="check-text").set_value(CHINESE)
    check(at)
    assert "正文结构层次序数有误" in texts(at)
    assert any(e.label.startswith("Basis: 党政机关公文处理工作条例（测试用摘述）, 第") for e in at.expander)


def test_check_page_says_when_the_index_lacks_the_rules_articles(app_env) -> None:
    at = page("check")
    assert "The rules cannot be used" in at.error[0].value
    assert "is not in the knowledge base" in at.error[0].value.replace("\\", "")


def test_search_shows_one_set_of_filters_and_a_snippet_of_each_result(app_env, corpus: Path, settings) -> None:
    long = " ".join(f"Clause {n} of the notice sets out how the divisions share the preparation of the agenda." for n in
                    range(1, 12))
    write(corpus / "documents" / "agenda.md", "# Notice on Agenda Preparation\n\n" + long +
          " The Meetings Division sends the agenda to every participant two working days ahead.\n")
    KnowledgeBase(settings, HashingEncoder()).ingest([corpus])
    at = page("search")
    at.text_input(key="precedent-query").set_value("Meetings Division sends the agenda to every participant").run()
    assert not at.exception, at.exception
    assert [m.key for m in at.sidebar.multiselect] == ["facet-type", "facet-issuer", "facet-year", "facet-status"]
    assert [s.value for s in at.sidebar.subheader] == ["Filters"]
    values = [m.value for m in at.markdown]
    first = next(i for i, v in enumerate(values) if v.startswith("**1. Notice on Agenda Preparation"))
    snippet = values[first + 1].replace("\\", "")  # the card's title, then its snippet
    assert "sends the agenda to every participant" in snippet
    assert len(snippet) <= 260 and "Clause 1 of" not in snippet and len(long) > 600  # not the whole passage


def test_clear_conversation_is_enabled_by_the_first_question(app_env) -> None:
    at = page("ask")
    assert at.sidebar.button(key="clear-chat").disabled
    ask(at, "How many working days before the meeting must the meeting notice be sent?")
    assert not at.sidebar.button(key="clear-chat").disabled
    at.sidebar.button(key="clear-chat").click().run()
    assert not at.chat_message and at.sidebar.button(key="clear-chat").disabled


def test_a_source_card_shows_no_heading_line_above_its_highlighted_quote() -> None:
    from app_pages.common import passage_markdown

    text = "Chapter 7 Minutes\nArticle 30 Minutes are drafted by the Meetings Division. Decisions are recorded."
    start = text.index("Minutes are drafted")
    shown = passage_markdown(text, start, "Minutes are drafted by the Meetings Division.", "Chapter 7 Minutes > Article 30")
    assert "Chapter 7" not in shown
    assert shown.startswith("Article 30 :orange-background[Minutes are drafted by the Meetings Division\\.]")
