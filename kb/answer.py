"""Answers composed from the search's hits: quoted clauses, each with its marker [n].

Nothing is generated. ``compose(question, hits, snapshot, settings, models)``
is a pure function of its inputs, and a pipeline of named steps:

1. **Refusals**, in order; the first that fires answers "not found", with the
   closest passages. ``answerability`` is the learned decision (kb.answerability);
   ``evidence`` the older cosine threshold, used when no model is loaded;
   ``unknown_words`` and ``year`` look for what the index cannot hold.
2. **Lead rules** that reorder the top passages: the decisions of minutes over
   their discussion (``outcome``), a document's body over its preamble
   (``preamble``), a reply over the request it answers (``reply``), and for a
   question on how things are done a rule over a record just above it
   (``regulation``).
3. **The quote**: the unit (a sentence, an item, or a list with its lead-in;
   kb.sentences) of the leading passage that best answers the question, scored
   by the reranker (or the encoder), and a second unit of the same document when
   it scores nearly as well and says something else. Sources are not stitched
   from unrelated documents, and no fact is quoted twice.

Every step has a name that the ``answer_off`` setting can switch off; the
README's ablation table measures each one on held-out questions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kb.sentences import Unit, clean, units
from kb.types import Answer, Citation, Hit

if TYPE_CHECKING:
    from kb.config import Settings
    from kb.encoder import Encoder
    from kb.snapshot import Snapshot
    from kb.store import DocRecord

NOT_FOUND = "Not found in the knowledge base."
PASSAGES = 5  # top hits that compete for the lead
MAX_UNITS = 2  # quoted units in one answer
SECOND_MARGIN = 1.0  # a second unit scores within this of the first (reranker logits)
SECOND_MARGIN_COSINE = 0.05  # the same, in cosine, when there is no reranker
SECOND_MARGIN_LEXICAL = 0.1  # the same, in shared question terms, when no model can read the question
DUPLICATE_COSINE = 0.92  # units this close say the same thing
UNKNOWN_WORDS = 2  # a question with this many topic words the index never saw: not found
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class Models:
    """The models composing may use: the encoder, and when loaded the reranker and the answerability model."""

    encoder: Encoder
    reranker: object | None = None  # kb.rerank.Reranker
    answerability: object | None = None  # kb.answerability.Answerability


@dataclass(frozen=True)
class Refusal:
    """Why an answer is "not found"; ``unsure`` when the closest passages may still be related."""

    step: str
    reason: str
    unsure: bool = False


# -- refusals -------------------------------------------------------------------------------


def _learned_applies(hits: list[Hit], settings: Settings, models: Models) -> bool:
    """Whether the answerability model decides for these hits: it is loaded and on, and, when it was trained
    on the reranker's signals, the reranker read the question (a Chinese question it cannot read has none)."""
    model = models.answerability
    if model is None or "answerability" in _off(settings):
        return False
    return not model.reranker or any(h.rerank is not None for h in hits)


def _evidence(question: str, hits: list[Hit], snapshot: Snapshot, settings: Settings, models: Models) -> Refusal | None:
    if _learned_applies(hits, settings, models):
        return None  # the learned decision replaces the bare threshold
    best = max((h.dense for h in hits), default=0.0)
    if best < settings.answer_threshold:
        return Refusal("evidence", f"no passage is close enough (best similarity {best:.2f})")
    return None


def _answerability(question: str, hits: list[Hit], snapshot: Snapshot, settings: Settings,
                   models: Models) -> Refusal | None:
    model = models.answerability
    if not _learned_applies(hits, settings, models):
        return None
    p = model.probability(question, hits, snapshot)
    if p < model.threshold:
        return Refusal("answerability", f"the best passages do not answer it (confidence {p:.2f})",
                       unsure=p >= model.unsure)
    return None


def _unknown_words(question: str, hits: list[Hit], snapshot: Snapshot, settings: Settings,
                   models: Models) -> Refusal | None:
    # Several topic words the knowledge base has never seen ("overtime", "lieu"): the question
    # is about something it does not hold, however close the nearest passage sounds.
    unknown, _ = snapshot.lexical.unknown_words(question)
    if len(unknown) >= UNKNOWN_WORDS:
        return Refusal("unknown_words", f"it asks about {', '.join(unknown)}, which no document mentions")
    return None


def _year(question: str, hits: list[Hit], snapshot: Snapshot, settings: Settings, models: Models) -> Refusal | None:
    # A question naming a year asks about that year's document or decision: when the best
    # passage neither mentions the year nor is dated in it, the index holds other years'.
    years = set(_YEAR.findall(question))
    if years and hits and not years <= _years_of(snapshot.records, hits[0]):
        return Refusal("year", f"no document of {', '.join(sorted(years))} answers it", unsure=True)
    return None


