"""The bundled corpus and its gold questions hold together."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ingest.chunkers import chunk_document
from ingest.loaders import iter_files, load_file
from kb.config import Settings
from kb.bench.gold import matches, read_gold
from kb.index import KnowledgeBase

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"


@pytest.fixture(scope="module")
def documents():
    return {doc.doc_id: doc for path, root in iter_files([CORPUS]) for doc in load_file(path, root)}


@pytest.fixture(scope="module")
def chunks(documents):
    kb = KnowledgeBase(Settings(index=ROOT / "unused"))  # the real tokenizer; the model is not loaded
    params = kb.chunking()
    return [c for doc in documents.values() for c in chunk_document(doc, kb.encoder.count_tokens, params)]


def test_every_file_loads_with_its_metadata(documents) -> None:
    for doc in documents.values():
        assert doc.title and doc.type in ("regulation", "document", "minutes"), doc.doc_id
        assert doc.number and doc.date and doc.issuer, doc.doc_id
        assert doc.status in ("in_force", "superseded"), doc.doc_id
    kinds = Counter(doc.type for doc in documents.values())
    assert kinds["regulation"] >= 9 and kinds["document"] >= 24 and kinds["minutes"] >= 12
    assert sum(len(doc.text.split()) for doc in documents.values()) >= 60_000


def test_superseded_regulation_names_its_in_force_replacement(documents) -> None:
    old = [d for d in documents.values() if d.status == "superseded"]
    assert old
    for doc in old:
        assert documents[doc.superseded_by].status == "in_force"


def test_document_numbers_are_unique(documents) -> None:
    numbers = Counter(doc.number for doc in documents.values())
    assert [n for n, count in numbers.items() if count > 1] == []


def test_every_gold_reference_resolves_to_a_chunk(chunks) -> None:
    questions = read_gold(ROOT / "eval" / "gold.jsonl")
    kinds = Counter(q.kind for q in questions)
    assert len(questions) >= 150
    assert kinds["drafting"] >= 40 and kinds["procedure"] >= 40 and kinds["precedent"] >= 30
    assert kinds["minutes"] >= 25 and kinds["unanswerable"] >= 15
    assert len({q.id for q in questions}) == len(questions)
    unresolved = [
        (q.id, entry) for q in questions for entry in q.gold
        if not any(matches(c.doc_id, c.section, (entry,)) for c in chunks)
    ]
    assert unresolved == []
