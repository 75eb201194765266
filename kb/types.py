"""Frozen records passed between ingest, index, retrieval and answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DOC_TYPES = ("regulation", "document", "minutes", "other")
STATUSES = ("in_force", "superseded", "repealed")

# Keys of Document.meta for scanned PDFs: the 1-based pages whose text OCR read, and
# the scanned pages left out because OCR found no usable text on them.
OCR_PAGES = "ocr_pages"
OCR_UNREADABLE_PAGES = "ocr_unreadable_pages"
# How a citation of an OCR'd page says so, in the CLI and the app alike.
OCR_NOTE = "text read by OCR"


def is_ocr_page(meta: Mapping[str, Any], page: int | None) -> bool:
    """Whether ``page`` of the document whose ``Document.meta`` this is was read by OCR."""
    return page is not None and page in meta.get(OCR_PAGES, ())


@dataclass(frozen=True)
class Chunk:
    """A span of a document's text, with everything a citation needs.

    ``document.text[start:end] == text`` always holds.
    """

    id: str
    doc_id: str
    text: str
    start: int
    end: int
    section: str = ""
    page: int | None = None


@dataclass(frozen=True)
class Document:
    """One source file (or one group of pre-chunked passages) after loading.

    Attributes:
        doc_id: Stable id, from the path under the ingested folder.
        text: The full text; chunk offsets point into it.
        source: Path of the original file.
        page_starts: Offset in ``text`` where each page begins (page n is
            ``page_starts[n - 1]``); empty for sources without pages.
        chunks: Pre-made chunks (JSONL passages); empty when the chunker
            should split ``text``.
        meta: Further front-matter fields, JSON-serialisable.
    """

    doc_id: str
    title: str
    text: str
    source: str
    type: str = "other"
    issuer: str | None = None
    number: str | None = None
    date: str | None = None
    status: str = "in_force"
    superseded_by: str | None = None
    page_starts: tuple[int, ...] = ()
    chunks: tuple[Chunk, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding ``offset``, or None for unpaged text."""
        if not self.page_starts:
            return None
        import bisect

        return max(1, bisect.bisect_right(self.page_starts, offset))


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its score and its document's metadata."""

    chunk: Chunk
    score: float
    title: str
    source: str
    type: str
    status: str
    superseded_by: str | None = None
    date: str | None = None
    number: str | None = None
    dense: float = 0.0
    lexical: float = 0.0
    exact: bool = False
    rerank: float | None = None  # the reranker's logit, when the hit was reranked


@dataclass(frozen=True)
class Citation:
    """A quoted sentence and where it comes from."""

    n: int
    hit: Hit
    quote: str
    quote_start: int  # offset of the quote inside hit.chunk.text
    page: int | None = None  # page of the quote itself, for paged sources
    section: str = ""  # section path of the quote itself (a merged passage's later article, an item)

    @property
    def where(self) -> str:
        """The section path to show: the quote's own, else its passage's."""
        return self.section or self.hit.chunk.section


@dataclass(frozen=True)
class SentenceCheck:
    """One sentence of an answer, and how well the passages it cites support it.

    Attributes:
        text: The sentence as shown, with its markers [n].
        citations: The markers it carries (answer numbering), valid ones only.
        support: The grounding score, 0 to 1 (kb.readers.grounding); 1.0 for a quote.
        supported: Whether it passed every check.
        reason: Why it failed ("" when it passed), e.g. "7 is not in [1]".
        shown: Whether it is part of the answer's text (a failed sentence is
            left out, or shown marked, as the ``unsupported`` setting says).
    """

    text: str
    citations: tuple[int, ...]
    support: float
    supported: bool
    reason: str = ""
    shown: bool = True


@dataclass(frozen=True)
class Answer:
    """An answer whose every sentence carries a citation marker.

    The extractive reader quotes sentences; the llm reader writes them, and each
    is checked against the passages it cites (``sentences``). ``note`` says what
    the reader could not do (the model unreachable, nothing it wrote supported),
    and ``reader`` names the reader whose text this is.
    """

    question: str
    text: str
    found: bool
    citations: tuple[Citation, ...]
    closest: tuple[Hit, ...] = ()
    note: str = ""  # why it is "not found", what the reader could not do, or how the question was read
    related: bool = False  # "not found", but the closest passages may still be related
    searched: str = ""  # the question as searched, when spelling was corrected
    reader: str = "extractive"
    sentences: tuple[SentenceCheck, ...] = ()
