"""Split a Document into Chunks along its own structure: parts, chapters, articles, clauses.

Headings are recognised line by line (up to 7 leading spaces; a line indented
deeper continues the one above it):

* Markdown ``#`` .. ``######`` (``**bold**`` markers are dropped);
* English ``Part``/``Chapter``/``Section``/``Article``/``Rule`` + Arabic or Roman
  number (``Section 2.1``, ``CHAPTER IV``); numbered clauses ``1.``, ``1.1``,
  ``1.1.2``; ``(a)``, ``(iv)``, ``(1)``;
* Chinese ``第…编/章/节/条`` (Chinese numerals or digits), ``一、``, ``（一）``;
* minutes: ``Agenda item 1``, ``Item 2:``, ``议题一``, ``Decisions``, ``Decision 3``,
  ``决定``, ``Action items``, ``Action 2``, ``督办事项``, ``任务分工`` ...

A heading pops every open heading of the same or deeper rank, then is pushed.
Ranks, outermost first::

    Part/编 10 < Chapter/章 20 < 一、 25 < Section/节 30 (+1 per extra dotted level)
    < Article/Rule/条, agenda items, Decisions/Action items 40 (+1 per dotted level)
    < Decision N/Action N 45 < 1. 51, 1.1 52, 1.1.2 53 < 一、 in an article 55
    < (a)/（一） 60 < 1. after Chinese text 61.. < (1) 68 < (A) 69 < (i) 70

一、 ranks 25, or 55 when it starts a list inside an article, agenda item or
decision/action heading (会议决定：一、…); 二、, 三、 … keep the rank of the open
item they follow. A single ``(i)``, ``(v)`` or ``(x)`` is a letter when the open letter item is
``(h)``, ``(u)`` or ``(w)``, and a Roman numeral otherwise. Markdown headings
carrying one of these markers (``## Chapter 3``, ``### Article 12``) take the
marker's rank, so ``## Chapter 3 ...`` followed by ``### Article 12`` or by a
plain ``Article 12`` line both give ``Chapter 3 ... > Article 12``. Other
Markdown headings nest by their level: they pop Markdown headings of the same
or deeper level and every plain-line heading opened under those, and plain-line
headings nest beneath them. A document's only ``#`` heading, when it comes
first and carries no marker, is its title: part of the preamble, not a section.

A section label is the whole heading line (without ``#``/bold markers,
whitespace collapsed, a trailing colon dropped) when it is at most 60
characters, does not end in ``. 。 ; ；`` (nor ``, ，``), holds no ``，``
and does not run on into a next line starting in lower case; otherwise just
the marker: ``Article 12``, ``第十二条``, ``3.2.1``, ``(a)``. ``Chunk.section``
joins the labels of the open headings with " > "; text before the first
heading (the preamble) has section "".

Chunking, with ``count_tokens(chunk.text) <= max_tokens`` always:

* Articles and everything above them, agenda items, ``一、`` items and every
  Markdown heading are units: each gets its own chunk(s), heading line
  included. Clause-level headings (rank 45 and deeper, plain lines) stay inside
  their parent when the parent fits: an article with clauses (a)-(d) is one
  chunk, section the article; its clauses become chunks only when it is too long.
* The text between a heading and its first sub-heading becomes a chunk with the
  heading's section. When it is only a title line (or, for the preamble,
  shorter than ``min_tokens``) it is carried into the next chunk instead, as is
  a title-like part/chapter/section/Markdown heading with nothing under it
  (at the end of the document, into the last chunk). The chunk's section names
  the unit it holds ("Chapter 2 > Article 5"). If the carried lines would push
  a unit that fits on its own over the cap, they become a chunk of their own
  rather than break the unit up.
* Adjacent units under the same parent merge while one of them is smaller than
  ``min_tokens`` and the merge fits; a merged chunk's section is its first
  unit's, so it names where the chunk starts. Units whose heading carries a
  marker above clause level (articles, 条, chapters, agenda items, Decisions,
  一、 items) are citation units and never merge, however small: a quote from
  Article 4 must not be cited as Article 3. Markdown headings are citation
  units too. What merges is clauses of an article too long for one chunk and a
  heading's lead text with the clauses after it.
* A unit too long for one chunk and without sub-headings is split with
  langchain's ``RecursiveCharacterTextSplitter`` (paragraphs, lines, sentences,
  clauses, words, characters; ``overlap_tokens`` overlap); without overlap,
  adjacent fragments it leaves are rejoined while they fit. Pieces still over
  the cap (the splitter adds up piece counts) are cut at the longest prefix
  that fits, at a space or punctuation mark where possible.
* A chunk also holds at most ``CHARS_PER_TOKEN`` characters per token of the
  cap: a run of text the tokenizer reads as one unknown word (300,000 letters
  without a space are one ``[UNK]``) is still cut into pieces of a readable size.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from kb.errors import KbError
from kb.grammar import (  # noqa: F401 -- chinese_numeral_to_int and heading_label are re-exported
    ARTICLE,
    CHAPTER,
    CLAUSE_LEVEL,
    CN_ITEM,
    CN_ITEM_IN_ARTICLE,
    Heading,
    LETTER,
    SUB_ITEM,
    UPPER_LETTER,
    chinese_numeral_to_int,
    detect_heading,
    heading_label,
)
from kb.types import Chunk, Document

__all__ = [
    "ChunkingParams",
    "TokenCounter",
    "chinese_numeral_to_int",
    "chunk_document",
    "heading_label",
]


CHARS_PER_TOKEN = 10  # ordinary text runs 1 (Chinese) to 6 characters a token; 10 never binds on it


class TokenCounter(Protocol):
    """Counts the word pieces of a text, special tokens excluded."""

    def __call__(self, text: str) -> int: ...


@dataclass(frozen=True)
class ChunkingParams:
    """How large chunks may be; recorded in the index manifest.

    Attributes:
        max_tokens: Hard cap on ``count_tokens(chunk.text)``.
        min_tokens: Sibling units smaller than this merge with a neighbour.
        overlap_tokens: Overlap between the pieces of a long unit that is split.
    """

    max_tokens: int = 200
    min_tokens: int = 40
    overlap_tokens: int = 0

    def __post_init__(self) -> None:
        for name, value in (
            ("max tokens", self.max_tokens),
            ("min tokens", self.min_tokens),
            ("chunk overlap", self.overlap_tokens),
        ):
            if not isinstance(value, int) or isinstance(value, bool):
                raise KbError(f"{name} must be a whole number, got {value!r}")
        if self.max_tokens <= 0:
            raise KbError(f"max tokens ({self.max_tokens}) must be positive")
        if self.min_tokens < 0:
            raise KbError(f"min tokens ({self.min_tokens}) must not be negative")
        if self.overlap_tokens < 0:
            raise KbError(f"chunk overlap ({self.overlap_tokens}) must not be negative")
        if self.overlap_tokens >= self.max_tokens:
            raise KbError(
                f"chunk overlap ({self.overlap_tokens}) must be smaller than "
                f"max tokens ({self.max_tokens})"
            )
        if self.min_tokens >= self.max_tokens:
            raise KbError(
                f"min tokens ({self.min_tokens}) must be smaller than "
                f"max tokens ({self.max_tokens})"
            )

    def as_dict(self) -> dict[str, int]:
        """The parameters as a JSON-ready dict, for the index manifest."""
        return {
            "max_tokens": self.max_tokens,
            "min_tokens": self.min_tokens,
            "overlap_tokens": self.overlap_tokens,
        }


def _pops(open_: Heading, new: Heading) -> bool:
    """Whether ``new`` closes the open heading ``open_`` (same or deeper rank)."""
    if new.rank is None:  # a plain Markdown heading
        return open_.md_level is None or open_.md_level >= new.md_level
    if open_.rank is not None:
        return open_.rank >= new.rank
    if new.md_level is not None:  # both Markdown, only ``new`` has a marker
        return open_.md_level >= new.md_level
    return False  # a plain-line heading nests under a plain Markdown one


# ---------------------------------------------------------------- tree


@dataclass(eq=False)
class _Node:
    heading: Heading | None
    start: int
    end: int
    path: str
    parent: _Node | None = None
    children: list[_Node] = field(default_factory=list)
    has_unit_below: bool = False
    lone: bool = False  # a container heading with nothing under it


_PREDECESSOR = {"i": "h", "v": "u", "x": "w", "I": "H", "V": "U", "X": "W"}


def _resolve(heading: Heading, stack: list[_Node]) -> None:
    """Fix the ranks that depend on the open headings."""
    if heading.kind == "cn_item":
        value = chinese_numeral_to_int(heading.marker[:-1])
        items = [n.heading for n in reversed(stack) if n.heading.kind == "cn_item"]
        # 二、 continues the list of the open 一、; a fresh 一、 under an article,
        # agenda item or 会议决定 is a list inside it.
        follows = next((h for h in items if h.token == str(value - 1)), None)
        if follows is not None:
            heading.rank = follows.rank
        elif items and value != 1:
            heading.rank = items[0].rank
        elif any(ARTICLE <= (n.heading.rank or 0) <= SUB_ITEM for n in stack):
            heading.rank = CN_ITEM_IN_ARTICLE
        heading.container = heading.rank == CN_ITEM
        heading.token = str(value)
    elif heading.kind == "roman?":
        letter = next((n.heading for n in reversed(stack) if n.heading.kind == "letter"), None)
        if letter is not None and letter.token == _PREDECESSOR[heading.token]:
            heading.kind = "letter"
            heading.rank = UPPER_LETTER if heading.token.isupper() else LETTER
        else:
            heading.kind = "roman"


def _find_headings(text: str) -> list[Heading]:
    headings: list[Heading] = []
    lines = text.splitlines(keepends=True)
    offset = 0
    for i, line in enumerate(lines):
        heading = detect_heading(line)
        if heading is not None:
            heading.start, heading.line_end = offset, offset + len(line)
            if heading.md_level is None and heading.label != heading.marker and i + 1 < len(lines):
                # A heading line that runs on ("Article 12 The Secretary shall\nsend ...").
                nxt = lines[i + 1].strip()
                if nxt and nxt[0].islower() and detect_heading(lines[i + 1]) is None:
                    heading.label, heading.titled = heading.marker, False
            headings.append(heading)
        offset += len(line)
    level_one = [h for h in headings if h.md_level == 1]
    if len(level_one) == 1 and headings[0] is level_one[0] and level_one[0].rank is None:
        del headings[0]  # the document's title
    return headings


def _build_tree(text: str) -> _Node:
    root = _Node(None, 0, len(text), "")
    stack: list[_Node] = []
    nodes: list[_Node] = []
    for heading in _find_headings(text):
        _resolve(heading, stack)
        while stack and _pops(stack[-1].heading, heading):
            stack.pop().end = heading.start
        parent = stack[-1] if stack else root
        path = f"{parent.path} > {heading.label}" if parent.path else heading.label
        node = _Node(heading, heading.start, len(text), path, parent)
        parent.children.append(node)
        stack.append(node)
        nodes.append(node)
    for node in reversed(nodes):  # children come after their parent
        heading = node.heading
        # Markdown headings always mark units, whatever their marker.
        is_unit = heading.md_level is not None or heading.rank < CLAUSE_LEVEL
        if is_unit or node.has_unit_below:
            node.parent.has_unit_below = True
        node.lone = (
            heading.container
            and heading.titled
            and not node.children
            and _NON_SPACE.search(text, heading.line_end, node.end) is None
        )
    return root


# ---------------------------------------------------------------- chunking


@dataclass
class _Unit:
    start: int
    end: int
    section: str
    group: _Node | None  # units with the same parent may merge; None never merges
    tokens: int


_NON_SPACE = re.compile(r"\S")
_SEPARATORS = [
    "\n\n", "\n", ". ", "? ", "! ", "。", "！", "？", "；", "; ", ", ", "，", " ", "",
]
_SOFT_BREAK = re.compile(r"[\s。！？；，、.!?;,]")


class _Chunker:
    """Walks the heading tree in document order and collects units."""

    def __init__(self, text: str, count: TokenCounter, params: ChunkingParams) -> None:
        self.text = text
        # A text counts at least one token per CHARS_PER_TOKEN characters, so the token cap caps characters too.
        self.count = lambda piece: max(count(piece), -(-len(piece) // CHARS_PER_TOKEN))
        self.params = params
        self.units: list[_Unit] = []
        self.pending: int | None = None  # start of heading lines carried forward
        self.pending_section = ""
        self._splitter: Any = None
        self._counted: dict[str, int] = {}

    def run(self, root: _Node) -> list[_Unit]:
        self.walk(root)
        self.flush_pending()
        return self.merge_small()

    # -- tree walk

    def walk(self, node: _Node) -> None:
        if node.lone:
            self.defer(node)
            return
        if not node.has_unit_below:
            # An article (or anything marked above clause level) and any Markdown
            # heading is cited on its own: it never merges with its neighbours.
            heading = node.heading
            cited = heading is not None and (
                heading.md_level is not None or (heading.rank or CLAUSE_LEVEL) < CLAUSE_LEVEL
            )
            group = None if cited else node.parent
            if self.emit_if_fits(node.start, node.end, node.path, group):
                return
            if not node.children:
                self.split(node.start, node.end, node.path)
                return
        intro_end = node.children[0].start
        a, b = self.strip(node.start, intro_end)
        if a < b:
            if node.heading is not None:
                # A title line alone is carried; "Article 3 Notices shall ..." is content.
                carry = node.heading.titled and b <= node.heading.line_end
            else:
                carry = self.count(self.text[a:b]) < self.params.min_tokens
            if carry:
                self.defer(node)
            elif not self.emit_if_fits(node.start, intro_end, node.path, node):
                self.split(node.start, intro_end, node.path)
        for child in node.children:
            self.walk(child)

    def defer(self, node: _Node) -> None:
        """Carry a heading (or a short preamble) into the next chunk."""
        if self.pending is None:
            self.pending, self.pending_section = node.start, node.path
        elif not self.pending_section or node.path.startswith(self.pending_section + " > "):
            # Part > Chapter > Article carried together: name the innermost.
            self.pending_section = node.path

    def take_pending(self, start: int) -> int:
        begin = start if self.pending is None else self.pending
        self.pending = None
        return begin

    def emit_if_fits(self, start: int, end: int, section: str, group: _Node | None) -> bool:
        """Emit ``[start, end)`` (after any carried headings) as one unit if it fits.

        When only the carried headings make it too long, they become a chunk of
        their own rather than break the unit up.
        """
        if self.pending is not None:
            if self.emit(self.pending, end, section, group):
                return True
            a, b = self.strip(start, end)
            if self.count(self.text[a:b]) > self.params.max_tokens:
                return False
            self.split(self.pending, start, self.pending_section)
        return self.emit(start, end, section, group)

    def emit(self, start: int, end: int, section: str, group: _Node | None) -> bool:
        a, b = self.strip(start, end)
        if a == b:
            return True
        tokens = self.count(self.text[a:b])
        if tokens > self.params.max_tokens:
            return False
        self.pending = None
        self.units.append(_Unit(a, b, section, group, tokens))
        return True

    def flush_pending(self) -> None:
        if self.pending is None:
            return
        a, b = self.strip(self.pending, len(self.text))
        if a < b and self.units:
            last = self.units[-1]
            tokens = self.count(self.text[last.start:b])
            if tokens <= self.params.max_tokens:
                last.end, last.tokens = b, tokens
                self.pending = None
                return
        section = self.pending_section
        self.split(self.pending, len(self.text), section)

    # -- long units

    def split(self, start: int, end: int, section: str) -> None:
        """Split a unit too long for one chunk; pieces never merge with siblings."""
        carried = self.pending_section if self.pending is not None else section
        a, b = self.strip(self.take_pending(start), end)
        if a == b:
            return
        seg = self.text[a:b]
        overlap = self.params.overlap_tokens
        first = len(self.units)
        prev_start, prev_end = -1, 0
        self._counted.clear()
        for piece in self.splitter().split_text(seg):
            lo = max(prev_start + 1, prev_end - len(piece) + 1) if overlap else prev_end
            i = seg.find(piece, lo)
            if i < 0:  # not expected: cover the rest by hard splits
                self.hard_split(a + prev_end, b, section)
                return
            tokens = self.count_once(piece)
            if tokens <= self.params.max_tokens:
                self.units.append(_Unit(a + i, a + i + len(piece), section, None, tokens))
            else:
                self.hard_split(a + i, a + i + len(piece), section)
            prev_start, prev_end = i, max(prev_end, i + len(piece))
        self._counted.clear()
        if not overlap:
            # The splitter leaves fragments such as a lone "1." behind; rejoin them.
            self.units[first:] = self.join(self.units[first:], lambda prev, unit: True)
        for unit in self.units[first:]:
            if unit.end <= start:  # only carried headings: name them, not the unit
                unit.section = carried

    def splitter(self) -> Any:
        if self._splitter is None:
            from langchain_text_splitters import RecursiveCharacterTextSplitter

            self._splitter = RecursiveCharacterTextSplitter(
                chunk_size=self.params.max_tokens,
                chunk_overlap=self.params.overlap_tokens,
                length_function=self.count_once,
                separators=_SEPARATORS,
                keep_separator="end",
            )
        return self._splitter

    def count_once(self, piece: str) -> int:
        """Count with a memo: the splitter measures the same pieces repeatedly."""
        tokens = self._counted.get(piece)
        if tokens is None:
            tokens = self._counted[piece] = self.count(piece)
        return tokens

    def hard_split(self, start: int, end: int, section: str) -> None:
        """Cut ``[start, end)`` into the longest prefixes that fit, preferring soft breaks."""
        limit = self.params.max_tokens
        a, b = self.strip(start, end)
        while a < b:
            fit = self.longest_fit(a, b)
            cuts = [fit]
            if fit < b:
                half = a + (fit - a) // 2
                breaks = [m.end() for m in _SOFT_BREAK.finditer(self.text, half, fit)]
                if breaks and breaks[-1] < fit:
                    cuts.insert(0, breaks[-1])
            while True:
                for cut in cuts:
                    ca, cb = self.strip(a, cut)
                    tokens = self.count(self.text[ca:cb])
                    if tokens <= limit:
                        break
                else:
                    # Dropping trailing spaces made it longer: back off a character.
                    cuts = [cuts[-1] - 1]
                    if cuts[0] <= a:
                        raise KbError(f"cannot fit text into max tokens ({limit}): raise it")
                    continue
                break
            self.units.append(_Unit(ca, cb, section, None, tokens))
            a, b = self.strip(cut, b)

    def longest_fit(self, a: int, b: int) -> int:
        """An end ``e`` such that ``text[a:e]`` fits max_tokens, found by galloping."""
        limit = self.params.max_tokens
        lo, hi = 0, None
        length = min(max(16, limit), b - a)
        while hi is None:
            if self.count(self.text[a:a + length]) <= limit:
                lo = length
                if length == b - a:
                    return b
                length = min(length * 2, b - a)
            else:
                hi = length
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.count(self.text[a:a + mid]) <= limit:
                lo = mid
            else:
                hi = mid
        if lo == 0:
            n = self.count(self.text[a])
            raise KbError(
                f"one character needs {n} tokens, more than max tokens ({limit}): "
                "raise max tokens"
            )
        return a + lo

    # -- small units

    def merge_small(self) -> list[_Unit]:
        small = self.params.min_tokens
        return self.join(
            self.units,
            lambda prev, unit: unit.group is not None
            and prev.group is unit.group
            and (prev.tokens < small or unit.tokens < small),
        )

    def join(self, units: list[_Unit], may_join: Any) -> list[_Unit]:
        """Greedily join adjacent units that ``may_join`` allows, while they fit."""
        limit = self.params.max_tokens
        out: list[_Unit] = []
        for unit in units:
            if out:
                prev = out[-1]
                if prev.tokens + unit.tokens <= limit and may_join(prev, unit):
                    tokens = self.count(self.text[prev.start:unit.end])
                    if tokens <= limit:
                        prev.end, prev.tokens = unit.end, tokens
                        continue
            out.append(unit)
        return out

    def strip(self, a: int, b: int) -> tuple[int, int]:
        text = self.text
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        return a, b


def _chunk_id(doc_id: str, start: int, end: int) -> str:
    return hashlib.sha256(f"{doc_id}\x00{start}\x00{end}".encode()).hexdigest()[:16]


def chunk_document(
    doc: Document, count_tokens: TokenCounter, params: ChunkingParams = ChunkingParams()
) -> list[Chunk]:
    """Split ``doc`` into chunks along its headings, each within ``params.max_tokens``.

    Pre-chunked documents (``doc.chunks``) are returned as they are. Chunk ids
    are the first 16 hex digits of sha256(f"{doc_id}\\0{start}\\0{end}"), so they
    stay stable across runs. See the module docstring for the headings
    recognised and the section rules.
    """
    if doc.chunks:
        return list(doc.chunks)
    text = doc.text
    if not text.strip():
        return []
    units = _Chunker(text, count_tokens, params).run(_build_tree(text))
    return [
        Chunk(
            id=_chunk_id(doc.doc_id, u.start, u.end),
            doc_id=doc.doc_id,
            text=text[u.start:u.end],
            start=u.start,
            end=u.end,
            section=u.section,
            page=doc.page_at(u.start),
        )
        for u in units
    ]
