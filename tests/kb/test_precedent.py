"""Precedent search over whole documents, facets, similar documents; refresh after another writer."""

from __future__ import annotations

from pathlib import Path

from kb.encoder import HashingEncoder
from kb.index import KnowledgeBase
from kb.precedent import facet_counts, narrow, search_documents, similar_documents, similar_to_text
from tests.conftest import write


def test_documents_are_ranked_once_each_with_their_best_passage(built: KnowledgeBase) -> None:
    found = search_documents(built, "major emergency reported to the Duty Office by telephone")
    ids = [d.record.document.doc_id for d in found]
    assert len(ids) == len(set(ids))
    assert ids[0] == "regulations/duty-rules"  # in force ahead of the superseded one
    assert "regulations/duty-rules-2019" in ids
    assert found[0].best.chunk.doc_id == ids[0] and "thirty minutes" in found[0].best.chunk.text
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)


def test_facets_count_and_narrow_the_found_documents(built: KnowledgeBase) -> None:
    found = search_documents(built, "duty emergency meeting notice pumps")
    counts = facet_counts(found)
    assert counts["status"]["superseded"] == 1
    assert counts["year"]["2019"] == 1 and counts["issuer"]["unknown"] >= 1
    only = narrow(found, {"status": ["superseded"], "type": []})
    assert [d.record.document.doc_id for d in only] == ["regulations/duty-rules-2019"]


def test_similar_documents_put_the_other_version_first(built: KnowledgeBase) -> None:
    similar = similar_documents(built, "regulations/duty-rules-2019", k=3)
    assert similar[0][0].document.doc_id == "regulations/duty-rules"
    assert "regulations/duty-rules-2019" not in [r.document.doc_id for r, _ in similar]


def test_text_not_in_the_index_finds_its_closest_documents_among_those_kept(built: KnowledgeBase) -> None:
    passages = ["A major emergency shall be reported to the Duty Office by telephone.", "Duty records are kept."]
    similar = similar_to_text(built, passages, k=2)
    assert {r.document.doc_id for r, _ in similar} == {"regulations/duty-rules", "regulations/duty-rules-2019"}
    assert [score for _, score in similar] == sorted((score for _, score in similar), reverse=True)
    only_minutes = similar_to_text(built, passages, k=3, keep=lambda r: r.document.type == "minutes")
    assert [r.document.doc_id for r, _ in only_minutes] == ["minutes/2024-04-18-flood"]
    assert similar_to_text(built, ["  "], k=3) == []


def test_refresh_sees_what_another_writer_added(built: KnowledgeBase, settings, corpus: Path) -> None:
    assert not built.refresh()
    write(corpus / "minutes" / "note.md", "# Note\n\nThe archive room opens at eight o'clock.\n")
    KnowledgeBase(settings, HashingEncoder()).ingest([corpus])
    assert "minutes/note" not in built.snapshot.records
    assert built.refresh()
    assert "minutes/note" in built.snapshot.records
