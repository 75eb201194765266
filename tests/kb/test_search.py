"""Hybrid search: ranking, exact references, filters, query checks."""

from __future__ import annotations

import pytest

from kb.errors import QueryError
from kb.index import KnowledgeBase
from kb.snapshot import Filters


def ids(hits) -> list[str]:
    return [h.chunk.doc_id for h in hits]


def test_finds_the_article_that_answers(built: KnowledgeBase) -> None:
    top = built.search("deadline for submitting meeting materials pages")[0]
    assert top.chunk.doc_id == "regulations/meeting-rules"
    assert top.chunk.section.endswith("Article 4")


def test_k_larger_than_the_index_returns_everything_once(built: KnowledgeBase) -> None:
    hits = built.search("meeting", k=1000)
    assert len(hits) == len(built.snapshot)
    assert len({h.chunk.id for h in hits}) == len(hits)


def test_empty_and_overlong_queries_are_refused(built: KnowledgeBase) -> None:
    with pytest.raises(QueryError, match="the query is empty"):
        built.search("   ")
    with pytest.raises(QueryError, match=r"2001 characters, more than the limit of 2000"):
        built.search("x" * 2001)


def test_exact_reference_with_document_name_comes_first(built: KnowledgeBase) -> None:
    hit = built.search("Article 5 of the meeting rules")[0]
    assert hit.exact
    assert (hit.chunk.doc_id, hit.chunk.section.split(" > ")[-1]) == ("regulations/meeting-rules", "Article 5")


def test_exact_reference_prefers_in_force_document(built: KnowledgeBase) -> None:
    hit = built.search("Article 2 of the duty rules")[0]
    assert hit.chunk.doc_id == "regulations/duty-rules"
    assert "three years" in hit.chunk.text


def test_chinese_reference_and_chinese_question(built: KnowledgeBase) -> None:
    hit = built.search("第十二条")[0]
    assert hit.chunk.doc_id == "regulations/huiyi-banfa"
    assert hit.chunk.section.split(" > ")[-1].startswith("第十二条")
    assert built.search("会议材料什么时候报送")[0].chunk.text.startswith("第十三条")


def test_filters_by_type_status_date_and_document(built: KnowledgeBase) -> None:
    assert set(ids(built.search("report", k=50, filters=Filters(types=("minutes",))))) == {"minutes/2024-04-18-flood"}
    assert set(ids(built.search("duty records", k=50, filters=Filters(statuses=("superseded",))))) == {
        "regulations/duty-rules-2019"
    }
    dated = ids(built.search("rules", k=50, filters=Filters(date_from="2024-01-01", date_to="2024-12-31")))
    assert set(dated) == {"regulations/duty-rules", "minutes/2024-04-18-flood"}
    only = ids(built.search("meeting", k=50, filters=Filters(doc_ids=("regulations/duty-rules",))))
    assert set(only) == {"regulations/duty-rules"}
    assert built.search("meeting", filters=Filters(types=("other",))) == []


def test_superseded_documents_rank_below_their_replacement(built: KnowledgeBase) -> None:
    found = ids(built.search("how long are duty records kept", k=10))
    assert found.index("regulations/duty-rules") < found.index("regulations/duty-rules-2019")


@pytest.mark.parametrize("method", ["convex", "rrf", "dense", "bm25"])
def test_every_fusion_method_ranks_the_obvious_answer_first(built: KnowledgeBase, method: str) -> None:
    kb = KnowledgeBase(built.settings.replace(fusion=method), built.encoder)
    assert kb.search("pumping equipment allocation Finance Bureau")[0].chunk.doc_id == "minutes/2024-04-18-flood"


def test_a_question_mentioning_an_article_in_passing_is_ranked_not_forced(built: KnowledgeBase) -> None:
    hits = built.search("Besides Article 2, which division drafts the minutes after the meeting and who signs them?")
    assert not hits[0].exact
    assert hits[0].chunk.section.endswith("Article 5")


@pytest.mark.parametrize(("query", "unit"), [
    ("第十五条", "第十五条"), ("第九条第（十二）项", "第九条"), ("条例第九条第（十二）项是什么", "第九条"),
])
def test_chinese_articles_are_found_by_number_with_chinese_passages_unread(rules_kb: KnowledgeBase, query, unit) -> None:
    # rules_kb's hashing encoder reads Chinese; gate its dense vote off as all-MiniLM-L6-v2's would be.
    kb = KnowledgeBase(rules_kb.settings.replace(readable_unknown_share=0.0, unreadable_unknown_share=0.0),
                       rules_kb.encoder)
    hit = kb.search(query)[0]  # other documents have an Article 15 or 9 too: a bonus, not forced first
    assert (hit.chunk.doc_id, hit.chunk.section.split(" > ")[-1].split()[0]) == ("regulations/gongwen-tiaoli", unit)


def test_a_chinese_chapter_reference_finds_its_articles(rules_kb: KnowledgeBase) -> None:
    hits = rules_kb.search("条例第三章", k=3)
    assert hits[0].chunk.doc_id == "regulations/gongwen-tiaoli"
    assert "第三章" in hits[0].chunk.section
