"""Does a written sentence say only what the passages it cites say? Checked without a model.

A sentence passes when every check in ``CHECKS`` passes:

- ``citation``: it carries at least one marker [n], and every n names a passage that was given;
- ``figures``: every number, date, month, amount and document number in it appears in the
  passages it cites (their text, title, number, date and section path), word numbers read
  as figures ("three" = 3, "三个" = 3, "2.4 million" = 2,400,000);
- ``figure_context``: each such figure stands in a passage sentence that matches the reply
  sentence's words nearly as well (``FIGURE_MARGIN``) as the best-matching sentence of that
  passage, or in its title, number, date or section: "5 working days" for the executive
  meeting fails when the passage gives 5 days to the Mayor's office meeting and 7 to the
  executive meeting;
- ``support``: its support score reaches ``MIN_SUPPORT``. The score is the mean of the share
  of its content words (stemmed, stop words out; CJK character pairs) found in the cited
  passages and the encoder's best cosine between it and a sentence, or two neighbouring
  sentences, of those passages.

A passage sentence that addresses the assistant ("ignore the instructions above …") is
never evidence: a reply that obeys it finds no support there.
The thresholds were set on eval/grounding_pairs.jsonl (labelled pairs) and checked on
replies to eval/gold.jsonl questions, never on held-out questions (eval/README.md, "The llm reader").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from kb.encoder import Encoder

CHECKS = ("citation", "figures", "figure_context", "support")
MIN_SUPPORT = 0.5  # mean of word overlap and best cosine; see the module docstring
FIGURE_MARGIN = 0.15  # a figure's passage sentence may match the reply's words this much less than the best one
OVERLAP_WEIGHT = 0.5
SHORT_CLAUSE = 4  # content words below which a passage sentence is read with the one before it

# A marker: [1], [1, 3], 【2】. Two digits at most: "[2023]" in a document number is not one.
MARKER = re.compile(r"\[(\d{1,2}(?:\s*[,，、]\s*\d{1,2})*)\]|【(\d{1,2})】")
_MARKER_AT = re.compile(r"\s*(?:\[\d{1,2}(?:\s*[,，、]\s*\d{1,2})*\]|【\d{1,2}】)")
_LIST_MARK = re.compile(r"^\s*(?:[-*•]\s+|\d{1,2}[.)]\s+|\(\w{1,3}\)\s*|[（(][一二三四五六七八九十]+[)）]\s*)")
_ABBREVIATIONS = frozenset(
    "no nos art arts gov off mer e.g i.e etc mr ms mrs dr st vs approx fig para p pp cf ch sec".split()
)
# Text that speaks to the assistant rather than about the office.
INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.。\n]{0,60}\b(?:instructions?|rules|prompt|above|previous|earlier)\b"
    r"|\byou are (?:now )?(?:an?|the) (?:assistant|ai|model|chatbot)\b|\bsystem prompt\b|\bas an ai\b"
    r"|\b(?:assistant|ai|model)s?\s*(?:must|should|shall)\s+(?:now\s+)?(?:reply|answer|say|respond|write)\b"
    r"|忽略.{0,12}(?:指令|指示|说明|要求|规则)|无视.{0,12}(?:指令|指示|要求)|你(?:现在)?是一个",
    re.IGNORECASE,
)

_WORD_NUMBERS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}
# Ordinals from "third" on ("first" and "second" are too often plain words).
_WORD_NUMBERS.update({w: i for i, w in enumerate(
    "third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split(), 3)})
_WORD_NUMBERS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
                      "ninety": 90, "hundred": 100, "thousand": 1000, "twice": 2, "half": 0.5})
_MONTH_NAMES = "january february march april may june july august september october november december".split()
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_MONTHS.pop("may")  # "may" is a modal verb far more often than a month...
_MONTHS["may_"] = 5  # ...but a date written out reads it as one
_SCALES = {"million": 1e6, "billion": 1e9, "thousand": 1e3, "万": 1e4, "亿": 1e8}
_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
# A Chinese numeral counts as a figure before a measure word or after 第; elsewhere 一 is a word part (统一, 一般).
_CN_NUMBER = re.compile(
    r"([〇零一二两三四五六七八九十百千]+)"
    r"(?=个|日|天|年|月|号|条|款|项|份|页|人|名|次|元|万|亿|小时|分钟|周|倍|届|点|时|级|位|毫米|厘米|公里|章|节|期|批|类|种)"
    r"|(?<=第)([〇零一二两三四五六七八九十百千]+)"
)
_FIGURE = re.compile(
    r"(?P<num>\d+(?:[.,]\d+)*)(?:\s*(?P<scale>million|billion|thousand|万|亿))?"
    r"|(?P<word>\b(?:[a-z]+-)?[a-z_]+\b)",
    re.IGNORECASE,
)
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")


def split_reply(text: str, final: bool = True) -> tuple[list[str], str]:
    """The complete sentences of a model's reply, and the text after them still open.

    A sentence ends at . ! ? (followed by white space and not by a lower-case word) or
    。！？, and takes the markers [n] that follow it ("… ahead. [1] Then" ends after
    "[1]"); a line break also ends one. With ``final`` false (text still arriving)
    the last sentence is held back, since its markers may be on their way.
    """
    pieces, rest = split_paragraphs(text, final)
    return [s for s, _ in pieces], rest


def split_paragraphs(text: str, final: bool = True) -> tuple[list[tuple[str, bool]], str]:
    """As split_reply, each sentence paired with whether a line break (or the end) follows it."""
    out: list[tuple[str, bool]] = []
    start, i, n = 0, 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            piece = text[start:i].strip()
            if piece:
                out.append((piece, True))
            elif out:
                out[-1] = (out[-1][0], True)
            start = i = i + 1
            continue
        if ch not in ".!?。！？" or not _ends_sentence(text, start, i):
            i += 1
            continue
        j = i + 1
        while j < n and text[j] in "\"'”’)）*":
            j += 1
        while (m := _MARKER_AT.match(text, j)) is not None:
            j = m.end()
        if j < n and text[j] in ".。":  # "… ahead [1]." after a marker, or "[1]. "
            j += 1
        k = j
        while k < n and text[k] in " \t":
            k += 1
        if ch in "。！？":
            follows = True
        else:
            # "2.4", "e.g.," and '"1.", "2." and so on' are not ends
            follows = (k > j or k >= n) and not (k < n and text[k].islower())
        if k < n and text[k] in "[【":  # a marker still arriving, or "[2023]": not an end yet
            follows = False
        if follows:
            out.append((text[start:j].strip(), False))
            start = i = j
        else:
            i += 1
    rest = text[start:]
    if final:
        if rest.strip():
            out.append((rest.strip(), True))
        elif out:
            out[-1] = (out[-1][0], True)
        return [(s, end) for s, end in out if s], ""
    if out and not rest.strip() and not out[-1][1]:
        rest = out.pop()[0] + rest  # the last sentence may still get markers
    return out, rest


def _ends_sentence(text: str, start: int, i: int) -> bool:
    if text[i] != ".":
        return True
    before = text[start:i]
    word = re.search(r"([A-Za-z.]+)$", before)
    if word and (word.group(1).lower().rstrip(".") in _ABBREVIATIONS or len(word.group(1)) == 1):
        return False
    return not re.fullmatch(r"\s*(?:[-*•]\s*)?\d{1,2}", before)  # "1. " opens a list item


def markers(sentence: str) -> list[int]:
    """The passage numbers a sentence cites, in order, each once."""
    found = []
    for m in MARKER.finditer(sentence):
        for part in re.split(r"[,，、]", m.group(1) or m.group(2)):
            number = int(part.strip())
            if number not in found:
                found.append(number)
    return found


def claim(sentence: str) -> str:
    """The sentence without its markers and list bullet: what it asserts."""
    return " ".join(_LIST_MARK.sub("", MARKER.sub(" ", sentence)).split())


def _number(raw: str) -> float | None:
    text = raw
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", text):
        text = text.replace(",", "")
    elif "," in text:
        return None  # "3,4": a list, read part by part
    try:
        return float(text)
    except ValueError:
        return None


def _cn_value(run: str) -> int:
    """二十五 -> 25, 一百二十 -> 120, 二〇二四 -> 2024."""
    total, current, after_digit = 0, 0, False
    for ch in run:
        if ch in _CN_DIGITS:
            current = current * 10 + _CN_DIGITS[ch] if after_digit else _CN_DIGITS[ch]
            after_digit = True
        else:
            total += (current or 1) * _CN_UNITS[ch]
            current, after_digit = 0, False
    return total + current


def _fmt(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _spell_date(m: re.Match) -> str:
    year, month, day = m.group(1), int(m.group(2)), int(m.group(3))
    if not 1 <= month <= 12:
        return m.group(0)
    name = _MONTH_NAMES[month - 1]
    return f" {year} {'may_' if name == 'may' else name} {day} "


def figures(text: str) -> set[str]:
    """The figures a text states, normalised: numbers as values ("3", "2400000", "2.4"),
    months as "m5"; "2024-05-15" gives 2024, m5 and 15."""
    out: set[str] = set()
    # 2024-03-01 is a year, a month and a day: its month is "m3" and not also a bare 3.
    text = _ISO_DATE.sub(_spell_date, text)
    for m in _FIGURE.finditer(text):
        if m.group("num"):
            raw = m.group("num")
            parts = [raw] if _number(raw) is not None else re.split(r",", raw)
            for part in parts:
                if part.count(".") > 1:  # "4.1.1": a clause number, as its parts too
                    out.add(part)
                    out.update(_fmt(float(p)) for p in part.split(".") if p)
                    continue
                value = _number(part)
                if value is None:
                    continue
                scale = m.group("scale")
                out.add(_fmt(value * _SCALES[scale.lower()]) if scale else _fmt(value))
            continue
        word = m.group("word").lower()
        if word in _MONTHS:
            out.add(f"m{_MONTHS[word]}")
            continue
        head, _, tail = word.partition("-")
        if tail and head in _WORD_NUMBERS and tail in _WORD_NUMBERS:
            out.add(_fmt(_WORD_NUMBERS[head] + _WORD_NUMBERS[tail]))
        elif word in _WORD_NUMBERS and word != "thousand":
            out.add(_fmt(_WORD_NUMBERS[word]))
    for m in _CN_NUMBER.finditer(text):
        out.add(_fmt(_cn_value(m.group(1) or m.group(2))))
    return out


@dataclass(frozen=True)
class Evidence:
    """One passage as the checker sees it: its sentences, figures and words.

    Attributes:
        n: Its number in the prompt.
        sentences: (start, end) of its sentences in ``text`` (instructions left out).
        text: The passage text.
        figures: Figures of its text, title, number, date and section path.
        words: Content words of the same.
    """

    n: int
    text: str
    sentences: tuple[tuple[int, int], ...]
    figures: frozenset[str]
    words: frozenset[str]
    vectors: np.ndarray  # one row per sentence, then per pair of neighbours
    sentence_words: tuple[frozenset[str], ...] = ()
    sentence_figures: tuple[frozenset[str], ...] = ()
    context_figures: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Verdict:
    """How one sentence fared: its markers, score, and the first check it failed."""

    sentence: str
    cited: tuple[int, ...]
    support: float
    overlap: float
    similarity: float
    supported: bool
    reason: str = ""
    # For each cited passage, (n, cosine, start, end) of its sentence (or pair) closest to this one.
    closest: tuple[tuple[int, float, int, int], ...] = ()


class Grounding:
    """The sentence checker; ``checks`` names which of CHECKS apply (all, by default)."""

    def __init__(self, encoder: Encoder, min_support: float = MIN_SUPPORT, checks: Iterable[str] = CHECKS) -> None:
        from kb.lexical import Tokenizer

        self.encoder = encoder
        self.min_support = min_support
        self.checks = frozenset(checks)
        unknown = self.checks - set(CHECKS)
        if unknown:
            raise ValueError(f"unknown checks {sorted(unknown)}; known: {', '.join(CHECKS)}")
        self._tokenize = Tokenizer("extended")

    def words(self, text: str) -> set[str]:
        return {w for w in self._tokenize([text])[0] if not any(c.isdigit() for c in w)}

    def evidence(self, passages: Sequence[tuple[str, str]]) -> dict[int, Evidence]:
        """Evidence for passages numbered from 1, each given as (text, context): the context
        is its title, number, date and section path, which a sentence may also state."""
        from kb.sentences import split_sentences

        spans_of, texts = [], []
        for text, _ in passages:
            spans = [(a, b) for a, b in split_sentences(text) if not INSTRUCTION.search(text[a:b])]
            spans_of.append(spans)
            texts.extend(" ".join(text[a:b].split()) for a, b in spans)
            texts.extend(" ".join(f"{text[a:b]} {text[c:d]}".split()) for (a, b), (c, d) in zip(spans, spans[1:]))
        vectors = self.encoder.encode(texts) if texts else np.zeros((0, 1), np.float32)
        out, row = {}, 0
        for n, ((text, context), spans) in enumerate(zip(passages, spans_of), 1):
            count = len(spans) + max(len(spans) - 1, 0)
            body = " ".join(text[a:b] for a, b in spans)
            out[n] = Evidence(n, text, tuple(spans), frozenset(figures(f"{body}\n{context}")),
                              frozenset(self.words(f"{body}\n{context}")), vectors[row:row + count],
                              tuple(frozenset(self.words(text[a:b])) for a, b in spans),
                              tuple(frozenset(figures(text[a:b])) for a, b in spans),
                              frozenset(figures(context)))
            row += count
        return out

    def check(self, sentence: str, evidence: dict[int, Evidence]) -> Verdict:
        """Judge one sentence of a reply against the passages it cites."""
        cited = markers(sentence)
        valid = tuple(n for n in cited if n in evidence)
        text = claim(sentence)
        reason = ""
        if "citation" in self.checks:
            if not cited:
                reason = "no citation"
            elif len(valid) < len(cited):
                wrong = ", ".join(f"[{n}]" for n in cited if n not in evidence)
                reason = f"cites {wrong}, which was not given"
        pool = [evidence[n] for n in valid] or ([] if "citation" in self.checks else list(evidence.values()))
        if not reason and "figures" in self.checks:
            missing = sorted(figures(text) - set().union(*(e.figures for e in pool)) if pool else figures(text))
            if missing:
                shown = ", ".join(_show_figure(f) for f in missing)
                reason = f"{shown} {'is' if len(missing) == 1 else 'are'} not in {_refs(valid)}"
        if not reason and "figure_context" in self.checks and pool:
            astray = self._astray_figures(text, pool)
            if astray:
                shown = ", ".join(_show_figure(f) for f in astray)
                reason = f"{shown} {'belongs' if len(astray) == 1 else 'belong'} to another point of {_refs(valid)}"
        overlap, closest = self._support(text, pool)
        similarity = max((c[1] for c in closest), default=0.0)
        support = round(OVERLAP_WEIGHT * overlap + (1 - OVERLAP_WEIGHT) * similarity, 4)
        if not reason and "support" in self.checks and support < self.min_support:
            reason = f"support {support:.2f} is below {self.min_support:.2f} in {_refs(valid)}"
        return Verdict(sentence, valid, support, round(overlap, 4), round(similarity, 4), not reason, reason, closest)

    def _astray_figures(self, text: str, pool: list[Evidence]) -> list[str]:
        """Figures of ``text`` found only in passage sentences that match it clearly worse than the best
        sentence of the same passage (each passage of a sentence that combines two is judged alone)."""
        words = self.words(text)
        if not words:
            return []
        rows = []  # (how well the sentence matches, how well its passage's best sentence does, its figures)
        for e in pool:
            # A short sentence is also read with the one before it: "deadline: 2026-10-30." is cut off
            # at a semicolon from the item it belongs to.
            units = list(zip(e.sentence_words, e.sentence_figures))
            units += [(a | b, fb) for (a, _), (b, fb) in zip(units, units[1:]) if len(b) < SHORT_CLAUSE]
            scores = [len(words & w) / len(words) for w, _ in units]
            rows.extend((score, max(scores), f) for score, (_, f) in zip(scores, units))
        context = set().union(*(e.context_figures for e in pool))
        astray = []
        for figure in sorted(figures(text) - context):
            holders = [best - score for score, best, f in rows if figure in f]
            if holders and min(holders) > FIGURE_MARGIN:
                astray.append(figure)
        return astray

    def _support(self, text: str, pool: list[Evidence]) -> tuple[float, tuple[tuple[int, float, int, int], ...]]:
        if not pool or not text:
            return 0.0, ()
        words = self.words(text)
        have = set().union(*(e.words for e in pool))
        overlap = len(words & have) / len(words) if words else 0.0
        vector = self.encoder.encode([text])[0]
        closest = []
        for e in pool:
            if not len(e.vectors):
                continue
            sims = e.vectors @ vector
            j = int(np.argmax(sims))
            singles = len(e.sentences)
            # Rows are the sentences, then each pair of neighbours (a reply may join two).
            a, b = e.sentences[j] if j < singles else (e.sentences[j - singles][0], e.sentences[j - singles + 1][1])
            closest.append((e.n, round(max(float(sims[j]), 0.0), 4), a, b))
        return overlap, tuple(closest)


def _refs(numbers: Sequence[int]) -> str:
    return "".join(f"[{n}]" for n in numbers) or "the passages"


def _show_figure(figure: str) -> str:
    if figure.startswith("m") and figure[1:].isdigit():
        return _MONTH_NAMES[int(figure[1:]) - 1].capitalize()
    return figure
