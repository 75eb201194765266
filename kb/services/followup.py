"""Reading a follow-up question ("and for meetings?") in the light of the one before.

A follow-up that names a new subject replaces the phrase of the previous
question that plays its part: after "Who signs a document issued in the name
of the General Office?", "and for the municipal government?" is read as "Who
signs a document issued in the name of the municipal government?". The phrase
replaced is the one of the previous question the encoder finds closest to the
new subject; with no close one, the follow-up is joined to the question before.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

# Openings that lean on the previous question rather than stand alone.
_CUES = re.compile(
    r"^\s*(and|also|or|but|then|what about|how about|and what about|and how about|same for|what if|"
    r"in that case|那么|那|还有|如果是)\b[\s,，]*",
    re.IGNORECASE,
)
_PRONOUN = re.compile(r"\b(it|its|that|this|they|them|those|these|he|she|there)\b", re.IGNORECASE)
_WORD = re.compile(r"[\w'’-]+")
_PREPOSITION = re.compile(r"^(?:for|in|of|on|about|with|by|to|at|from|under|regarding)\s+", re.IGNORECASE)
_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
# Words that never belong to a subject phrase of the previous question.
_FUNCTION = frozenset(
    "a an the of for in on to by at from with about under and or but is are was were be been being do does did "
    "done has have had who whom whose what which when where why how must should shall can could may might will "
    "would i we you they it its this that these those our your their my there any some each every much many "
    "long soon far often".split()
)
SHORT = 4  # words: "And for meetings?" is a follow-up, "Who signs circulars?" is not
MIN_SIMILARITY = 0.35  # a previous phrase at least this close to the new subject is the one it replaces
MAX_PHRASE = 4  # words in a phrase that can be replaced
NEAR = 0.1  # phrases this close to the closest one compete on length
MIN_WORD_SIMILARITY = 0.15  # each word of a replaced phrase is at least this close to the new subject

Embed = Callable[[list[str]], np.ndarray]


def is_follow_up(question: str) -> bool:
    """True when ``question`` does not stand on its own: it opens with a cue, or is a short fragment with a pronoun."""
    words = _WORD.findall(question)
    if _CUES.match(question):
        return True
    return len(words) <= SHORT and bool(_PRONOUN.search(question))


def _subject(rest: str) -> str:
    """The new subject a follow-up names: "for the municipal government?" -> "municipal government"."""
    text = rest.strip().rstrip("?？.!").strip()
    text = _PREPOSITION.sub("", text)
    return _ARTICLE.sub("", text).strip()


def _phrases(question: str) -> list[tuple[int, int]]:
    """(start, end) of the runs of up to MAX_PHRASE content words in ``question``, and of their parts."""
    words = [(m.start(), m.end(), m.group(0).lower()) for m in _WORD.finditer(question)]
    runs, current = [], []
    for w in words:
        if w[2] in _FUNCTION:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(w)
    if current:
        runs.append(current)
    spans = []
    for run in runs:
        for i in range(len(run)):
            for j in range(i, min(len(run), i + MAX_PHRASE)):
                spans.append((run[i][0], run[j][1]))
    return spans


def contextualize(question: str, previous: str | None, embed: Embed | None = None) -> str:
    """The question to search for: a follow-up read with the question it follows.

    Args:
        question: What the user typed now.
        previous: The question before, as it was read.
        embed: Texts to unit vectors (the encoder); without it a follow-up is joined to ``previous``.
    """
    if not previous or not is_follow_up(question):
        return question
    rest = _CUES.sub("", question, count=1).strip()
    if not rest:
        return previous.strip()
    subject = _subject(rest)
    if embed is not None and subject and len(_WORD.findall(subject)) <= MAX_PHRASE and not _PRONOUN.search(subject):
        spans = _phrases(previous)
        if spans:
            vectors = embed([subject, *(previous[a:b] for a, b in spans)])
            sims = vectors[1:] @ vectors[0]
            word_sim = {spans[i]: sims[i] for i in range(len(spans))}
            # A phrase holds no word unrelated to the new subject ("sent" in "executive meeting sent").
            whole = [i for i, (a, b) in enumerate(spans)
                     if all(word_sim.get((m.start() + a, m.end() + a), 1.0) >= MIN_WORD_SIMILARITY
                            for m in _WORD.finditer(previous[a:b]))]
            # Of the phrases nearly as close as the closest, the longest: "executive meeting", not "meeting".
            top = max((sims[i] for i in whole), default=0.0)
            near = [i for i in whole if sims[i] >= top - NEAR]
            best = max(near, key=lambda i: (spans[i][1] - spans[i][0], sims[i]), default=None)
            if best is not None and sims[best] >= MIN_SIMILARITY:
                a, b = spans[best]
                before = re.sub(r"\b(a|an)(\s+)$", lambda m: ("an" if subject[:1].lower() in "aeiou" else "a")
                                + m.group(2), previous[:a], flags=re.IGNORECASE)
                return f"{before}{subject}{previous[b:]}".strip()
    return f"{rest} {previous.strip()}"
