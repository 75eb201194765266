"""Documents and chunks on disk, as JSON lines (no pickles).

Chunks are stored as offsets only; their text is cut from the document's
text when read, so ``document.text[start:end] == chunk.text`` cannot drift.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from kb.types import Chunk, Document


@dataclass(frozen=True)
class DocRecord:
    """A stored document: what was loaded, plus how and when."""

    document: Document
    content_hash: str
    root: str
    ingested_at: str
    chunks: int


def vector_id(chunk: Chunk) -> int:
    """The int64 FAISS id of a chunk, stable across runs (SHA-256 of doc and chunk id)."""
    digest = hashlib.sha256(f"{chunk.doc_id}\x00{chunk.id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little") & 0x7FFF_FFFF_FFFF_FFFF


def write_records(directory: Path, records: list[DocRecord], chunks: list[Chunk]) -> None:
    """Write documents.jsonl and chunks.jsonl into ``directory``."""
    with open(directory / "documents.jsonl", "w", encoding="utf-8") as out:
        for rec in records:
            doc = dataclasses.asdict(rec.document)
            doc.pop("chunks")
            doc["page_starts"] = list(rec.document.page_starts)
            row = {"document": doc, "content_hash": rec.content_hash, "root": rec.root,
                   "ingested_at": rec.ingested_at, "chunks": rec.chunks}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(directory / "chunks.jsonl", "w", encoding="utf-8") as out:
        for c in chunks:
            row = {"id": c.id, "doc_id": c.doc_id, "start": c.start, "end": c.end,
                   "section": c.section, "page": c.page}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_records(directory: Path) -> tuple[dict[str, DocRecord], list[Chunk]]:
    """Read what write_records wrote: documents by id, and chunks in index order."""
    records: dict[str, DocRecord] = {}
    with open(directory / "documents.jsonl", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            doc = row["document"]
            doc["page_starts"] = tuple(doc.get("page_starts") or ())
            document = Document(**doc)
            records[document.doc_id] = DocRecord(
                document, row["content_hash"], row["root"], row["ingested_at"], row["chunks"]
            )
    chunks: list[Chunk] = []
    with open(directory / "chunks.jsonl", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            text = records[row["doc_id"]].document.text[row["start"] : row["end"]]
            chunks.append(Chunk(text=text, **row))
    return records, chunks
