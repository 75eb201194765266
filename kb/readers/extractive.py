"""The extractive reader: kb.answer.compose as a Reader. Quoted sentences; no model."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from kb.readers import Reading
from kb.types import Answer, Hit, SentenceCheck

if TYPE_CHECKING:
    from kb.config import Settings
    from kb.encoder import Encoder
    from kb.snapshot import Snapshot

# compose joins "quote (status) [n]" parts with spaces.
_PART = re.compile(r"(.+?\s\[(\d+)\])(?=\s|$)", re.DOTALL)


def quoted_sentences(answer: Answer) -> tuple[SentenceCheck, ...]:
    """The quoted sentences of an extractive answer, each with its marker; support 1 (a quote)."""
    if not answer.found:
        return ()
    return tuple(SentenceCheck(m.group(1).strip(), (int(m.group(2)),), 1.0, True)
                 for m in _PART.finditer(answer.text))


class ExtractiveReader:
    """Answers with sentences quoted from the passages (kb.answer.compose), grounded by construction."""

    name = "extractive"

    def __init__(self, encoder: Encoder, settings: Settings, models=None) -> None:
        from kb.answer import Models

        self.encoder = encoder
        self.settings = settings
        self.models = models or Models(encoder)

    def read(self, question: str, hits: list[Hit], snapshot: Snapshot) -> Answer:
        from kb.answer import compose

        answer = compose(question, hits, snapshot, self.settings, self.models)
        return dataclasses.replace(answer, sentences=quoted_sentences(answer))

    def stream(self, question: str, hits: list[Hit], snapshot: Snapshot) -> Reading:
        return Reading(self._events(question, hits, snapshot))

    def _events(self, question: str, hits: list[Hit], snapshot: Snapshot) -> Iterator[SentenceCheck | Answer]:
        answer = self.read(question, hits, snapshot)
        yield from answer.sentences
        yield answer
