"""The knowledge base: an index directory, its manifest, and incremental, atomic updates.

Layout of the directory::

    manifest.json      format version, encoder, chunking, counts, current generation
    gen-000007/        documents.jsonl, chunks.jsonl, dense.faiss, lexical/
    .lock              held while a write runs

A write builds a new generation in a temporary directory, renames it into
place, then replaces manifest.json atomically. A write killed at any moment
leaves the previous generation named by the manifest, whole; a write that
fails (a full disk, a read-only folder) removes what it wrote and says so.

One writer at a time holds ``.lock``; it first reloads the generation on
disk, so nothing another writer committed is lost. A write that would drop
more than ``max_removal_share`` of the documents, or any whose source folder
is missing or empty (an unmounted share), is refused unless forced.

A KnowledgeBase may be shared by threads: each search and answer works on the
snapshot it started with, and loads happen once, under a lock.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import errno
import fcntl
import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from kb.access import (ACCESS_SET_BY, LEVELS, AccessDeniedError, Principal, document_access, parse_groups,
                       parse_level)
from kb.config import Settings
from kb.encoder import PACKAGED_NAME, Encoder, make_encoder
from kb.errors import IndexDamagedError, IndexMismatchError, KbError, LoadError, RemovalRefusedError
from kb.lexical import TOKENIZER_VERSION, LexicalIndex
from kb.search import SearchResult
from kb.snapshot import Filters, Snapshot
from kb.store import DocRecord, vector_id, write_records
from kb.types import OCR_UNREADABLE_PAGES, Answer, Chunk, Document, Hit

FORMAT_VERSION = 1
_CHANGE_RULE = "an editor changes documents of their own departments up to their clearance, an admin any they can see"
MAX_SEARCHERS = 64  # searchers kept at once: one per snapshot view (people who see the same share one)
_UNSET = object()

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


class _Shared:
    """What every view of one knowledge base shares (see KnowledgeBase.as_user): the models and the
    loaded index, each loaded once."""

    def __init__(self, encoder: Encoder | None) -> None:
        self.encoder = encoder
        self.snapshot: Snapshot | None = None
        self.manifest: dict | None = None
        self.searchers: dict[int, object] = {}  # id(snapshot) -> its Searcher (it caches title terms)
        self.mutex = threading.RLock()  # lazy loads: the encoder, the snapshot, the searchers
        self.writer: int | None = None  # the thread holding the write lock
        self.reranker = _UNSET
        self.answerability = _UNSET


class KnowledgeBase:
    """Ingest, search and ask over one index directory.

    Construction is cheap: the encoder and the index load on first use.
    """

    def __init__(self, settings: Settings, encoder: Encoder | None = None) -> None:
        self.settings = settings
        self.path = Path(settings.index)
        self._shared = _Shared(encoder)
        self.viewer = Principal.local()  # who asks: as_user gives a view for someone else
        self.activity = None  # a kb.services.activity.ActivityLog that records what the viewer does, or None

    # -- loading ---------------------------------------------------------------

    @property
    def encoder(self) -> Encoder:
        """The configured model, or, when none is configured, the one the index was built with."""
        if self._shared.encoder is None:
            with self._shared.mutex:
                if self._shared.encoder is None:
                    s = self.settings
                    self._shared.encoder = make_encoder(self._model_setting(), s.batch_size, s.backend, s.cache_dir)
        return self._shared.encoder

    def _model_setting(self) -> str:
        # A tuned model lives in its own directory: an index built with one keeps using it
        # unless a model is configured. The packaged model is found afresh (the venv may move).
        if self.settings.model:
            return self.settings.model
        try:
            built = self.manifest().get("encoder", {})
        except IndexDamagedError:  # being rebuilt, or about to fail to load with its own message
            return ""
        if not isinstance(built, dict):
            return ""
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
            manifest = json.loads((self.path / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise IndexDamagedError(
                f"{self.path / 'manifest.json'} is unreadable ({exc}): rebuild the index from its sources "
                "with `kb ingest --rebuild PATH...` (the folders you ingested)"
            ) from None
        if not isinstance(manifest, dict):
            raise IndexDamagedError(
                f"{self.path / 'manifest.json'} is not a manifest: rebuild the index from its sources "
                "with `kb ingest --rebuild PATH...` (the folders you ingested)"
            )
        return manifest

    def as_user(self, person: Principal, activity=None) -> KnowledgeBase:
        """This knowledge base as ``person`` sees it: searches, answers, listings and counts hold only the
        documents they may see, and writes are checked against their role. The models and the loaded
        index are shared with this object. ``activity`` (a kb.services.activity.ActivityLog) records what they do."""
        view = copy.copy(self)
        view.viewer, view.activity = person, activity
        return view

    @property
    def snapshot(self) -> Snapshot:
        """The loaded index as the viewer may see it (an empty one when none exists yet).

        Take it once per task: another thread's refresh may put a newer one here meanwhile.
        """
        return self._full().visible_to(self.viewer)

    def _full(self) -> Snapshot:
        """The loaded index, every document in it: for writes, never for answers."""
        snap = self._shared.snapshot
        if snap is None:
            with self._shared.mutex:
                if self._shared.snapshot is None:
                    self._shared.snapshot, self._shared.manifest = self._load()
                snap = self._shared.snapshot
        return snap

    def reload(self) -> None:
        """Forget the loaded snapshot; the next use reads the current generation."""
        with self._shared.mutex:
            self._shared.snapshot = None

    def refresh(self) -> bool:
        """Load the current generation if another process (or object) wrote a newer one.

        Costs one small file read; a long-running reader such as the app calls it
        before each query. Returns True when a newer generation was loaded.
        """
        with self._shared.mutex:
            on_disk = self.manifest().get("generation")
            loaded = (self._shared.manifest or {}).get("generation")
            if self._shared.snapshot is not None and on_disk == loaded:
                return False
            self._shared.snapshot, self._shared.manifest = self._load()
            return True

    def _load(self) -> tuple[Snapshot, dict]:
        manifest = self.manifest()
        if not manifest:
            return Snapshot.empty(self.encoder.dim), {}
        self._check(manifest)
        generation = self.path / str(manifest.get("generation"))
        try:
            snap = Snapshot.load(generation)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            # A missing file, truncated JSON lines, a chunk of an unknown document, a FAISS file that is not one.
            what = f"{type(exc).__name__}: {exc}" if not isinstance(exc, OSError) else (exc.strerror or str(exc))
            raise IndexDamagedError(
                f"index {self.path} is damaged: {generation.name} cannot be read ({what}). Rebuild it from "
                "its sources with `kb ingest --rebuild PATH...` (the folders you ingested)"
            ) from None
        if snap.lexical.params != self._bm25_params():
            # BM25 built with other k1/b/bigrams/cjk_pairs: rebuild it here (seconds), and on disk at the next ingest.
            snap.lexical = self._build_lexical(snap.records, snap.chunks)
        return snap, manifest

    def _check(self, manifest: dict) -> None:
        version = manifest.get("format_version")
        if version != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index {self.path} has format version {version}, this program reads {FORMAT_VERSION}: "
                "run `kb ingest --rebuild PATH...` to rebuild it"
            )
        built = manifest.get("encoder")
        if not isinstance(built, dict) or not {"name", "dim"} <= set(built) or "generation" not in manifest:
            raise IndexDamagedError(
                f"{self.path / 'manifest.json'} lacks the encoder or the generation: rebuild the index "
                "from its sources with `kb ingest --rebuild PATH...` (the folders you ingested)"
            )
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
        return {"k1": float(s.bm25_k1), "b": float(s.bm25_b), "bigrams": bool(s.bm25_bigrams),
                "cjk_pairs": bool(s.bm25_cjk_pairs)}

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

    @property
    def reranker(self):
        """The reranker the settings name (kb.rerank), loaded once; None for "none"."""
        if self._shared.reranker is _UNSET:
            with self._shared.mutex:
                if self._shared.reranker is _UNSET:
                    from kb.rerank import load_reranker

                    self._shared.reranker = load_reranker(self.settings.reranker)
        return self._shared.reranker

    @property
    def answerability(self):
        """The answerability model the settings name (kb.answerability), loaded once; None for "none"."""
        if self._shared.answerability is _UNSET:
            with self._shared.mutex:
                if self._shared.answerability is _UNSET:
                    from kb.answerability import load_answerability

                    # A model trained on the reranker's signals does not apply without one, nor one fitted on
                    # another encoder's similarities (they spread differently): the threshold decides then.
                    model = load_answerability(self.settings.answerability)
                    usable = (model is not None and (not model.reranker or self.reranker is not None)
                              and model.encoder in ("", self.encoder.name))
                    self._shared.answerability = model if usable else None
        return self._shared.answerability

    def searcher(self, snapshot: Snapshot | None = None):
        """A kb.search.Searcher over ``snapshot`` (default the loaded one), made once per snapshot."""
        from kb.search import Searcher

        snapshot = snapshot or self.snapshot
        with self._shared.mutex:
            searchers = self._shared.searchers
            found = searchers.get(id(snapshot))
            if found is None or found.snapshot is not snapshot:
                if len(searchers) >= MAX_SEARCHERS:
                    searchers.clear()
                found = searchers[id(snapshot)] = Searcher(snapshot, self.encoder, self.settings, self.reranker)
            return found

    def search(self, query: str, k: int | None = None, filters: Filters | None = None, rerank: bool = True) -> list[Hit]:
        """Hybrid search, reranked; see kb.search.Searcher."""
        hits = self.searcher().search(query, k, filters, rerank)
        self.log("search", query, dict.fromkeys(h.chunk.doc_id for h in hits))
        return hits

    def models(self):
        """The models an answer may use: the encoder, the reranker and the answerability model (kb.answer.Models)."""
        from kb.answer import Models

        return Models(self.encoder, self.reranker, self.answerability)

    def reader(self, kind: str | None = None):
        """The reader ``kind`` names (default the ``reader`` setting), with this knowledge base's models."""
        from kb.readers import make_reader

        settings = self.settings.replace(reader=kind)  # validates what the reader needs (an endpoint for llm)
        return make_reader(settings, self.encoder, None, self.models())

    def retrieve(self, question: str, filters: Filters | None = None) -> tuple[Snapshot, list[Hit]]:
        """The snapshot and the hits an answer to ``question`` is read from (a reader's input)."""
        snapshot, result = self._search(question, filters)
        return snapshot, result.hits

    def _search(self, question: str, filters: Filters | None = None) -> tuple[Snapshot, SearchResult]:
        """One search for an answer: the question with its typos corrected (``SearchResult.query``)."""
        from kb.answer import PASSAGES

        snapshot = self.snapshot
        searched = self.spell(question, snapshot)
        return snapshot, self.searcher(snapshot).run(searched, max(self.settings.k, PASSAGES), filters)

    def ask(self, question: str, filters: Filters | None = None, reader=None) -> Answer:
        """A cited answer, or "not found" with the closest passages and why; one snapshot throughout.

        The question is searched with its typos corrected (``Answer.searched`` says how, when it changed).
        ``reader`` (a kb.readers.Reader) writes the answer; by default it is quoted (kb.answer.compose).
        """
        from kb.answer import compose

        snapshot, result = self._search(question, filters)
        models = self.models()

        def answer_from(found: SearchResult) -> Answer:
            if reader is not None:
                return reader.read(found.query, found.hits, snapshot)
            return compose(found.query, found.hits, snapshot, self.settings, models, found.vector)

        answer = answer_from(result)
        if not answer.found and filters is not None and not filters.empty():
            # Would the documents the filters leave out have answered it?
            wider = compose(result.query, self.searcher(snapshot).run(result.query, len(result.hits) or 5).hits,
                            snapshot, self.settings, models)
            if wider.found:
                answer = dataclasses.replace(answer, related=True, note=(
                    "the filters leave out the documents that answer it, such as "
                    f"{wider.citations[0].hit.title}: clear the filters to see the answer"))
        changed = result.query != question.strip()
        self.log("ask", question, dict.fromkeys(c.hit.chunk.doc_id for c in answer.citations))
        return dataclasses.replace(answer, question=question, searched=result.query if changed else "")

    def spell(self, query: str, snapshot: Snapshot | None = None) -> str:
        """``query`` with its typos and office shorthand corrected against the index's words (kb.spelling)."""
        from kb.search import check_query
        from kb.spelling import speller_for

        if not self.settings.spelling:
            return query
        text = check_query(query, self.settings)
        return speller_for(snapshot or self.snapshot).correct(text).query

    def documents(self) -> list[DocRecord]:
        return list(self.snapshot.records.values())

    def stored(self) -> tuple[dict[str, DocRecord], list[Chunk]]:
        """The current generation's documents and chunks, read without vectors, BM25 or the model: cheap,
        for callers that look documents up rather than search (the draft checker)."""
        if self._shared.snapshot is not None or not self.viewer.everything:
            snap = self.snapshot
            return snap.records, snap.chunks
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
    def writing(self, wait: float = 0.0, on_wait: Callable[[], None] | None = None):
        """Hold the index's write lock: one writer at a time, across processes and threads.

        Re-entrant within a thread, so a caller can hold it across several writes (an upload
        holds it from its ingest until its files are in place). Half-written generations of a
        killed write are removed on entry.

        Args:
            wait: Seconds to wait for another writer before giving up (0: fail at once).
            on_wait: Called once if the lock is busy and we wait.

        Raises:
            KbError: Another writer holds the lock past ``wait``, or the folder cannot be written.
        """
        if self._shared.writer == threading.get_ident():
            yield
            return
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            handle = open(self.path / ".lock", "a")
        except OSError as exc:
            raise self._write_error(exc) from None
        try:
            deadline = time.monotonic() + wait
            waited = False
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise KbError(
                            f"another ingest is writing {self.path}: wait for it to finish, then try again"
                        ) from None
                    if on_wait is not None and not waited:
                        on_wait()
                    waited = True
                    time.sleep(0.2)
            self._shared.writer = threading.get_ident()
            try:
                self._clean_stale()
                yield
            finally:
                self._shared.writer = None
                fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            handle.close()

    def _current(self) -> Snapshot:
        """The generation on disk now (we hold the lock): what another writer committed is kept."""
        self.refresh()
        return self._full()

    def ingest(
        self,
        paths: Iterable[Path],
        prune: bool = False,
        rebuild: bool = False,
        progress: Progress | None = None,
        *,
        force: bool = False,
        staged: Mapping[Path, Path] | None = None,
        wait: float = 0.0,
        on_wait: Callable[[], None] | None = None,
        assign: tuple[int, tuple[str, ...]] | None = None,
    ) -> IngestReport:
        """Add or update the documents of files and folders; unchanged files cost nothing.

        Args:
            paths: Files and folders (searched recursively).
            prune: Also drop documents whose source file no longer exists.
            rebuild: Start from an empty index (re-encode everything); with no
                paths, re-read every source the index knows.
            progress: Called as (stage, done, total).
            force: Remove documents even past the guard against mass removal.
            staged: For files that are not yet in place (uploads): the final path each
                document is named after, mapped to where its bytes are now.
            wait: Seconds to wait for another writer (see ``writing``).
            on_wait: Called once if we wait.
            assign: (level, groups) for the documents these files make, as an editor sets them
                on upload (kept across later re-ingests); None reads them from each file.

        Raises:
            AccessDeniedError: The viewer is not an editor, or (for rebuild and prune) not an admin.
            RemovalRefusedError: The write would remove more than ``max_removal_share``
                of the documents, or documents whose source folder is missing or empty.
        """
        paths = [Path(p) for p in paths]
        staged = {Path(final).absolute(): Path(data) for final, data in (staged or {}).items()}
        self.viewer.require("editor", "add or change documents")
        if rebuild or prune:
            self.viewer.require("admin", "re-index or prune the knowledge base")
        with self.writing(wait, on_wait):
            if rebuild:
                previous = self._readable_records()
                base = Snapshot.empty(self.encoder.dim)
                if not paths:
                    if previous is None:
                        raise IndexDamagedError(
                            f"the index {self.path} is too damaged to list its sources: name them, "
                            "e.g. `kb ingest --rebuild corpus/`"
                        )
                    paths_roots = sorted({(Path(r.document.source), Path(r.root)) for r in previous.values()})
                    missing: list[Path] = []
                else:
                    missing, paths_roots = self._expand(paths, staged)
                previous = previous or {}
            else:
                base = self._current()
                previous = base.records
                if self._shared.manifest and self._shared.manifest.get("chunking") != self._chunking_record():
                    raise IndexMismatchError(
                        f"index {self.path} was chunked with {self._shared.manifest.get('chunking')}, the settings give "
                        f"{self._chunking_record()}: run `kb ingest --rebuild` to re-chunk it"
                    )
                missing, paths_roots = self._expand(paths, staged)
            if prune:
                gone = {d for d, r in previous.items() if not os.path.exists(r.document.source)}
                self._guard_removal(previous, gone, force, "--prune")

            records = dict(base.records)
            by_source: dict[str, list[str]] = {}
            for rec in records.values():
                by_source.setdefault(rec.document.source, []).append(rec.document.doc_id)
            results = [FileResult(str(p), "failed", reason="no such file or folder") for p in missing]
            claimed: dict[str, str] = {}
            removed: set[str] = set()
            fresh: list[tuple[DocRecord, list[Chunk]]] = []
            params = self.chunking()
            limits = self.load_limits()
            for n, (path, root) in enumerate(paths_roots):
                if progress:
                    progress("reading", n, len(paths_roots))
                outcome = self._read_one(path, root, staged.get(path.absolute()), limits, params,
                                         records, by_source, claimed, assign)
                if isinstance(outcome, FileResult):
                    results.append(outcome)
                    continue
                source, known, made = outcome
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
                    if not os.path.exists(source):
                        removed |= set(ids)
                        results.append(FileResult(source, "removed", tuple(ids)))
            kept = (set(records) - removed) | {rec.document.doc_id for rec, _ in fresh}
            self._guard_removal(previous, set(previous) - kept, force, "re-indexing" if rebuild else "this ingest")
            warnings = self._window_warnings(fresh) + tuple(
                f"{rec.document.source}: no usable text on scanned page(s) {', '.join(map(str, pages))} "
                "(blank, or too faint or noisy for OCR); left out"
                for rec, _ in fresh if (pages := rec.document.meta.get(OCR_UNREADABLE_PAGES)))
            stale_bm25 = bool(self._shared.manifest) and self._shared.manifest.get("lexical") != self._lexical_record()
            if not fresh and not removed and self.exists() and not rebuild and not stale_bm25:
                return IngestReport(tuple(results), warnings)
            self._commit(base, records, removed, fresh, progress)
            self.log("reindex" if rebuild else "ingest", ", ".join(str(p) for p in paths),
                     sorted({d for r in results if r.status in ("added", "replaced", "removed") for d in r.doc_ids}))
            return IngestReport(tuple(results), warnings)

    def load_limits(self):
        """What one file may cost to read, from the settings."""
        from ingest.loaders import LoadLimits
        from ingest.ocr import OcrOptions

        s = self.settings
        return LoadLimits(max_chars=s.max_file_chars, max_docx_xml_bytes=int(s.max_docx_xml_mb * 1024 * 1024),
                          follow_symlinks=s.follow_symlinks, ocr=OcrOptions(s.ocr, s.ocr_languages, s.ocr_dpi))

    def _expand(self, paths: list[Path], staged: Mapping[Path, Path]) -> tuple[list[Path], list[tuple[Path, Path]]]:
        """(paths that do not exist, (file, root) pairs): folders walked, staged files as given."""
        from ingest.loaders import iter_files

        missing, pairs = [], []
        for p in paths:
            if p.absolute() in staged:
                pairs.append((p, p.parent))
            elif os.path.lexists(p):
                pairs.extend(iter_files([p], self.settings.follow_symlinks))
            else:
                missing.append(p)
        return missing, pairs

    def _read_one(self, path, root, data, limits, params, records, by_source, claimed, assign=None):
        """Load and chunk one file: a failed FileResult, "unchanged", or (source, known ids, made)."""
        from ingest.chunkers import chunk_document
        from ingest.loaders import check_link, load_file

        try:
            if data is None:  # a link that loops or leads out of the folder fails here, before resolve()
                check_link(path, root, limits.follow_symlinks)
            source = str(path.resolve())
            digest = hashlib.sha256((data or path).read_bytes()).hexdigest()
            known = by_source.get(source, [])
            if known and all(records[d].content_hash == digest for d in known):
                for d in known:
                    claimed[d] = source
                return FileResult(str(path), "unchanged", tuple(known), sum(records[d].chunks for d in known))
            docs = load_file(path, root, limits, data)
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
            docs = [self._with_access(path, doc, records.get(doc.doc_id), assign) for doc in docs]
            for d in known:
                if not self.viewer.may_change(*document_access(records[d].document.meta)):
                    raise LoadError(f"{path}: {self.viewer.name} may not replace {d!r}: {_CHANGE_RULE}")
            made = []
            for doc in docs:
                chunks = chunk_document(doc, self.encoder.count_tokens, params)
                if not chunks:
                    raise LoadError(f"{path}: no text to index in document {doc.doc_id!r}")
                made.append((DocRecord(doc, digest, str(Path(root).resolve()), _now(), len(chunks)), chunks))
        except LoadError as exc:
            return FileResult(str(path), "failed", reason=str(exc))
        except OSError as exc:
            return FileResult(str(path), "failed", reason=f"cannot read: {exc.strerror or exc}")
        except Exception as exc:  # a library choking on a malformed file must not stop the batch
            return FileResult(str(path), "failed", reason=f"unexpected {type(exc).__name__}: {exc}")
        return source, known, made

    def _with_access(self, path: Path, doc: Document, previous: DocRecord | None,
                     assign: tuple[int, tuple[str, ...]] | None) -> Document:
        """``doc`` with the level and groups it is stored with, checked: those ``assign`` gives, else those
        set in the Library for its earlier version, else its own. LoadError for a level that cannot be
        read, or one the viewer may not add."""
        meta = dict(doc.meta)
        if assign is not None:
            meta.update(level=LEVELS[assign[0]], groups=list(assign[1]), **{ACCESS_SET_BY: self.viewer.name})
        elif previous is not None and ACCESS_SET_BY in previous.document.meta:
            kept = previous.document.meta
            meta.update(level=kept.get("level"), groups=kept.get("groups", []), **{ACCESS_SET_BY: kept[ACCESS_SET_BY]})
        try:
            level, groups = document_access(meta)
        except KbError as exc:
            raise LoadError(f"{path}: {exc}") from None
        if not self.viewer.may_change(level, groups):
            raise LoadError(f"{path}: {self.viewer.name} may not add a {LEVELS[level]} document "
                            f"of {', '.join(groups) or 'no department'}: {_CHANGE_RULE}")
        return dataclasses.replace(doc, meta=meta) if meta != doc.meta else doc

    def set_access(self, doc_id: str, level: int | str, groups, wait: float = 0.0) -> DocRecord:
        """Set who may read a document: its level and groups (kept when its file is ingested again).

        Raises:
            KbError: No such document (or none the viewer can see).
            AccessDeniedError: The viewer may not change it, or not to this level and these groups.
        """
        level, groups = parse_level(level), parse_groups(groups)
        self.viewer.require("editor", "change who may read a document")
        with self.writing(wait):
            base = self._current()
            record = base.records.get(doc_id)
            if record is None or not self.viewer.may_see(*document_access(record.document.meta)):
                raise KbError(f"no document {doc_id!r} in {self.path}: `kb docs` lists the ids")
            if not (self.viewer.may_change(*document_access(record.document.meta))
                    and self.viewer.may_change(level, groups)):
                raise AccessDeniedError(f"{self.viewer.name} may not set {doc_id!r} to {LEVELS[level]} "
                                        f"for {', '.join(groups) or 'everyone'}: {_CHANGE_RULE}")
            meta = {**record.document.meta, "level": LEVELS[level], "groups": list(groups),
                    ACCESS_SET_BY: self.viewer.name}
            changed = dataclasses.replace(record, document=dataclasses.replace(record.document, meta=meta))
            records = {**base.records, doc_id: changed}
            self._write(records, base.chunks, base.dense, base.lexical)
            self._install(Snapshot(records, base.chunks, base.dense, base.lexical))
            self.log("set_access", f"{doc_id}: {LEVELS[level]} {', '.join(groups)}".strip(), [doc_id])
            return changed

    def log(self, action: str, detail: str = "", docs=()) -> None:
        """Record what the viewer did in the activity log, when there is one (see as_user)."""
        if self.activity is not None:
            self.activity.record(self.viewer.name, action, detail, list(docs))

    def _guard_removal(self, previous: Mapping[str, DocRecord], gone: set[str], force: bool, what: str) -> None:
        """Refuse a write that removes many documents at once, unless ``force``.

        An unmounted share looks like an empty folder: every document from it would go,
        and getting them back means a full re-encode.
        """
        if not gone or force:
            return
        total = len(previous)
        roots = sorted({previous[d].root for d in gone})
        empty = [r for r in roots if not os.path.isdir(r) or not any(os.scandir(r))]
        share = len(gone) / max(total, 1)
        limit = self.settings.max_removal_share
        if empty:
            why = f"their source folder {empty[0]} is missing or empty (an unmounted share?)"
        elif share > limit:
            why = f"that is {share:.0%} of them, over the {limit:.0%} limit (max_removal_share)"
        else:
            return
        raise RemovalRefusedError(
            f"{what} would remove {len(gone)} of {total} documents: {why}. Nothing was changed. "
            "Check the sources; to remove them anyway, run again with --force",
            len(gone), total,
        )

    def _readable_records(self) -> dict[str, DocRecord] | None:
        """The stored documents for a rebuild: {} with no index, None when it is too damaged to read."""
        from kb.store import read_records

        try:
            manifest = self.manifest()
            if not manifest:
                return {}
            return read_records(self.path / str(manifest["generation"]))[0]
        except (IndexDamagedError, OSError, ValueError, KeyError, TypeError):
            return None

    def remove(self, doc_id: str, wait: float = 0.0) -> DocRecord:
        """Delete one document and its chunks; KbError when it is not in the index."""
        self.viewer.require("editor", "remove documents")
        with self.writing(wait):
            base = self._current()
            rec = base.records.get(doc_id)
            if rec is None or not self.viewer.may_see(*document_access(rec.document.meta)):
                raise KbError(f"no document {doc_id!r} in {self.path}: `kb docs` lists the ids")
            if not self.viewer.may_change(*document_access(rec.document.meta)):
                raise AccessDeniedError(f"{self.viewer.name} may not remove {doc_id!r}: {_CHANGE_RULE}")
            self._commit(base, dict(base.records), {doc_id}, [], None)
            self.log("remove", doc_id, [doc_id])
            return rec

    def reencode(self, encoder: Encoder, progress: Progress | None = None) -> int:
        """Embed every chunk again with ``encoder`` and make it the index's encoder; returns the chunks.

        Documents, chunks and BM25 stay as they are, so ``encoder`` must read
        the window the index was chunked for (a fine-tune of its model does).
        """
        from kb.dense import DenseIndex

        self.viewer.require("admin", "re-encode the knowledge base")
        with self.writing():
            if not self.exists():
                raise KbError(f"no index at {self.path} to re-encode: run `kb ingest PATH...` first")
            base = self._current()
            if encoder.max_tokens != self.encoder.max_tokens:
                raise IndexMismatchError(
                    f"{encoder.name} reads {encoder.max_tokens} tokens, the index {self.path} was chunked for "
                    f"{self.encoder.max_tokens}: set KB_MODEL to it and run `kb ingest --rebuild` to re-chunk"
                )
            vectors = self._encode([c.text for c in base.chunks], progress, encoder)
            dense = DenseIndex(encoder.dim)
            dense.add(base.vector_ids, vectors)
            previous, self._shared.encoder = self._shared.encoder, encoder  # the manifest names self.encoder
            try:
                self._write(base.records, base.chunks, dense, base.lexical)
            except BaseException:
                self._shared.encoder = previous
                raise
            self._install(Snapshot(base.records, base.chunks, dense, base.lexical))
            return len(base.chunks)

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
        """Write a new generation from ``base`` less ``removed`` plus ``fresh``, then switch to it.

        A new chunk whose text a removed chunk of the same document had keeps that chunk's vector
        (the vector is the encoder's of the text alone), so an edited file re-embeds only what changed.
        """
        new_chunks = [c for _, chunks in fresh for c in chunks]
        vectors = self._vectors_for(base, removed, new_chunks, progress)
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
        self._install(Snapshot(records, chunks, dense, lexical))
        if progress:
            progress("indexing", 1, 1)

    def _vectors_for(self, base: Snapshot, removed: set[str], chunks: list[Chunk],
                     progress: Progress | None) -> np.ndarray:
        """Vectors of ``chunks``: those of removed chunks with the same document and text, the rest encoded."""
        earlier = {(c.doc_id, c.text): vid for c, vid in zip(base.chunks, base.vector_ids.tolist())
                   if c.doc_id in removed} if removed else {}
        kept = [i for i, c in enumerate(chunks) if (c.doc_id, c.text) in earlier]
        todo = [i for i, c in enumerate(chunks) if (c.doc_id, c.text) not in earlier]
        vectors = np.zeros((len(chunks), self.encoder.dim), dtype=np.float32)
        if kept:
            vectors[kept] = base.dense.vectors(np.array([earlier[(chunks[i].doc_id, chunks[i].text)] for i in kept],
                                                        dtype=np.int64))
        if todo:
            vectors[todo] = self._encode([chunks[i].text for i in todo], progress)
        elif progress:
            progress("embedding", 0, 0)
        return vectors

    def _install(self, snapshot: Snapshot) -> None:
        """Make what was just written the loaded snapshot, with its manifest."""
        with self._shared.mutex:
            self._shared.snapshot, self._shared.manifest = snapshot, self.manifest()

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
        """Write a generation beside the current one, then switch the manifest to it.

        On any failure (a full disk, a read-only folder) what was written is removed and
        the manifest still names the previous generation.
        """
        current = self._current_generation()
        # Above every generation on disk: a write killed between its rename and the manifest
        # switch leaves a whole generation no manifest names.
        numbers = [_generation_number(d.name) for d in self.path.glob("gen-*")]
        generation = f"gen-{max([0, *numbers]) + 1:06d}"
        tmp = self.path / f"{generation}.tmp-{os.getpid()}"
        staged = self.path / "manifest.json.tmp"
        try:
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
            staged.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            with open(staged, "rb") as f:
                os.fsync(f.fileno())
            os.replace(staged, self.path / "manifest.json")
        except (OSError, RuntimeError) as exc:
            # RuntimeError: FAISS reports its own write failures so. Nothing new is named by the manifest.
            shutil.rmtree(tmp, ignore_errors=True)
            if self._current_generation() != generation:
                shutil.rmtree(self.path / generation, ignore_errors=True)
            staged.unlink(missing_ok=True)
            raise self._write_error(exc) from None
        _fsync_dir(self.path)
        # Keep the previous generation: a reader that read the old manifest a moment ago may still be loading it.
        keep = {generation, current}
        for old in self.path.glob("gen-*"):
            if old.name not in keep and old.is_dir() and ".tmp-" not in old.name:
                shutil.rmtree(old, ignore_errors=True)

    def _write_error(self, exc: Exception) -> KbError:
        """The one-line reason a write failed, and the fix; the index is as it was."""
        code = getattr(exc, "errno", None)
        if code == errno.ENOSPC or "No space" in str(exc):
            reason, fix = "the disk is full", "free some space"
        elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
            reason, fix = "the folder is read-only here", "run as a user who may write it, or set KB_INDEX to another folder"
        else:
            reason, fix = getattr(exc, "strerror", None) or str(exc), "check the folder"
        return KbError(f"cannot write the index at {self.path}: {reason}. Nothing was changed; {fix}, then run again")

    def _current_generation(self) -> str | None:
        try:
            return self.manifest().get("generation")
        except IndexDamagedError:
            return None

    def _clean_stale(self) -> None:
        """Remove half-written generations left by a killed write (we hold the lock)."""
        for tmp in self.path.glob("gen-*.tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)
        with contextlib.suppress(OSError):
            (self.path / "manifest.json.tmp").unlink(missing_ok=True)
        # A generation renamed into place whose manifest switch never happened: no reader can know it.
        current = self._current_generation()
        if current:
            for orphan in self.path.glob("gen-*"):
                if _generation_number(orphan.name) > _generation_number(current) and ".tmp-" not in orphan.name:
                    shutil.rmtree(orphan, ignore_errors=True)