REFUSALS: dict[str, Callable[..., Refusal | None]] = {
    "evidence": _evidence,
    "answerability": _answerability,
    "unknown_words": _unknown_words,
    "year": _year,
}


# -- lead rules -----------------------------------------------------------------------------

# Sections of minutes that record what a meeting settled, rather than what it discussed.
_OUTCOME = re.compile(
    r"(?:decisions?|decided|resolutions?|conclusions?|action items?|follow-up actions?"
    r"|议定事项|会议决定|决定事项|决议|工作分工|任务分工)\b", re.IGNORECASE
)
# Official documents name their kind in the title: "Reply on ...", "关于……的批复".
_REPLY = re.compile(r"^\s*(?:official\s+)?reply\b|的(?:批复|复函)\s*$", re.IGNORECASE)
_REQUEST = re.compile(r"^\s*request\b|的请示\s*$", re.IGNORECASE)
_ASKS = re.compile(r"\b(?:ask|asked|asking|request|requested|requesting|propose|proposed|proposals?)\b|请示|申请",
                   re.IGNORECASE)
# A question naming a year or in the past tense asks about a record, not about a rule.
_RECORD = re.compile(
    r"\b(?:did|was|were|had|decided|replied|told|asked|issued|held|set|agreed|reported)\b"
    r"|(?<!\d)(?:19|20)\d\d(?!\d)|\blast (?:year|month|week)\b|去年|上年|上月|曾经|当时",
    re.IGNORECASE,
)
RULE_MARGIN = 0.1  # fused-score gap within which a regulation takes the lead from a record


def is_outcome(hit: Hit) -> bool:
    """Whether ``hit`` is from the decisions or action items of meeting minutes."""
    return hit.type == "minutes" and any(_OUTCOME.match(part.strip()) for part in hit.chunk.section.split(" > "))


def _promote(kept: list[Hit], lead: int | None) -> list[Hit]:
    if lead is not None:
        kept.insert(0, kept.pop(lead))
    return kept


def _outcome(question: str, kept: list[Hit]) -> list[Hit]:
    top = kept[0]
    if top.type != "minutes" or is_outcome(top):
        return kept
    return _promote(kept, next((i for i, h in enumerate(kept[1:], 1)
                                if h.chunk.doc_id == top.chunk.doc_id and is_outcome(h)), None))


def _preamble(question: str, kept: list[Hit]) -> list[Hit]:
    top = kept[0]
    if top.chunk.section:
        return kept
    return _promote(kept, next((i for i, h in enumerate(kept[1:], 1)
                                if h.chunk.doc_id == top.chunk.doc_id and h.chunk.section), None))


def _reply(question: str, kept: list[Hit]) -> list[Hit]:
    top = kept[0]
    if not top.chunk.section or not _REQUEST.search(top.title) or _ASKS.search(question):
        return kept
    label = top.chunk.section.split(" > ")[0]
    return _promote(kept, next((i for i, h in enumerate(kept[1:], 1)
                                if _REPLY.search(h.title) and h.chunk.section.split(" > ")[0] == label), None))


def _regulation(question: str, kept: list[Hit]) -> list[Hit]:
    top = kept[0]
    if top.type == "regulation" or _RECORD.search(question):
        return kept
    return _promote(kept, next((i for i, h in enumerate(kept[1:], 1)
                                if h.type == "regulation" and top.score - h.score <= RULE_MARGIN), None))


LEAD_RULES: dict[str, Callable[[str, list[Hit]], list[Hit]]] = {
    "outcome": _outcome,
    "preamble": _preamble,
    "reply": _reply,
    "regulation": _regulation,
}
STEPS = (*REFUSALS, *LEAD_RULES)


def _off(settings: Settings) -> set[str]:
    return {s.strip() for s in getattr(settings, "answer_off", "").split(",") if s.strip()}


def pick_passages(hits: list[Hit], question: str = "", off: set[str] = frozenset()) -> list[Hit]:
    """The top passages, without a superseded document whose replacement is also among them,
    in the order the enabled lead rules give (a hit naming the unit asked for keeps its place)."""
    present = {h.chunk.doc_id for h in hits}
    kept = [h for h in hits if not (h.status != "in_force" and h.superseded_by in present)][:PASSAGES]
    if not kept or kept[0].exact:
        return kept
    for name in ("outcome", "preamble", "reply"):  # at most one of these moves a passage up
        if name not in off:
            before = kept[0]
            kept = LEAD_RULES[name](question, kept)
            if kept[0] is not before:
                break
    if "regulation" not in off:
        kept = _regulation(question, kept)
    return kept


# -- the quote --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    passage: int  # index into the passages
    unit: Unit
    text: str  # as displayed


