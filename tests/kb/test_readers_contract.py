"""What every reader promises, whichever writes the answer (the llm reader against the scripted server)."""

from __future__ import annotations

import pytest

from kb.index import KnowledgeBase
from kb.readers import make_reader
from kb.readers.extractive import ExtractiveReader
from kb.readers.grounding import markers
from tests.llm_stub import reply, stub  # noqa: F401

QUESTIONS = [
    "How many working days before the meeting must the meeting notice be sent?",
    "How long are duty records kept now?",
    "How much did the Finance Bureau allocate for pumping equipment?",
]


@pytest.fixture(params=["extractive", "llm"])
def reader(request, built: KnowledgeBase, stub):
    settings = built.settings.replace(reader=request.param, llm_base_url=stub.url, llm_model="stub")
    reader = make_reader(settings, built.encoder)
    reader.stub = stub
    return reader


def script(reader, built: KnowledgeBase, question: str) -> None:
    """The stub replies with the quoted answer: a faithful model."""
    snapshot, hits = built.retrieve(question)
    quoted = ExtractiveReader(built.encoder, built.settings).read(question, hits, snapshot)
    reader.stub.script = [reply(quoted.text)]


@pytest.mark.parametrize("question", QUESTIONS)
def test_read_and_stream_give_the_same_cited_answer(reader, built: KnowledgeBase, question: str) -> None:
    snapshot, hits = built.retrieve(question)
    script(reader, built, question)
    answer = reader.read(question, hits, snapshot)
    reading = reader.stream(question, hits, snapshot)
    streamed = list(reading)
    assert reading.answer == answer
    assert tuple(streamed) == answer.sentences
    assert answer.found and answer.reader == reader.name
    numbers = {c.n for c in answer.citations}
    for sentence in answer.sentences:
        assert sentence.supported and sentence.shown
        assert sentence.citations and set(markers(sentence.text)) <= numbers
    for c in answer.citations:
        assert c.hit.chunk.text[c.quote_start:].startswith(c.quote.split(" … ")[0])


def test_a_question_the_knowledge_base_does_not_answer_is_not_found(reader, built: KnowledgeBase) -> None:
    question = "What is the recipe for a chocolate cake with vanilla frosting?"
    snapshot, hits = built.retrieve(question)
    answer = reader.read(question, hits, snapshot)
    assert not answer.found and answer.closest and not answer.citations
    assert reader.stub.requests == []
