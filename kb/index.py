"""The knowledge base: an index directory, its manifest, and incremental, atomic updates.

Layout of the directory::

    manifest.json      format version, encoder, chunking, counts, current generation
    gen-000007/        documents.jsonl, chunks.jsonl, dense.faiss, lexical/
    .lock              held while a write runs

A write builds a new generation in a temporary directory, renames it into
place, then replaces manifest.json atomically. A write killed at any moment
leaves the previous generation named by the manifest, whole.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from kb.config import Settings
from kb.encoder import PACKAGED_NAME, Encoder, make_encoder
from kb.errors import IndexMismatchError, KbError, LoadError
from kb.lexical import TOKENIZER_VERSION, LexicalIndex
from kb.snapshot import Filters, Snapshot
from kb.store import DocRecord, vector_id, write_records
from kb.types import Answer, Chunk, Document, Hit

FORMAT_VERSION = 1

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class FileResult:
    """What an ingest did with one file: added, unchanged, replaced, removed or failed."""

    path: str
    status: str
    doc_ids: tuple[str, ...] = ()
    chunks: int = 0
    reason: str = ""


@dataclass(frozen=True)
class IngestReport:
    results: tuple[FileResult, ...]
    warnings: tuple[str, ...] = ()

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "failed"]

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)


def _generation_number(name: str) -> int:
    """``gen-000007`` and ``gen-000007.tmp-123`` → 7."""
    return int(name.split("-")[1].split(".")[0])


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def encoder_record(encoder: Encoder) -> dict:
    """How the manifest names an encoder: name, dimension, window, the full path of a model
    directory, and the backend (with the precision it ran in).

    Name, dimension and path are checked on load; the backend is a record only: both
    backends give the same vectors to within bf16 rounding (cosine >= 0.9999), so either
    searches the other's index.
    """
    record = {"name": encoder.name, "dim": encoder.dim, "max_tokens": encoder.max_tokens,
              "backend": getattr(encoder, "backend", type(encoder).__name__)}
    path = getattr(encoder, "path", None)
    if path is not None:
        record["path"] = str(Path(path).resolve())
    precision = getattr(encoder, "precision", None)
    if precision:
        record["precision"] = precision
    return record


def _same_encoder(built: dict, encoder: Encoder) -> bool:
    """Whether ``encoder`` is the one the manifest record ``built`` names.

    Names must agree; two model directories of the same name (two tuned
    models) must also be the same directory. The packaged model is known by
    name alone, since its directory moves with the environment.
    """
    if built["name"] != encoder.name:
        return False
    path = getattr(encoder, "path", None)
    if built.get("path") and path is not None and encoder.name != PACKAGED_NAME:
        return Path(built["path"]).resolve() == Path(path).resolve()
    return True


def _describe(name: str, path: str | Path | None) -> str:
    return f"{name} at {path}" if path and name != PACKAGED_NAME else name


def _fsync_tree(path: Path) -> None:
    for item in sorted(path.rglob("*")):
        if item.is_file():
            with open(item, "rb") as f:
                os.fsync(f.fileno())
    _fsync_dir(path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class KnowledgeBase:
    """Ingest, search and ask over one index directory.

    Construction is cheap: the encoder and the index load on first use.
    """

    def __init__(self, settings: Settings, encoder: Encoder | None = None) -> None:
        self.settings = settings
        self.path = Path(settings.index)
        self._encoder = encoder
        self._snapshot: Snapshot | None = None
        self._manifest: dict | None = None
        self._searcher = None  # made once per snapshot: it caches title terms

    # -- loading ---------------------------------------------------------------

    @property
    def encoder(self) -> Encoder:
        """The configured model, or, when none is configured, the one the index was built with."""
        if self._encoder is None:
            s = self.settings
            self._encoder = make_encoder(self._model_setting(), s.batch_size, s.backend, s.cache_dir)
        return self._encoder

    def _model_setting(self) -> str:
        # A tuned model lives in its own directory: an index built with one keeps using it
        # unless a model is configured. The packaged model is found afresh (the venv may move).
        if self.settings.model:
            return self.settings.model
        built = self.manifest().get("encoder", {})
        path = built.get("path")
        if not path or built.get("name") == PACKAGED_NAME:
            return ""
        if not Path(path).is_dir():
            raise IndexMismatchError(
                f"index {self.path} was built with the model at {path}, which is gone: put it back, "
                f"or re-encode the index with the packaged model: `KB_MODEL={PACKAGED_NAME} kb ingest --rebuild`"
            )
        return path

    def exists(self) -> bool:
        return (self.path / "manifest.json").is_file()

    def manifest(self) -> dict:
        """The manifest on disk, or {} when no index has been built."""
        if not self.exists():
            return {}
        try:
            return json.loads((self.path / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise KbError(f"{self.path / 'manifest.json'} is unreadable ({exc}): rebuild with `kb ingest --rebuild PATH...`") from None

    @property
    def snapshot(self) -> Snapshot:
        """The loaded index (an empty one when none exists yet)."""
        if self._snapshot is None:
            self._snapshot, self._manifest = self._load()
        return self._snapshot

    def reload(self) -> None:
        """Forget the loaded snapshot; the next use reads the current generation."""
        self._snapshot = None

    def refresh(self) -> bool:
        """Load the current generation if another process (or object) wrote a newer one.

        Costs one small file read; a long-running reader such as the app calls it
        before each query. Returns True when a newer generation was loaded.
        """
        on_disk = self.manifest().get("generation")
        loaded = (self._manifest or {}).get("generation")
        if self._snapshot is not None and on_disk == loaded:
            return False
        self._snapshot, self._manifest = self._load()
        return True

    def _load(self) -> tuple[Snapshot, dict]:
        manifest = self.manifest()
        if not manifest:
            return Snapshot.empty(self.encoder.dim), {}
        self._check(manifest)
        snap = Snapshot.load(self.path / manifest["generation"])
        if snap.lexical.params != self._bm25_params():
            # BM25 built with other k1/b/bigrams: rebuild it here (seconds), and on disk at the next ingest.
            snap.lexical = self._build_lexical(snap.records, snap.chunks)
        return snap, manifest

    def _check(self, manifest: dict) -> None:
        version = manifest.get("format_version")
        if version != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index {self.path} has format version {version}, this program reads {FORMAT_VERSION}: "
                "run `kb ingest --rebuild` to rebuild it"
            )
        built = manifest["encoder"]
        if not _same_encoder(built, self.encoder):
            fix = "unset KB_MODEL to use" if built.get("path") else "set KB_MODEL to"
            raise IndexMismatchError(
                f"index {self.path} was built with encoder {_describe(built['name'], built.get('path'))} "
                f"({built['dim']} d), but the settings ask for "
                f"{_describe(self.encoder.name, getattr(self.encoder, 'path', None))}: "
                f"run `kb ingest --rebuild` to re-encode it, or {fix} the model it was built with"
            )

    # -- chunking --------------------------------------------------------------

    def chunking(self):
        """The chunking parameters these settings give with this encoder."""
        from ingest.chunkers import ChunkingParams

        window = self.encoder.max_tokens - 2  # [CLS] and [SEP]
        max_tokens = self.settings.chunk_tokens or window
        if max_tokens > window:
            raise KbError(f"chunk_tokens ({max_tokens}) exceeds the encoder window ({window} tokens): lower it")
        return ChunkingParams(max_tokens=max_tokens, min_tokens=min(self.settings.min_chunk_tokens, max_tokens - 1))

    def _chunking_record(self) -> dict:
        return {**self.chunking().as_dict(), "dense_text": "chunk", "lexical_text": "title, section, chunk"}

    def _bm25_params(self) -> dict:
        s = self.settings
        return {"k1": float(s.bm25_k1), "b": float(s.bm25_b), "bigrams": bool(s.bm25_bigrams)}

    def _lexical_record(self) -> dict:
        return {"library": "bm25s", "tokenizer_version": TOKENIZER_VERSION, **self._bm25_params()}

    def _build_lexical(self, records: dict[str, DocRecord], chunks: list[Chunk]) -> LexicalIndex:
        texts = [self.lexical_text(records[c.doc_id].document, c) for c in chunks]
        return LexicalIndex.build(texts, **self._bm25_params())

    @staticmethod
    def lexical_text(doc: Document, chunk: Chunk) -> str:
        """What BM25 indexes of a chunk: its document's title and its section path too.

        The encoder sees the chunk text alone: on ObliQA (dev) prefixing the
        headings cut dense Recall@10 from 0.695 to 0.654, while BM25 gains
        the context (minutes' "Decisions" name their meeting only in the title).
        """
        return f"{doc.title}\n{chunk.section}\n{chunk.text}"

    # -- queries -----------------------------------------------------------------

    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        """Hybrid search; see kb.search.Searcher."""
        from kb.search import Searcher

        snapshot = self.snapshot
        if self._searcher is None or self._searcher.snapshot is not snapshot:
            self._searcher = Searcher(snapshot, self.encoder, self.settings)
        return self._searcher.search(query, k, filters)

    def ask(self, question: str, filters: Filters | None = None) -> Answer:
        """A cited answer, or "not found" with the closest passages."""
        from kb.answer import answer

        return answer(self, question, filters)

    def documents(self) -> list[DocRecord]:
        return list(self.snapshot.records.values())

    def stored(self) -> tuple[dict[str, DocRecord], list[Chunk]]:
        """The current generation's documents and chunks, read without vectors, BM25 or the model: cheap,
        for callers that look documents up rather than search (the draft checker)."""
        if self._snapshot is not None:
            return self._snapshot.records, self._snapshot.chunks
        manifest = self.manifest()
        if not manifest:
            return {}, []
        from kb.store import read_records

        return read_records(self.path / manifest["generation"])

    def stats(self) -> dict:
        manifest = self.manifest()
        snap = self.snapshot
        by_type: dict[str, int] = {}
        for rec in snap.records.values():
            by_type[rec.document.type] = by_type.get(rec.document.type, 0) + 1
        return {
            "index": str(self.path), "documents": len(snap.records), "chunks": len(snap),
            "by_type": by_type, "encoder": manifest.get("encoder"), "chunking": manifest.get("chunking"),
            "updated": manifest.get("updated"), "format_version": manifest.get("format_version"),
        }

    # -- writes ------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self):
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / ".lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise KbError(f"another ingest is writing {self.path}: wait for it to finish") from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def ingest(
        self,
        paths: Iterable[Path],
        prune: bool = False,
        rebuild: bool = False,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Add or update the documents of files and folders; unchanged files cost nothing.

        Args:
            paths: Files and folders (searched recursively).
            prune: Also drop documents whose source file no longer exists.
            rebuild: Start from an empty index (re-encode everything); with no
                paths, re-read every source the index knows.
            progress: Called as (stage, done, total).
        """
        from ingest.chunkers import chunk_document
        from ingest.loaders import iter_files, load_file

        paths = [Path(p) for p in paths]
        with self._lock():
            self._clean_stale()
            if rebuild:
                base = Snapshot.empty(self.encoder.dim)
                pairs = [(Path(s), Path(r)) for s, r in self._known_sources()] if not paths else None
            else:
                base = self.snapshot
                if self._manifest and self._manifest.get("chunking") != self._chunking_record():
                    raise IndexMismatchError(
                        f"index {self.path} was chunked with {self._manifest.get('chunking')}, the settings give "
                        f"{self._chunking_record()}: run `kb ingest --rebuild` to re-chunk it"
                    )
                pairs = None
            if pairs is None:
                missing = [p for p in paths if not p.exists()]
                paths_roots = list(iter_files([p for p in paths if p.exists()]))
            else:
                missing = [p for p, _ in pairs if not p.exists()]
                paths_roots = [(p, r) for p, r in pairs if p.exists()]

            records = dict(base.records)
            by_source: dict[str, list[str]] = {}
            for rec in records.values():
                by_source.setdefault(rec.document.source, []).append(rec.document.doc_id)
            results = [FileResult(str(p), "failed", reason="no such file or folder") for p in missing]
            claimed: dict[str, str] = {}
            removed: set[str] = set()
            fresh: list[tuple[DocRecord, list[Chunk]]] = []
            params = self.chunking()
            for n, (path, root) in enumerate(paths_roots):
                if progress:
                    progress("reading", n, len(paths_roots))
                source = str(path.resolve())
                try:
                    digest = hashlib.sha256(path.read_bytes()).hexdigest()
                    known = by_source.get(source, [])
                    if known and all(records[d].content_hash == digest for d in known):
                        for d in known:
                            claimed[d] = source
                        results.append(FileResult(str(path), "unchanged", tuple(known), sum(records[d].chunks for d in known)))
                        continue
                    docs = load_file(path, root)
                    for doc in docs:
                        if claimed.get(doc.doc_id, source) != source:
                            raise LoadError(
                                f"{path}: document id {doc.doc_id!r} is already taken by {claimed[doc.doc_id]}; "
                                "rename one of the files"
                            )
                        other = records.get(doc.doc_id)
                        if other and other.document.source != source and Path(other.document.source).exists():
                            raise LoadError(
                                f"{path}: document id {doc.doc_id!r} is already taken by {other.document.source}; "
                                f"rename one of the files, or `kb remove {doc.doc_id}` first"
                            )
                    made = []
                    for doc in docs:
                        chunks = chunk_document(doc, self.encoder.count_tokens, params)
                        if not chunks:
                            raise LoadError(f"{path}: no text to index in document {doc.doc_id!r}")
                        made.append((DocRecord(doc, digest, str(root.resolve()), _now(), len(chunks)), chunks))
                except LoadError as exc:
                    results.append(FileResult(str(path), "failed", reason=str(exc)))
                    continue
                except OSError as exc:
                    results.append(FileResult(str(path), "failed", reason=f"cannot read: {exc.strerror or exc}"))
                    continue
                except Exception as exc:  # a library choking on a malformed file must not stop the batch
                    results.append(FileResult(str(path), "failed", reason=f"unexpected {type(exc).__name__}: {exc}"))
                    continue
                new_ids = {rec.document.doc_id for rec, _ in made}
                status = "replaced" if known or new_ids & set(records) else "added"
                removed |= set(known) | (new_ids & set(records))
                for rec, chunks in made:
                    claimed[rec.document.doc_id] = source
                    fresh.append((rec, chunks))
                results.append(FileResult(str(path), status, tuple(sorted(new_ids)), sum(len(c) for _, c in made)))
            if progress:
                progress("reading", len(paths_roots), len(paths_roots))
            if prune:
                for source, ids in by_source.items():
                    if not Path(source).exists():
                        removed |= set(ids)
                        results.append(FileResult(source, "removed", tuple(ids)))
            warnings = self._window_warnings(fresh)
            stale_bm25 = bool(self._manifest) and self._manifest.get("lexical") != self._lexical_record()
            if not fresh and not removed and self.exists() and not rebuild and not stale_bm25:
                return IngestReport(tuple(results), warnings)
            self._commit(base, records, removed, fresh, progress)
            return IngestReport(tuple(results), warnings)

    def remove(self, doc_id: str) -> DocRecord:
        """Delete one document and its chunks; KbError when it is not in the index."""
        with self._lock():
            base = self.snapshot
            if doc_id not in base.records:
                raise KbError(f"no document {doc_id!r} in {self.path}: `kb docs` lists the ids")
            rec = base.records[doc_id]
            self._commit(base, dict(base.records), {doc_id}, [], None)
            return rec

    def reencode(self, encoder: Encoder, progress: Progress | None = None) -> int:
        """Embed every chunk again with ``encoder`` and make it the index's encoder; returns the chunks.

        Documents, chunks and BM25 stay as they are, so ``encoder`` must read
        the window the index was chunked for (a fine-tune of its model does).
        """
        from kb.dense import DenseIndex

        with self._lock():
            self._clean_stale()
            if not self.exists():
                raise KbError(f"no index at {self.path} to re-encode: run `kb ingest PATH...` first")
            self.reload()
            base = self.snapshot
            if encoder.max_tokens != self.encoder.max_tokens:
                raise IndexMismatchError(
                    f"{encoder.name} reads {encoder.max_tokens} tokens, the index {self.path} was chunked for "
                    f"{self.encoder.max_tokens}: set KB_MODEL to it and run `kb ingest --rebuild` to re-chunk"
                )
            vectors = self._encode([c.text for c in base.chunks], progress, encoder)
            dense = DenseIndex(encoder.dim)
            dense.add(base.vector_ids, vectors)
            previous, self._encoder = self._encoder, encoder  # the manifest names self.encoder
            try:
                self._write(base.records, base.chunks, dense, base.lexical)
            except BaseException:
                self._encoder = previous
                raise
            self._snapshot = Snapshot(base.records, base.chunks, dense, base.lexical)
            self._manifest = self.manifest()
            return len(base.chunks)

    def _known_sources(self) -> list[tuple[str, str]]:
        """(source, root) of every stored document, read without loading vectors."""
        manifest = self.manifest()
        if not manifest:
            return []
        from kb.store import read_records

        records, _ = read_records(self.path / manifest["generation"])
        pairs = {(r.document.source, r.root) for r in records.values()}
        return sorted(pairs)

    def _window_warnings(self, fresh: list[tuple[DocRecord, list[Chunk]]]) -> tuple[str, ...]:
        window = self.encoder.max_tokens - 2
        over: dict[str, int] = {}
        for rec, chunks in fresh:
            if rec.document.chunks:  # pre-chunked passages are indexed as given
                long = sum(self.encoder.count_tokens(c.text) > window for c in chunks)
                if long:
                    over[rec.document.source] = over.get(rec.document.source, 0) + long
        return tuple(
            f"{src}: {n} passage(s) exceed the encoder window of {window} tokens; only their first "
            f"{window} tokens are embedded (BM25 sees the whole text)"
            for src, n in over.items()
        )

    def _commit(
        self,
        base: Snapshot,
        records: dict[str, DocRecord],
        removed: set[str],
        fresh: list[tuple[DocRecord, list[Chunk]]],
        progress: Progress | None,
    ) -> None:
        """Write a new generation from ``base`` less ``removed`` plus ``fresh``, then switch to it."""
        new_chunks = [c for _, chunks in fresh for c in chunks]
        vectors = self._encode([c.text for c in new_chunks], progress)
        for doc_id in removed:
            records.pop(doc_id, None)
        for rec, _ in fresh:
            records[rec.document.doc_id] = rec
        kept = [c for c in base.chunks if c.doc_id not in removed]
        dense = base.dense.copy()
        dense.remove(np.array([vector_id(c) for c in base.chunks if c.doc_id in removed], dtype=np.int64))
        dense.add(np.array([vector_id(c) for c in new_chunks], dtype=np.int64), vectors)
        chunks = kept + new_chunks
        if progress:
            progress("indexing", 0, 1)
        lexical = self._build_lexical(records, chunks)
        self._write(records, chunks, dense, lexical)
        self._snapshot = Snapshot(records, chunks, dense, lexical)
        self._manifest = self.manifest()
        if progress:
            progress("indexing", 1, 1)

    def _encode(self, texts: list[str], progress: Progress | None, encoder: Encoder | None = None) -> np.ndarray:
        encoder = encoder or self.encoder
        step = 512
        parts = []
        for i in range(0, len(texts), step):
            if progress:
                progress("embedding", i, len(texts))
            parts.append(encoder.encode(texts[i : i + step]))
        if progress:
            progress("embedding", len(texts), len(texts))
        return np.concatenate(parts) if parts else np.zeros((0, encoder.dim), dtype=np.float32)

    def _write(self, records: dict[str, DocRecord], chunks: list[Chunk], dense, lexical: LexicalIndex) -> None:
        current = self.manifest().get("generation")
        # Above every generation on disk: a write killed between its rename and the manifest
        # switch leaves a whole generation no manifest names.
        numbers = [_generation_number(d.name) for d in self.path.glob("gen-*")]
        generation = f"gen-{max([0, *numbers]) + 1:06d}"
        tmp = self.path / f"{generation}.tmp-{os.getpid()}"
        tmp.mkdir(parents=True)
        write_records(tmp, list(records.values()), chunks)
        dense.save(tmp / "dense.faiss")
        lexical.save(tmp / "lexical")
        _fsync_tree(tmp)
        os.rename(tmp, self.path / generation)
        manifest = {
            "format_version": FORMAT_VERSION,
            "generation": generation,
            "encoder": encoder_record(self.encoder),
            "chunking": self._chunking_record(),
            "lexical": {"library": "bm25s", "tokenizer_version": TOKENIZER_VERSION, **lexical.params},
            "counts": {"documents": len(records), "chunks": len(chunks)},
            "updated": _now(),
        }
        staged = self.path / "manifest.json.tmp"
        staged.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        with open(staged, "rb") as f:
            os.fsync(f.fileno())
        os.replace(staged, self.path / "manifest.json")
        _fsync_dir(self.path)
        # Keep the previous generation: a reader that read the old manifest a moment ago may still be loading it.
        keep = {generation, current}
        for old in self.path.glob("gen-*"):
            if old.name not in keep and old.is_dir() and ".tmp-" not in old.name:
                shutil.rmtree(old, ignore_errors=True)

    def _clean_stale(self) -> None:
        """Remove half-written generations left by a killed write (we hold the lock)."""
        for tmp in self.path.glob("gen-*.tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)
        (self.path / "manifest.json.tmp").unlink(missing_ok=True)
        # A generation renamed into place whose manifest switch never happened: no reader can know it.
        current = self.manifest().get("generation")
        if current:
            for orphan in self.path.glob("gen-*"):
                if _generation_number(orphan.name) > _generation_number(current) and ".tmp-" not in orphan.name:
                    shutil.rmtree(orphan, ignore_errors=True)
