"""Readers turn the hits of one search into an answer: quoted (extractive) or written by a model (llm).

Both take the question, the hits and the snapshot they came from, and give an
``Answer``; ``stream`` gives the same answer a sentence at a time, each sentence
checked before it is handed out, for a page that shows text as it arrives:

    reading = make_reader(settings, encoder).stream(question, hits, snapshot)
    for sentence in reading:     # SentenceCheck, as each is judged
        ...
    answer = reading.answer      # the Answer, once the iteration ends
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from kb.types import Answer, Hit, SentenceCheck

if TYPE_CHECKING:
    from kb.config import Settings
    from kb.encoder import Encoder
    from kb.snapshot import Snapshot


class Reading:
    """The sentences of an answer as each is checked; ``answer`` once they have all come."""

    def __init__(self, events: Iterator[SentenceCheck | Answer]) -> None:
        self._events = events
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[SentenceCheck]:
        for event in self._events:
            if isinstance(event, Answer):
                self.answer = event
            else:
                yield event

    def finish(self) -> Answer:
        """Read to the end; the answer."""
        for _ in self:
            pass
        assert self.answer is not None, "a reader's events end with its Answer"
        return self.answer


class Reader(Protocol):
    """What answers a question from the hits of one search of one snapshot."""

    name: str

    def read(self, question: str, hits: list[Hit], snapshot: Snapshot) -> Answer:
        """The whole answer at once."""

    def stream(self, question: str, hits: list[Hit], snapshot: Snapshot) -> Reading:
        """The answer sentence by sentence; see Reading."""


class ReaderKind(str, Enum):
    EXTRACTIVE = "extractive"
    LLM = "llm"


def _extractive(settings: Settings, encoder: Encoder, models=None) -> Reader:
    from kb.readers.extractive import ExtractiveReader

    return ExtractiveReader(encoder, settings, models)


def _llm(settings: Settings, encoder: Encoder, models=None) -> Reader:
    from kb.readers.llm import LlmReader

    return LlmReader(encoder, settings, models=models)


FACTORIES: dict[ReaderKind, Callable[..., Reader]] = {
    ReaderKind.EXTRACTIVE: _extractive,
    ReaderKind.LLM: _llm,
}


def make_reader(settings: Settings, encoder: Encoder, kind: str | None = None, models=None) -> Reader:
    """The reader ``kind`` names (default: the ``reader`` setting). Cheap: nothing is contacted yet.

    ``models`` (kb.answer.Models) lends the quoted answer the reranker and the answerability model.
    """
    return FACTORIES[ReaderKind(kind or settings.reader)](settings, encoder, models)
