"""Reading a follow-up question ("and for meetings?") in the light of the one before."""

from __future__ import annotations

import re

# Openings that lean on the previous question rather than stand alone.
_CUES = re.compile(
    r"^\s*(and|also|or|but|then|what about|how about|and what about|and how about|same for|what if|"
    r"in that case|那么|那|还有|如果是)\b[\s,，]*",
    re.IGNORECASE,
)
_PRONOUN = re.compile(r"\b(it|its|that|this|they|them|those|these|he|she|there)\b", re.IGNORECASE)
_WORD = re.compile(r"\w+")
SHORT = 4  # words: "And for meetings?" is a follow-up, "Who signs circulars?" is not


def is_follow_up(question: str) -> bool:
    """True when ``question`` does not stand on its own: it opens with a cue, or is a short fragment with a pronoun."""
    words = _WORD.findall(question)
    if _CUES.match(question):
        return True
    return len(words) <= SHORT and bool(_PRONOUN.search(question))


def contextualize(question: str, previous: str | None) -> str:
    """The question to search for: a follow-up is joined to the question it follows."""
    if not previous or not is_follow_up(question):
        return question
    rest = _CUES.sub("", question, count=1).strip()
    return f"{rest} {previous.strip()}" if rest else previous.strip()