def compose(
    question: str, hits: list[Hit], snapshot: Snapshot, settings: Settings, models: Models,
    query_vector: np.ndarray | None = None,
) -> Answer:
    """Answer ``question`` from ``hits`` (one search of ``snapshot``) with cited, quoted units.

    Args:
        question: The question as searched.
        hits: The search's hits, best first.
        snapshot: The snapshot the hits come from; every lookup uses it.
        settings: For ``answer_threshold`` and ``answer_off``.
        models: The encoder, and the reranker and answerability model when loaded.
        query_vector: The question's vector from the search, so it is not encoded again.
    """
    off = _off(settings)
    closest = tuple(hits[:3])
    if not hits:
        return Answer(question, NOT_FOUND, False, (), closest, note="nothing in the knowledge base matches it")
    exact = any(h.exact for h in hits)
    if not exact:
        for name, check in REFUSALS.items():
            if name in off:
                continue
            refusal = check(question, hits, snapshot, settings, models)
            if refusal is not None:
                return Answer(question, NOT_FOUND, False, (), closest, note=refusal.reason,
                              related=refusal.unsure)
    passages = pick_passages(hits, question, off)
    lead_doc = passages[0].chunk.doc_id
    candidates = [
        _Candidate(i, u, clean(h.chunk.text[u.start:u.end]))
        for i, h in enumerate(passages) if h.chunk.doc_id == lead_doc
        for u in units(h.chunk.text, h.chunk.section) if _quotable(h.chunk.text[u.start:u.end], u)
    ]
    if not candidates:
        return Answer(question, NOT_FOUND, False, (), closest, note="the passages found hold only headings")
    limit = settings.unreadable_unknown_share if settings.dense_gate else 1.01
    scores, margin = _score(question, candidates, models, query_vector, limit)
    scores = _named_item(question, candidates, scores)
    chosen = _choose(candidates, scores, margin, models)
    return _render(question, passages, chosen, snapshot.records, closest)


def _quotable(text: str, unit: Unit) -> bool:
    """Long enough to say something (a list's items always are)."""
    if unit.kind == "list":
        return True
    cjk = sum("\u4e00" <= ch <= "\u9fff" for ch in text)
    return cjk >= 6 or len(re.findall(r"\w+", text)) >= 3


def _score(question: str, candidates: list[_Candidate], models: Models,
           query_vector: np.ndarray | None, unreadable: float = 1.01) -> tuple[np.ndarray, float]:
    """How well each unit answers, and the margin to use: reranker logits, or cosine with the question,
    or (when neither model can read the question: ``unreadable`` or more of it unknown) shared terms."""
    texts = [c.text for c in candidates]
    if models.reranker is not None and _reads(models.reranker, question, unreadable):
        return np.asarray(models.reranker.score(question, texts), dtype=np.float32), SECOND_MARGIN
    if _reads(models.encoder, question, unreadable):
        qvec = query_vector if query_vector is not None else models.encoder.encode([question.strip()])[0]
        return models.encoder.encode(texts) @ qvec, SECOND_MARGIN_COSINE
    return _shared_terms(question, texts), SECOND_MARGIN_LEXICAL


def _named_item(question: str, candidates: list[_Candidate], scores: np.ndarray) -> np.ndarray:
    """Scores with the item the question names (第九条第（十二）项) put above every other unit."""
    from kb.references import query_item

    marker = query_item(question)
    named = [i for i, c in enumerate(candidates) if marker and c.unit.kind == "item" and c.unit.marker == marker]
    if not named:
        return scores
    first = min(candidates[i].passage for i in named)  # the best-ranked passage's item, not a namesake elsewhere
    named = [i for i in named if candidates[i].passage == first]
    scores = np.array(scores, dtype=np.float32)
    scores[named] = scores.max() + 1.0
    return scores


def _reads(model, question: str, unreadable: float) -> bool:
    """Whether ``model`` can read the question: less than ``unreadable`` of its word pieces unknown (kb.readability).

    A Chinese question under all-MiniLM-L6-v2 is about 70 % [UNK]: its cosines
    and the cross-encoder's logits would pick a unit at random.
    """
    return float(model.unknown_share([question])[0]) < unreadable


def _shared_terms(question: str, texts: list[str]) -> np.ndarray:
    """Share of the question's BM25 terms (Chinese bigrams, stems; less the words of asking) each text holds."""
    from kb.lexical import Tokenizer

    tokenize = Tokenizer("extended")
    asked = set(tokenize([question])[0])
    if not asked:
        return np.zeros(len(texts), dtype=np.float32)
    return np.array([len(asked & set(t)) / len(asked) for t in tokenize(texts)], dtype=np.float32)


