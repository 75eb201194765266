"""Cited answers, "not found", and superseded documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.answer import NOT_FOUND
from kb.index import KnowledgeBase
from tests.conftest import write


def test_answer_quotes_sentences_with_markers_and_citations(built: KnowledgeBase) -> None:
    result = built.ask("How many working days before the meeting must the meeting notice be sent?")
    assert result.found
    assert "[1]" in result.text
    first = result.citations[0]
    assert first.n == 1
    assert first.hit.chunk.doc_id == "regulations/meeting-rules"
    assert first.hit.chunk.section.endswith("Article 3")
    assert first.quote in first.hit.chunk.text
    assert first.hit.chunk.text[first.quote_start:].startswith(first.quote.split(" … ")[0])
    for citation in result.citations:
        assert f"[{citation.n}]" in result.text


def test_question_outside_the_knowledge_base_is_not_found(built: KnowledgeBase) -> None:
    result = built.ask("What is the recipe for a chocolate cake with vanilla frosting?")
    assert not result.found
    assert result.text == NOT_FOUND
    assert result.citations == ()
    assert len(result.closest) > 0


def test_answer_comes_from_the_in_force_version(built: KnowledgeBase) -> None:
    result = built.ask("Within what time must a major emergency be reported to the Duty Office by telephone?")
    assert result.found
    cited = {c.hit.chunk.doc_id for c in result.citations}
    assert "regulations/duty-rules" in cited
    assert "regulations/duty-rules-2019" not in cited


def test_cited_superseded_document_is_marked_with_its_replacement(built: KnowledgeBase) -> None:
    from kb.snapshot import Filters

    result = built.ask("how long are duty records kept", filters=Filters(statuses=("superseded",)))
    assert result.found
    assert "(superseded by Rules on Duty Work and Emergency Information Reporting (regulations/duty-rules))" in result.text


def _hit(doc: str, section: str, n: int, type: str = "document", exact: bool = False, title: str = ""):
    from kb.types import Chunk, Hit

    chunk = Chunk(id=f"{doc}{n}", doc_id=doc, text="x", start=0, end=1, section=section)
    return Hit(chunk=chunk, score=1.0 - n / 10, title=title or doc, source=doc, type=type, status="in_force", exact=exact)


def test_a_preamble_yields_the_lead_to_its_own_body() -> None:
    from kb.answer import pick_passages as _pick_passages

    def order(*hits) -> list[str]:
        return [h.chunk.id for h in _pick_passages(list(hits))]

    assert order(_hit("reply", "", 0), _hit("other", "1. Scope", 1), _hit("reply", "2. Amount", 2)) == ["reply2", "reply0", "other1"]
    assert order(_hit("reply", "", 0), _hit("a", "1.", 1), _hit("b", "1.", 2), _hit("c", "1.", 3), _hit("reply", "3. Funds", 4)) == [
        "reply4", "reply0", "a1", "b2", "c3"]
    assert order(_hit("reply", "", 0), _hit("other", "1. Scope", 1)) == ["reply0", "other1"]
    assert order(_hit("reply", "", 0, exact=True), _hit("reply", "2. Amount", 1)) == ["reply0", "reply1"]


def test_the_discussion_of_minutes_yields_the_lead_to_their_decisions() -> None:
    from kb.answer import is_outcome, pick_passages as _pick_passages

    def order(*hits) -> list[str]:
        return [h.chunk.id for h in _pick_passages(list(hits))]

    item = _hit("m", "Agenda item 2: Budget", 0, "minutes")
    decided = _hit("m", "Decisions > 3.", 3, "minutes")
    assert is_outcome(decided) and is_outcome(_hit("m", "Action items", 1, "minutes"))
    assert is_outcome(_hit("m", "议定事项 > 一、", 1, "minutes"))
    assert not is_outcome(item) and not is_outcome(_hit("m", "Agenda item 4: Follow-up of decisions", 1, "minutes"))
    assert not is_outcome(_hit("d", "Decisions", 1, "document"))  # only minutes
    assert order(item, _hit("x", "1. Scope", 1), _hit("m2", "Decisions", 2, "minutes"), decided) == [
        "m3", "m0", "x1", "m22"]
    # Minutes' preamble: their decisions first, else any of their sections.
    assert order(_hit("m", "", 0, "minutes"), _hit("m", "Agenda item 1: Plan", 1, "minutes"), decided) == ["m3", "m0", "m1"]
    assert order(_hit("m", "", 0, "minutes"), _hit("m", "Agenda item 1: Plan", 1, "minutes")) == ["m1", "m0"]
    # Decisions first already, another document's decisions, or a unit asked for by name: kept.
    assert order(decided, item) == ["m3", "m0"]
    assert order(item, _hit("m2", "Decisions", 1, "minutes")) == ["m0", "m21"]
    assert order(_hit("m", "Agenda item 2: Budget", 0, "minutes", exact=True), decided) == ["m0", "m3"]


def test_a_request_yields_the_lead_to_the_reply_on_the_same_point() -> None:
    from kb.answer import pick_passages as _pick_passages

    def order(question: str, *hits) -> list[str]:
        return [h.chunk.id for h in _pick_passages(list(hits), question)]

    asked = _hit("req", "2. Old records", 0, title="Request for Instructions on Duty Records")
    other = _hit("reply", "1. Scope", 1, title="Reply on Duty Records")
    answered = _hit("reply", "2. Old records > (1)", 2, title="Reply on Duty Records")
    assert order("What about duty records kept before March?", asked, other, answered) == ["reply2", "req0", "reply1"]
    assert order("What did the bureau ask about old records?", asked, other, answered) == ["req0", "reply1", "reply2"]
    assert order("What about duty records kept before March?", asked, other) == ["req0", "reply1"]  # no reply on that point
    cn = [_hit("q", "二、旧记录", 0, title="关于值班记录的请示"), _hit("p", "二、旧记录", 1, title="关于值班记录的批复")]
    assert order("旧的值班记录怎么办？", *cn) == ["p1", "q0"]


def test_a_question_about_how_things_are_done_is_answered_by_the_rule() -> None:
    from kb.answer import RULE_MARGIN, pick_passages as _pick_passages

    def order(question: str, *hits) -> list[str]:
        return [h.chunk.id for h in _pick_passages(list(hits), question)]

    record = _hit("circular", "2. Problems found", 0)
    close = _hit("rules", "Article 22", 1, "regulation")  # 0.1 below
    assert 1 / 10 <= RULE_MARGIN + 1e-9
    assert order("Can a seal be placed on blank paper?", record, close) == ["rules1", "circular0"]
    # A record is asked for: a year, the past tense.
    assert order("What did the 2024 circular find about seals on blank paper?", record, close) == ["circular0", "rules1"]
    assert order("Which problems were found with seals?", record, close) == ["circular0", "rules1"]
    # A rule too far below keeps its place.
    assert order("Can a seal be placed on blank paper?", record, _hit("rules", "Article 22", 3, "regulation")) == [
        "circular0", "rules3"]


def test_a_year_the_best_passage_does_not_hold_means_not_found(built: KnowledgeBase) -> None:
    assert built.ask("What did the 2024 coordination meeting decide about pumping equipment?").found
    result = built.ask("What did the 2026 coordination meeting decide about pumping equipment?")
    assert not result.found and result.closest



@pytest.fixture
def broad(kb: KnowledgeBase, corpus: Path) -> KnowledgeBase:
    """The corpus plus a glossary, so the index knows more than a thousand words."""
    write(corpus / "other" / "glossary.md", "# Glossary\n\n" + " ".join(f"term{n:04d}" for n in range(1000)) + "\n")
    kb.ingest([corpus])
    return kb


def test_a_question_about_things_the_index_never_mentions_is_not_found(broad: KnowledgeBase) -> None:
    # Off by default (it cost held-out answers); switched on, it refuses a question on another subject.
    assert broad.ask("What overtime pay or time off in lieu do duty staff get after reporting a major emergency?").found
    broad = KnowledgeBase(broad.settings.replace(answer_off=""), broad.encoder)
    # Close to the duty rules in wording, but "overtime" and "lieu" occur nowhere in the index.
    result = broad.ask("What overtime pay or time off in lieu do duty staff get after reporting a major emergency?")
    assert not result.found and result.closest
    # One unfamiliar word among known ones is a paraphrase, not another subject.
    assert broad.ask("Within what time must a major emergency be reported to the Duty Office by telephone, roughly?").found


def test_unknown_words_leave_out_function_words_numbers_and_chinese(broad: KnowledgeBase) -> None:
    lexical = broad.snapshot.lexical
    assert lexical.unknown_words("How many overtime payments in lieu of 12500 yuan must I get?") == (
        ["overtim", "payment", "lieu"], 4)  # "yuan" is in the minutes
    assert lexical.unknown_words("会议通知应当提前几天发出？") == ([], 0)


def test_a_small_index_calls_no_word_unknown(built: KnowledgeBase) -> None:
    assert built.snapshot.lexical.unknown_words("What overtime pay in lieu?")[0] == []


def test_every_step_can_be_switched_off_by_name(built: KnowledgeBase) -> None:
    from kb.answer import STEPS
    from kb.config import ANSWER_STEPS, Settings
    from kb.errors import KbError

    assert STEPS == ANSWER_STEPS
    with pytest.raises(KbError, match=r"answer_off names plenty, not steps of an answer: choose among evidence"):
        Settings(answer_off="year, plenty")
    # The year check refuses a year the best passage does not hold; switched off, the answer is given.
    question = "What did the 2026 coordination meeting decide about pumping equipment?"
    assert not built.ask(question).found
    off = KnowledgeBase(built.settings.replace(answer_off="year"), built.encoder)
    assert off.ask(question).found


def test_not_found_says_why(built: KnowledgeBase) -> None:
    refused = built.ask("What did the 2026 coordination meeting decide about pumping equipment?")
    assert refused.note == "no document of 2026 answers it" and refused.related


def test_not_found_because_of_a_filter_says_so(built: KnowledgeBase) -> None:
    from kb.snapshot import Filters

    question = "How many working days before the meeting must the meeting notice be sent?"
    answer = built.ask(question, filters=Filters(types=("minutes",), date_from="2030-01-01"))
    assert not answer.found
    assert answer.note.startswith("the filters leave out the documents that answer it, such as Rules on Meeting")


def test_a_list_article_is_quoted_whole_and_each_fact_once(kb: KnowledgeBase, tmp_path) -> None:
    rules = write(tmp_path / "docs" / "regulations" / "notices.md", """\
        # Rules on Notices

        ## Chapter 4 Notices

        Article 21 The Meetings Division sends the notice of a meeting no later than the following times:
        (1) a plenary meeting, 5 working days before the meeting;
        (2) a municipal-wide meeting, 7 working days before the meeting;
        (3) a special-topic meeting, 1 working day before the meeting.

        Article 22 A meeting notice states the name of the meeting, its date, start time and the venue.
        """)
    kb.ingest([rules.parent.parent])
    answer = kb.ask("How many working days ahead is the notice of a meeting sent?")
    assert answer.found and answer.citations[0].where.endswith("Article 21")
    text = answer.text
    assert text.startswith("The Meetings Division sends the notice of a meeting no later than the following times:")
    assert "(1) a plenary meeting, 5 working days" in text and "(3) a special-topic meeting, 1 working day" in text
    assert text.count("5 working days") == 1 and "Article 21" not in text


@pytest.mark.parametrize(("question", "quote", "section"), [
    ("请示可以一文多事吗？", "（四）请示一文一事，报告不夹带请示。", "第四章 行文规则 > 第十五条 > （四）"),
    ("第九条第（十二）项是什么？", "（十二）成文日期。", "第三章 公文格式 > 第九条 > （十二）"),
    ("第九条第十二项规定了什么", "（十二）成文日期。", "第三章 公文格式 > 第九条 > （十二）"),
])
def test_a_chinese_answer_quotes_the_item_and_cites_it(rules_kb, question: str, quote: str, section: str) -> None:
    answer = rules_kb.ask(question)
    first = answer.citations[0]
    assert (first.quote, first.section) == (quote, section)
    assert not any(mark in answer.text for mark in ("第十五条", "第九条", "第四章", "##", "**"))


def test_query_item_reads_the_item_a_question_names() -> None:
    from kb.references import query_item

    assert [query_item(q) for q in ("第九条第（十二）项", "第九条第12项", "第十五条（四）是什么", "第十五条", "（四）")] == [
        "（十二）", "（十二）", "（四）", None, None]
