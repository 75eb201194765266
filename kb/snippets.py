"""Short extracts for result lists: a sentence or two of a passage around what matched the query."""

from __future__ import annotations

import functools
import re

SNIPPET_CHARS = 250
ELLIPSIS = "…"
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"\w\w+")


@functools.lru_cache(maxsize=1)
def _tokenizer():
    from kb.lexical import Tokenizer

    return Tokenizer("extended")  # the query's words of asking ("what", "how") match nothing


def _terms(text: str) -> set[str]:
    return set(_tokenizer()([text])[0])


def _first_match(text: str, terms: set[str]) -> int | None:
    """Where the first of ``terms`` (BM25 terms: stems, Chinese bigrams) occurs in ``text``."""
    lower = text.lower()
    found = [lower.find(t) for t in terms if _CJK.search(t)]
    words = [m for m in _WORD.finditer(lower) if not _CJK.search(m.group())]
    stems = _tokenizer()([m.group() for m in words]) if words else []  # one list of terms per word
    found += [m.start() for m, stem in zip(words, stems) if stem and stem[0] in terms]
    found = [p for p in found if p >= 0]
    return min(found) if found else None


def snippet(text: str, query: str, section: str = "", limit: int = SNIPPET_CHARS) -> str:
    """A sentence or two of ``text`` (a passage) around its best match for ``query``, at most about
    ``limit`` characters, Markdown marks and line breaks removed, "…" where it is cut.

    The sentence sharing most terms with the query is taken, then the one after it (or before it)
    while both fit; a longer sentence is cut to a window opening just before the first match.
    Headings are never shown. With no term in common, the passage's first sentences are shown.
    """
    from kb.sentences import clean, units

    # Sentences and list items, in order: a list is read as its lead-in and its items.
    spans = sorted({part for u in units(text, section) for part in (u.parts or ((u.start, u.end),))})
    spans = [s for i, s in enumerate(spans) if i == 0 or s[0] >= spans[i - 1][1]] or [(0, len(text))]
    terms = _terms(query)
    scores = [len(terms & _terms(text[a:b])) for a, b in spans]
    first = max(range(len(spans)), key=lambda i: (scores[i], -i))
    last = first
    if first + 1 < len(spans) and len(clean(text[spans[first][0]:spans[first + 1][1]])) <= limit:
        last = first + 1
    elif first > 0 and len(clean(text[spans[first - 1][0]:spans[first][1]])) <= limit:
        first -= 1
    piece = clean(text[spans[first][0]:spans[last][1]])
    if len(piece) <= limit:
        return piece
    match = _first_match(piece, terms) or 0
    start = max(0, match - limit // 4)
    end = min(len(piece), start + limit)
    if start > 0 and not _CJK.search(piece[start]):  # do not open or close inside an English word
        space = piece.find(" ", start)
        start = space + 1 if 0 <= space < match else start
    if end < len(piece) and not _CJK.search(piece[end - 1]):
        space = piece.rfind(" ", start, end)
        end = space if space > match else end
    return (ELLIPSIS if start > 0 else "") + piece[start:end].strip() + (ELLIPSIS if end < len(piece) else "")