def _choose(candidates: list[_Candidate], scores: np.ndarray, margin: float, models: Models) -> list[_Candidate]:
    """The best unit of the leading passage (retrieval ranks whole passages better than a
    lone sentence's score does), then at most one more of the same document that scores
    within ``margin`` and neither repeats nor contains the first."""
    lead = [i for i, c in enumerate(candidates) if c.passage == min(c.passage for c in candidates)]
    first = max(lead, key=lambda i: scores[i])
    chosen = [first]
    for j in np.argsort(-scores, kind="stable"):
        if len(chosen) >= MAX_UNITS or scores[j] < scores[first] - margin:
            break
        if j in chosen or _overlaps(candidates[j], [candidates[c] for c in chosen]):
            continue
        if _same_fact(candidates[j].text, [candidates[c].text for c in chosen], models):
            continue
        chosen.append(int(j))
    return [candidates[i] for i in chosen]


def _overlaps(c: _Candidate, chosen: list[_Candidate]) -> bool:
    """Whether ``c`` and a chosen unit share text (an item of a chosen list, or the list of a chosen item)."""
    return any(c.passage == o.passage and c.unit.start < o.unit.end and o.unit.start < c.unit.end for o in chosen)


def _same_fact(text: str, chosen: list[str], models: Models) -> bool:
    """The same words, or the same figures in nearly the same words, as a unit already quoted."""
    flat = " ".join(text.lower().split())
    for other in chosen:
        o = " ".join(other.lower().split())
        if flat in o or o in flat:
            return True
    vectors = models.encoder.encode([text, *chosen])
    if (vectors[1:] @ vectors[0]).max() >= DUPLICATE_COSINE:
        return True
    numbers = set(_NUMBER.findall(text))
    return bool(numbers) and any(numbers == set(_NUMBER.findall(o)) for o in chosen)


def _render(question: str, passages: list[Hit], chosen: list[_Candidate], records: Mapping[str, DocRecord],
            closest: tuple[Hit, ...]) -> Answer:
    marker: dict[int, int] = {}
    for c in sorted(chosen, key=lambda c: (c.passage, c.unit.start)):
        marker.setdefault(c.passage, len(marker) + 1)
    parts = [f"{c.text}{_status_note(records, passages[c.passage])} [{marker[c.passage]}]" for c in chosen]
    citations = []
    for i, n in marker.items():
        mine = sorted((c for c in chosen if c.passage == i), key=lambda c: c.unit.start)
        hit = passages[i]
        quote = " … ".join(hit.chunk.text[c.unit.start:c.unit.end] for c in mine)
        start = mine[0].unit.start
        citations.append(Citation(n, hit, quote, start, _page_of(records, hit, start),
                                  section=_where(hit, mine[0].unit)))
    return Answer(question, " ".join(parts), True, tuple(citations), closest)


def _where(hit: Hit, unit: Unit) -> str:
    """The section path of the quote itself: a merged passage's later article, an item's marker."""
    from kb.grammar import detect_heading

    section = hit.chunk.section
    parts = [p for p in section.split(" > ") if p]
    text = hit.chunk.text
    line_start = text.rfind("\n", 0, unit.start) + 1
    heading = detect_heading(text[line_start:unit.end].split("\n", 1)[0])
    if heading is not None and heading.kind == "article" and parts and heading.marker not in parts[-1]:
        if any(p.startswith(heading.marker) for p in parts):
            pass
        else:
            parts[-1] = heading.marker
    if unit.kind == "item" and unit.marker and (not parts or unit.marker not in parts[-1]):
        parts.append(unit.marker)
    return " > ".join(parts)


def _years_of(records: Mapping[str, DocRecord], hit: Hit) -> set[str]:
    doc = records[hit.chunk.doc_id].document
    return set(_YEAR.findall(f"{hit.chunk.text} {doc.title} {doc.date or ''}"))


def _page_of(records: Mapping[str, DocRecord], hit: Hit, offset_in_chunk: int) -> int | None:
    record = records.get(hit.chunk.doc_id)
    if record is None or not record.document.page_starts:
        return hit.chunk.page
    return record.document.page_at(hit.chunk.start + offset_in_chunk)


def status_label(records: Mapping[str, DocRecord], hit: Hit) -> str:
    """"" for in-force documents, else e.g. "superseded by Rules on Duty Work (regulations/duty)"."""
    if hit.status == "in_force":
        return ""
    label = hit.status.replace("_", " ")
    if hit.superseded_by:
        record = records.get(hit.superseded_by)
        name = f"{record.document.title} ({hit.superseded_by})" if record else hit.superseded_by
        label += f" by {name}"
    return label


def _status_note(records: Mapping[str, DocRecord], hit: Hit) -> str:
    label = status_label(records, hit)
    return f" ({label})" if label else ""


def flat(text: str) -> str:
    """Quoted text as displayed: no Markdown markers, line breaks made spaces."""
    return clean(text)
