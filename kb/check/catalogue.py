"""What the checker needs of the knowledge base: documents by id and number, and their articles.

Built once from a loaded snapshot (cheap: no vectors are read), then passed
to the rule loader, which verifies each rule's basis against it, and to the
checks, which look cited documents up in it. The checks never call back into
the knowledge base.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kb.grammar import DocNumber, number_key, parse_number
from kb.references import Ref, label_refs
from kb.store import DocRecord
from kb.types import Chunk, Document


@dataclass(frozen=True)
class Article:
    """One article (or clause) of a document, cut from the document's text."""

    doc_id: str
    label: str  # "Article 20", "第九条"
    text: str
    start: int  # offset in the document's text


def flat(text: str) -> str:
    """Whitespace collapsed, so that a quote matches across the line breaks of a PDF."""
    return " ".join(text.split())


class Catalogue:
    """Documents of a knowledge base, looked up by id and number; articles cut from their text."""

    def __init__(self, records: dict[str, DocRecord], chunks: list[Chunk] | tuple[Chunk, ...] = ()) -> None:
        self.records = records
        self._chunks: dict[str, list[Chunk]] = {}
        for chunk in chunks:
            self._chunks.setdefault(chunk.doc_id, []).append(chunk)
        self._by_number: dict[str, str] = {}
        for doc_id, record in records.items():
            doc = record.document
            number = parse_number(doc.number) if doc.number else None
            if number is not None:
                self._by_number.setdefault(number.key, doc_id)

    @classmethod
    def from_snapshot(cls, snapshot) -> Catalogue:
        """The catalogue of a loaded index (kb.snapshot.Snapshot)."""
        return cls(snapshot.records, snapshot.chunks)

    @classmethod
    def from_files(cls, paths: list[Path]) -> Catalogue:
        """The catalogue an index of these files and folders would hold, read straight from the files
        (no chunks, no embedding): for evaluations that need the documents but not search.

        Raises:
            KbError: A file that cannot be loaded (the loader's message).
        """
        from ingest.loaders import iter_files, load_file

        records = {}
        for path, root in iter_files(paths):
            for doc in load_file(path, root):
                records[doc.doc_id] = DocRecord(doc, "", str(root), "", 0)
        return cls(records)

    def document(self, doc_id: str) -> Document | None:
        record = self.records.get(doc_id)
        return record.document if record else None

    def by_number(self, number: DocNumber | str) -> Document | None:
        """The document with this number, in any spelling. In running text the series may carry words
        before it ("Results of Special Meeting Minutes", "根据子政办发"), so shorter tails are tried too."""
        if isinstance(number, str):
            parsed = parse_number(number)
            if parsed is None:
                return None
            number = parsed
        if number.series.isascii():  # "Results of Special Meeting Minutes": drop leading words
            words = number.series.split()
            tails = [" ".join(words[i:]) for i in range(len(words))]
        else:
            series = re.sub(r"\s", "", number.series)
            tails = [series[i:] for i in range(len(series))]
        for tail in tails:
            doc_id = self._by_number.get(number_key(tail, number.year, number.n))
            if doc_id:
                return self.records[doc_id].document
        return None

    def replacement(self, doc: Document) -> Document | None:
        """The in-force document that replaces ``doc`` (following a chain of replacements), or None."""
        seen = {doc.doc_id}
        current = doc
        while current.superseded_by and current.superseded_by not in seen:
            nxt = self.document(current.superseded_by)
            if nxt is None:
                return None
            seen.add(nxt.doc_id)
            current = nxt
            if current.status == "in_force":
                return current
        return None

    def article(self, doc_id: str, section: str, clause: str = "") -> Article | None:
        """The article ``section`` names ("Article 20", "第九条", or a path ending in one) of a document,
        or one clause of it ("(2)", "（五）"); None when the document or the article is not there."""
        doc = self.document(doc_id)
        if doc is None:
            return None
        wanted = label_refs(section.split(" > ")[-1])
        if not wanted:
            return None
        found = _cut(doc.text, wanted[0])
        if found is None:
            return None
        start, end = found
        if clause:
            inner = _cut_clause(doc.text, start, end, clause)
            if inner is None:
                return None
            start, end = inner
        text = doc.text[start:end].strip()
        label = section.split(" > ")[-1].strip()
        return Article(doc_id, label, text, start + (len(doc.text[start:end]) - len(doc.text[start:end].lstrip())))

    def chunk_at(self, doc_id: str, offset: int) -> Chunk | None:
        """The indexed chunk of a document that holds ``offset`` of its text."""
        for chunk in self._chunks.get(doc_id, ()):
            if chunk.start <= offset < chunk.end:
                return chunk
        return None


def _line_spans(text: str):
    offset = 0
    for line in text.split("\n"):
        yield offset, line
        offset += len(line) + 1


def _cut(text: str, ref: Ref) -> tuple[int, int] | None:
    """Offsets of the unit ``ref`` names: from its line to the next line that opens a unit of the same kind
    or a chapter/part."""
    start = None
    for offset, line in _line_spans(text):
        refs = label_refs(line) if line.strip() else []
        if start is None:
            if refs and refs[0] == ref and _opens_unit(line):
                start = offset
        elif refs and refs[0][0] in (ref[0], "chapter", "part") and _opens_unit(line):
            return start, offset
    return (start, len(text)) if start is not None else None


_UNIT_START = re.compile(r"^\s*#*\s*(?:article|rule|section|chapter|part|clause|item|paragraph)\s+\w|^\s*#*\s*第", re.I)


def _opens_unit(line: str) -> bool:
    return bool(_UNIT_START.match(line))


def _cut_clause(text: str, start: int, end: int, clause: str) -> tuple[int, int] | None:
    """Within [start, end), the clause whose line begins with ``clause`` ("(2)", "（五）"), up to the next
    line opening a clause of the same form."""
    marker = re.escape(clause.strip())
    same_form = re.compile(r"^\s*" + re.sub(r"[0-9一二三四五六七八九十百]+", "[0-9一二三四五六七八九十百]+", marker))
    begin = None
    for offset, line in _line_spans(text[start:end]):
        absolute = start + offset
        if begin is None:
            if re.match(r"^\s*" + marker, line):
                begin = absolute
        elif same_form.match(line):
            return begin, absolute
    return (begin, end) if begin is not None else None
