"""BM25 over chunk texts with bm25s: English stemming and stop words, CJK bigrams.

Chinese has no spaces between words, so each run of CJK characters is
indexed as its overlapping character bigrams (a single character stands
alone); a Chinese question then matches Chinese text without a segmenter.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

TOKENIZER_VERSION = 2

# Word families the English stemmer leaves apart although an office uses them as one
# ("what was decided" asks for the "Decisions" of the minutes).
_SAME_STEM = {"decid": "decis", "attende": "attend"}

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_ENGLISH_WORD = re.compile(r"\b[a-z]{3,}\b")
# Words of asking rather than of a subject, beyond the usual function words.
_ASKING_WORDS = frozenset(
    "many much must could would need needs get gets got ok okay want thing something anything "
    "everything really actually exactly please think know tell".split()
)
MIN_VOCABULARY = 1000  # below this an index knows too few words to call one unknown
# bm25s's own defaults: what an index whose lexical.json names no parameters was built with.
DEFAULT_K1, DEFAULT_B = 1.5, 0.75
# Stop words dropped from queries: "basic" drops what the documents drop (bm25s's 33 English
# function words), "extended" also bm25s's longer English list, which holds the words of asking
# ("what", "which", "how", "should", "does"): on ObliQA they only add noise to the BM25 side.
QUERY_STOPWORDS = ("basic", "extended")


def _cjk_bigrams(match: re.Match) -> str:
    run = match.group(0)
    if len(run) == 1:
        return f" {run}{run} "  # doubled so the 2-character token pattern keeps it
    return " " + " ".join(run[i : i + 2] for i in range(len(run) - 1)) + " "


class Tokenizer:
    """Text to BM25 terms; the same for documents and queries, but a query may drop more stop words."""

    def __init__(self, stopwords: str = "basic") -> None:
        import bm25s.stopwords
        import Stemmer

        if stopwords not in QUERY_STOPWORDS:
            raise ValueError(f"stop words {stopwords!r} are not one of {', '.join(QUERY_STOPWORDS)}")
        self._stem = Stemmer.Stemmer("english").stemWords
        self._stopwords = frozenset(bm25s.stopwords.STOPWORDS_EN)
        if stopwords == "extended":
            self._stopwords |= frozenset(bm25s.stopwords.STOPWORDS_EN_PLUS)

    def __call__(self, texts: list[str]) -> list[list[str]]:
        out = []
        for text in texts:
            text = _CJK_RUN.sub(_cjk_bigrams, text.lower())
            words = [w for w in _TOKEN.findall(text) if w not in self._stopwords]
            out.append([_SAME_STEM.get(t, t) for t in self._stem(words)])
        return out


def with_pairs(terms: list[str], cjk: bool = True) -> list[str]:
    """``terms`` and then each pair of neighbours, as one term ("money launder" after "money", "launder").

    A pair stands for a phrase: a question that names "relevant person" then
    prefers the passages where the two words stand together. Stop words are
    gone before pairing, so "notice of the meeting" pairs as "notic meet".

    With ``cjk`` false a CJK term pairs with nothing: two neighbouring character
    bigrams overlap ("合同" "同法"), so their pair is a three-character string that
    rewards exact wording over the topic (on STARD dev, with pairs, Recall@10
    0.434 against 0.467 without, on both halves).
    """
    pairs = zip(terms, terms[1:])
    if not cjk:
        pairs = ((a, b) for a, b in pairs if not (_CJK_RUN.search(a) or _CJK_RUN.search(b)))
    return terms + [f"{a} {b}" for a, b in pairs]


class LexicalIndex:
    """A BM25 index over texts in a fixed order (position i is text i).

    ``k1`` (how soon repeating a term stops adding to the score), ``b`` (how
    much a long text is discounted), ``bigrams`` (also index each pair of
    neighbouring terms, see with_pairs) and ``cjk_pairs`` (pair Chinese terms
    too) are fixed when the index is built.
    """

    def __init__(
        self, retriever=None, size: int = 0, k1: float = DEFAULT_K1, b: float = DEFAULT_B, bigrams: bool = False,
        cjk_pairs: bool = False,
    ) -> None:
        self._retriever = retriever
        self.size = size
        self.k1, self.b, self.bigrams, self.cjk_pairs = float(k1), float(b), bool(bigrams), bool(cjk_pairs)
        self._tokenize = Tokenizer()
        self._query_tokenizers = {"basic": self._tokenize}

    @property
    def params(self) -> dict:
        """The BM25 parameters the index was built with, as the manifest records them."""
        return {"k1": self.k1, "b": self.b, "bigrams": self.bigrams, "cjk_pairs": self.cjk_pairs}

    @classmethod
    def build(
        cls, texts: list[str], k1: float = DEFAULT_K1, b: float = DEFAULT_B, bigrams: bool = False,
        cjk_pairs: bool = False,
    ) -> LexicalIndex:
        """Index ``texts``; an empty list gives an index that scores nothing."""
        import bm25s

        if not texts:
            return cls(None, 0, k1, b, bigrams, cjk_pairs)
        terms = Tokenizer()(texts)
        if bigrams:
            terms = [with_pairs(t, cjk_pairs) for t in terms]
        retriever = bm25s.BM25(k1=k1, b=b)
        retriever.index(terms, show_progress=False)
        return cls(retriever, len(texts), k1, b, bigrams, cjk_pairs)

    def query_terms(self, query: str, stopwords: str = "basic") -> list[str]:
        """The terms ``query`` is scored by: its words less ``stopwords`` (see QUERY_STOPWORDS) and,
        in an index of bigrams, the pairs of its words as the documents were paired (less the basic
        stop words only, so a pair matches where the same two words stand together in a text)."""
        if stopwords not in self._query_tokenizers:
            self._query_tokenizers[stopwords] = Tokenizer(stopwords)
        terms = self._query_tokenizers[stopwords]([query])[0]
        if self.bigrams:
            basic = self._tokenize([query])[0]
            terms = terms + with_pairs(basic, self.cjk_pairs)[len(basic):]
        return terms

    def scores(self, query: str, stopwords: str = "basic") -> np.ndarray:
        """BM25 score of every indexed text for ``query`` (float32, length ``size``); see query_terms."""
        if self._retriever is None:
            return np.zeros(self.size, dtype=np.float32)
        terms = self.query_terms(query, stopwords)
        ids = self._retriever.get_tokens_ids(terms)
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._retriever.get_scores_from_ids(ids), dtype=np.float32)

    def unknown_words(self, query: str) -> tuple[list[str], int]:
        """The query's English topic words that no indexed text holds, and how many topic words it has.

        Topic words: English words of three letters or more, less a broad list of function
        words ("my", "very", "isn't") and words of asking ("how many", "must"); numbers and
        Chinese are left out, as bigrams of a Chinese question are often absent without the
        question being off-topic. An index with a small vocabulary reports nothing.
        """

        vocabulary = self._retriever.vocab_dict if self._retriever is not None else {}
        return unknown_words(query, vocabulary, self._tokenize)

    def vocabulary_of(self, texts: list[str]) -> frozenset[str]:
        """The terms an index of ``texts`` would hold (for a view over some of the indexed texts)."""
        return frozenset(t for terms in self._tokenize(texts) for t in terms)


    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        (path / "lexical.json").write_text(
            json.dumps({"size": self.size, "tokenizer_version": TOKENIZER_VERSION, **self.params}), encoding="utf-8"
        )
        if self._retriever is not None:
            self._retriever.save(str(path), show_progress=False)

    @classmethod
    def load(cls, path: Path) -> LexicalIndex:
        import bm25s

        meta = json.loads((path / "lexical.json").read_text(encoding="utf-8"))
        # An index from before cjk_pairs paired every term.
        params = (meta.get("k1", DEFAULT_K1), meta.get("b", DEFAULT_B), meta.get("bigrams", False),
                  meta.get("cjk_pairs", True))
        if meta["size"] == 0:
            return cls(None, 0, *params)
        retriever = bm25s.BM25.load(str(path), mmap=False, show_progress=False)
        return cls(retriever, int(meta["size"]), *params)


def unknown_words(query: str, vocabulary, tokenize: Tokenizer) -> tuple[list[str], int]:
    """The query's English topic words (stemmed) that ``vocabulary`` lacks, and how many it has;
    see LexicalIndex.unknown_words."""
    import bm25s.stopwords

    words = [w for w in _ENGLISH_WORD.findall(query.lower())
             if w not in bm25s.stopwords.STOPWORDS_EN_PLUS and w not in _ASKING_WORDS]
    if not words or len(vocabulary) < MIN_VOCABULARY:
        return [], len(words)
    stems = dict.fromkeys(_SAME_STEM.get(t, t) for t in tokenize._stem(words))
    return [t for t in stems if t not in vocabulary], len(stems)
