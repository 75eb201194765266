"""Typos and shorthand in questions: "wat font n size is the body txt of a documnt in?".

A query word that is not in the knowledge base's own vocabulary is corrected:

* when it is no English word (symspellpy's English frequency list), to the
  closest word (edit distance at most 2) among the knowledge base's words and the
  commonest English words, the office's own words first;
* when it is a rare English word, only to a knowledge-base word one edit away that
  English uses at least ``RARER`` times as often ("wat" -> "what"), so a real word
  the office never uses ("overtime", "lieu") stays as it is and can still make
  the answer "not found".

Office shorthand ("govt", "mtg") is expanded from a short list. Chinese text,
numbers, acronyms and words under three letters are left alone.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*[A-Za-z]|[A-Za-z]")
COMMON_ENGLISH = 5_000  # the most frequent English words a typo may be corrected to
MAX_DISTANCE = 2
RARER = 100  # an English word yields to a knowledge-base word this many times as frequent
# Shorthand an office types, expanded whatever the index holds.
SHORTHAND = {
    "govt": "government", "gov": "government", "mtg": "meeting", "mtgs": "meetings", "doc": "document",
    "docs": "documents", "dept": "department", "depts": "departments", "div": "division", "info": "information",
    "admin": "administration", "approx": "approximately", "reg": "regulation", "regs": "regulations",
    "natl": "national", "intl": "international", "yr": "year", "yrs": "years", "min": "minutes",
    "mins": "minutes", "asap": "as soon as possible", "w/o": "without", "pls": "please", "plz": "please",
    "abt": "about", "wrt": "with regard to", "u": "you", "r": "are", "n": "and", "b4": "before",
    "wat": "what", "wot": "what", "wht": "what", "hw": "how", "whn": "when", "thx": "thanks",
}


@dataclass(frozen=True)
class Correction:
    """The query as it will be searched, and the words changed (original -> corrected)."""

    query: str
    changes: tuple[tuple[str, str], ...] = ()


@lru_cache(maxsize=1)
def _english() -> dict[str, int]:
    """symspellpy's English frequency list: word -> count, commonest first."""
    import symspellpy

    path = Path(symspellpy.__file__).with_name("frequency_dictionary_en_82_765.txt")
    with open(path, encoding="utf-8") as lines:
        return {word: int(count) for word, count in (line.split() for line in lines)}


class Speller:
    """Corrects queries against one snapshot's vocabulary; made once per snapshot, shared by threads.

    The symspellpy index (a second or two) is built on the first query that has a word to
    correct; a query whose words the knowledge base all knows costs a set lookup per word.
    """

    def __init__(self, texts: list[str]) -> None:
        self._counts = Counter(w.lower() for text in texts for w in _WORD.findall(text) if len(w) >= 3)
        self.vocabulary = frozenset(self._counts)
        self._lock = threading.Lock()

    @property
    def _english(self) -> dict[str, int]:
        return _english()

    @property
    def _sym(self):
        with self._lock:
            if "_built" not in self.__dict__:
                self.__dict__["_built"] = self._build()
        return self.__dict__["_built"]

    def _build(self):
        from symspellpy import SymSpell

        counts = self._counts
        top = max(counts.values(), default=1)
        sym = SymSpell(max_dictionary_edit_distance=MAX_DISTANCE, prefix_length=7)
        for n, (word, count) in enumerate(self._english.items()):
            if n >= COMMON_ENGLISH:
                break
            sym.create_dictionary_entry(word, 1 + count // 10**6)
        for word, count in counts.items():
            # The office's own words outrank common English at the same distance.
            sym.create_dictionary_entry(word, 10**6 + count * 10**6 // top)
        return sym

    def correct(self, query: str) -> Correction:
        from symspellpy import Verbosity

        changes: list[tuple[str, str]] = []

        def fix(m: re.Match) -> str:
            word = m.group(0)
            stem, possessive = (word[:-2], word[-2:]) if word.lower().endswith(("'s", "’s")) else (word, "")
            low = stem.lower()
            if low in SHORTHAND:
                changes.append((word, SHORTHAND[low]))
                return SHORTHAND[low] + possessive
            if len(low) < 3 or stem.isupper() or low in self.vocabulary:
                return word
            english = self._english.get(low)
            found = self._sym.lookup(low, Verbosity.CLOSEST, max_edit_distance=1 if english else MAX_DISTANCE)
            if english is not None:  # a rare English word: only a far commoner office word replaces it
                found = sorted((s for s in found if s.term in self.vocabulary
                                and self._english.get(s.term, 0) >= RARER * english),
                               key=lambda s: -self._english.get(s.term, 0))
            best = next((s.term for s in found if s.term != low), None)
            if best is None:
                return word
            changes.append((word, best + possessive))
            return best + possessive

        corrected = _WORD.sub(fix, query)
        return Correction(corrected, tuple(changes))


_LOCK = threading.Lock()


def speller_for(snapshot) -> Speller:
    """The snapshot's Speller, made on first use from its titles and chunk texts."""
    speller = getattr(snapshot, "_speller", None)
    if speller is None:
        with _LOCK:
            speller = getattr(snapshot, "_speller", None)
            if speller is None:
                texts = [r.document.title for r in snapshot.records.values()] + [c.text for c in snapshot.chunks]
                speller = Speller(texts)
                snapshot._speller = speller
    return speller
