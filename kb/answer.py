"""Answers built only from quoted sentences of retrieved chunks, each with its marker [n].

Nothing is generated: the answer is the few sentences of the top passages
that are closest to the question. Below the evidence threshold the answer
is "not found", with the closest passages, never a guess.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from kb.types import Answer, Citation, Hit

if TYPE_CHECKING:
    from kb.index import KnowledgeBase
    from kb.snapshot import Filters

NOT_FOUND = "Not found in the knowledge base."
PASSAGES = 5  # top hits whose sentences compete for the answer
MAX_SENTENCES = 3
SENTENCE_SLACK = 0.12  # further sentences must be this close to the best one

_BOUNDARY = re.compile(r"(?<=[.!?;。！？；])\s+|(?<=[。！？；])|\n+")
_WORDS = re.compile(r"\w+")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``, stripped; list items and lines stand alone."""
    spans, start = [], 0
    for m in _BOUNDARY.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            out.append((a, b))
    return out


def _informative(sentence: str) -> bool:
    cjk = sum("\u4e00" <= ch <= "\u9fff" for ch in sentence)
    return cjk >= 6 or len(_WORDS.findall(sentence)) >= 4


def _pick_passages(hits: list[Hit]) -> list[Hit]:
    """Top hits, without a superseded document whose replacement is also among them."""
    present = {h.chunk.doc_id for h in hits}
    return [h for h in hits if not (h.status != "in_force" and h.superseded_by in present)][:PASSAGES]


def answer(kb: KnowledgeBase, question: str, filters: Filters | None = None) -> Answer:
    """Answer ``question`` from the knowledge base with cited, quoted sentences."""
    settings = kb.settings
    hits = kb.search(question, k=max(settings.k, PASSAGES), filters=filters)
    best = max((h.dense for h in hits), default=0.0)
    exact = any(h.exact for h in hits)
    if not hits or (best < settings.answer_threshold and not exact):
        return Answer(question, NOT_FOUND, False, (), tuple(hits[:3]))

    passages = _pick_passages(hits)
    spans = [(i, a, b) for i, h in enumerate(passages) for a, b in split_sentences(h.chunk.text)
             if _informative(h.chunk.text[a:b])]
    if not spans:
        return Answer(question, NOT_FOUND, False, (), tuple(hits[:3]))
    sentences = [passages[i].chunk.text[a:b] for i, a, b in spans]
    qvec = kb.encoder.encode([question.strip()])[0]
    sims = kb.encoder.encode(sentences) @ qvec
    # A sentence from a higher-ranked passage wins a near tie; an exactly named unit wins outright.
    rank_bonus = np.array([0.05 * (1 - i / len(passages)) + (0.5 if passages[i].exact else 0.0) for i, _, _ in spans])
    scores = sims + rank_bonus
    order = np.argsort(-scores, kind="stable")
    chosen = [int(order[0])]
    for j in order[1:]:
        if len(chosen) >= MAX_SENTENCES or scores[j] < scores[order[0]] - SENTENCE_SLACK:
            break
        if sentences[j] not in {sentences[c] for c in chosen}:
            chosen.append(int(j))

    marker: dict[int, int] = {}
    parts = []
    for j in chosen:
        i = spans[j][0]
        marker.setdefault(i, len(marker) + 1)
        parts.append(f"{sentences[j]}{_status_note(kb, passages[i])} [{marker[i]}]")
    citations = []
    for i, n in marker.items():
        mine = sorted((spans[j][1], sentences[j]) for j in chosen if spans[j][0] == i)
        hit = passages[i]
        quote = " … ".join(text for _, text in mine)
        citations.append(Citation(n, hit, quote, mine[0][0], _page_of(kb, hit, mine[0][0])))
    return Answer(question, " ".join(parts), True, tuple(citations), tuple(hits[:3]))


def _page_of(kb: KnowledgeBase, hit: Hit, offset_in_chunk: int) -> int | None:
    record = kb.snapshot.records.get(hit.chunk.doc_id)
    if record is None or not record.document.page_starts:
        return hit.chunk.page
    return record.document.page_at(hit.chunk.start + offset_in_chunk)


def status_label(kb: KnowledgeBase, hit: Hit) -> str:
    """"" for in-force documents, else e.g. "superseded by Rules on Duty Work (regulations/duty)"."""
    if hit.status == "in_force":
        return ""
    label = hit.status.replace("_", " ")
    if hit.superseded_by:
        record = kb.snapshot.records.get(hit.superseded_by)
        name = f"{record.document.title} ({hit.superseded_by})" if record else hit.superseded_by
        label += f" by {name}"
    return label


def _status_note(kb: KnowledgeBase, hit: Hit) -> str:
    label = status_label(kb, hit)
    return f" ({label})" if label else ""
