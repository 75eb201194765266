"""Ingest, incremental updates, removal, prune, failures and the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kb.config import Settings
from kb.encoder import HashingEncoder, make_encoder
from kb.errors import IndexMismatchError, KbError
from kb.index import KnowledgeBase
from tests.conftest import write


class CountingEncoder(HashingEncoder):
    """Counts the texts it embeds, to prove unchanged files cost nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.encoded = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded += len(texts)
        return super().encode(texts)


def statuses(report) -> dict[str, str]:
    return {Path(r.path).name: r.status for r in report.results}


def test_ingest_records_documents_with_metadata(built: KnowledgeBase) -> None:
    docs = {r.document.doc_id: r.document for r in built.documents()}
    assert sorted(docs) == [
        "minutes/2024-04-18-flood", "regulations/duty-rules", "regulations/duty-rules-2019",
        "regulations/huiyi-banfa", "regulations/meeting-rules",
    ]
    assert docs["regulations/meeting-rules"].type == "regulation"
    assert docs["regulations/meeting-rules"].number == "Mer. Gov. Off. [2023] No. 20"
    assert docs["minutes/2024-04-18-flood"].type == "minutes"
    assert docs["regulations/duty-rules-2019"].status == "superseded"


def test_every_chunk_is_a_span_of_its_document(built: KnowledgeBase) -> None:
    snap = built.snapshot
    for chunk in snap.chunks:
        assert snap.records[chunk.doc_id].document.text[chunk.start : chunk.end] == chunk.text


def test_manifest_records_how_the_index_was_built(built: KnowledgeBase) -> None:
    manifest = json.loads((built.path / "manifest.json").read_text())
    assert manifest["format_version"] == 1
    assert manifest["encoder"] == {"name": "hashing-256", "dim": 256, "max_tokens": 256, "backend": "hashing"}
    assert manifest["chunking"]["max_tokens"] == 256 - 2
    assert manifest["counts"] == {"documents": 5, "chunks": len(built.snapshot)}


def test_saved_index_loads_with_the_same_results(built: KnowledgeBase, settings) -> None:
    again = KnowledgeBase(settings, HashingEncoder())
    query = "how many days before a meeting is the notice sent"
    first = [(h.chunk.id, round(h.score, 6)) for h in built.search(query)]
    assert [(h.chunk.id, round(h.score, 6)) for h in again.search(query)] == first


def test_unchanged_files_cost_no_embedding(settings, corpus: Path) -> None:
    encoder = CountingEncoder()
    kb = KnowledgeBase(settings, encoder)
    kb.ingest([corpus])
    assert encoder.encoded > 0
    encoder.encoded = 0
    report = KnowledgeBase(settings, encoder).ingest([corpus])
    assert set(statuses(report).values()) == {"unchanged"}
    assert encoder.encoded == 0


def test_changed_file_replaces_its_chunks(built: KnowledgeBase, corpus: Path, settings) -> None:
    path = corpus / "regulations" / "duty-rules.md"
    path.write_text(path.read_text().replace("three years", "five years"))
    report = built.ingest([corpus])
    assert statuses(report)["duty-rules.md"] == "replaced"
    assert statuses(report)["meeting-rules.md"] == "unchanged"
    texts = [c.text for c in KnowledgeBase(settings, HashingEncoder()).snapshot.chunks if c.doc_id == "regulations/duty-rules"]
    assert any("five years" in t for t in texts)
    assert not any("three years" in t for t in texts)


def test_an_edited_file_re_embeds_only_its_changed_chunks(settings, tmp_path: Path) -> None:
    from tests.conftest import write

    paragraphs = [f"Article {n} The division {n} keeps register {n} of the archive for {n} years and reports it."
                  for n in range(1, 41)]
    path = write(tmp_path / "docs" / "long-rules.md", "# Long Rules\n\n" + "\n\n".join(paragraphs) + "\n")
    encoder = CountingEncoder()
    kb = KnowledgeBase(settings.replace(chunk_tokens=40, min_chunk_tokens=5), encoder)
    kb.ingest([tmp_path / "docs"])
    chunks = len(kb.snapshot)
    assert chunks >= 10
    encoder.encoded = 0
    path.write_text(path.read_text().replace("register 7 of", "register seven of"))
    assert statuses(kb.ingest([tmp_path / "docs"]))["long-rules.md"] == "replaced"
    assert 1 <= encoder.encoded <= 2  # the chunk that changed (and at most its neighbour), not all of them
    fresh = KnowledgeBase(settings.replace(index=tmp_path / "fresh", chunk_tokens=40, min_chunk_tokens=5),
                          HashingEncoder())
    fresh.ingest([tmp_path / "docs"])
    assert np.allclose(kb.snapshot.vectors, fresh.snapshot.vectors, atol=1e-6)  # the same vectors as a full ingest


def test_remove_deletes_a_document_and_its_vectors(built: KnowledgeBase, settings) -> None:
    before = len(built.snapshot)
    gone = built.remove("minutes/2024-04-18-flood")
    again = KnowledgeBase(settings, HashingEncoder())
    assert "minutes/2024-04-18-flood" not in again.snapshot.records
    assert len(again.snapshot) == before - gone.chunks
    assert len(again.snapshot.dense) == len(again.snapshot)
    with pytest.raises(KbError, match="no document 'nope'"):
        built.remove("nope")


def test_prune_drops_documents_whose_files_are_gone(built: KnowledgeBase, corpus: Path) -> None:
    (corpus / "minutes" / "2024-04-18-flood.md").unlink()
    report = built.ingest([corpus])
    assert "minutes/2024-04-18-flood" in built.snapshot.records  # no prune: kept
    report = built.ingest([corpus], prune=True)
    assert [r.status for r in report.results if r.status == "removed"] == ["removed"]
    assert "minutes/2024-04-18-flood" not in built.snapshot.records


def test_bad_files_fail_alone_and_lose_nothing(built: KnowledgeBase, tmp_path: Path) -> None:
    before = {r.document.doc_id for r in built.documents()}
    bad = tmp_path / "bad"
    (bad / "empty.md").parent.mkdir(parents=True)
    (bad / "empty.md").write_bytes(b"")
    (bad / "blob.txt").write_bytes(bytes(range(256)) * 8)
    (bad / "sheet.xlsx").write_bytes(b"PK\x03\x04")
    (bad / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    write(bad / "good.md", "# A good note\n\nArticle 1 The archive room opens at nine in the morning.\n")
    report = built.ingest([bad])
    result = statuses(report)
    assert result == {"blob.txt": "failed", "broken.pdf": "failed", "empty.md": "failed",
                      "good.md": "added", "sheet.xlsx": "failed"}
    reasons = {Path(r.path).name: r.reason for r in report.failed}
    assert "empty" in reasons["empty.md"]
    assert "binary" in reasons["blob.txt"]
    assert ".xlsx" in reasons["sheet.xlsx"]
    assert before | {"good"} == {r.document.doc_id for r in built.documents()}


def test_missing_path_is_reported(kb: KnowledgeBase, tmp_path: Path) -> None:
    report = kb.ingest([tmp_path / "nowhere"])
    assert [(r.status, r.reason) for r in report.results] == [("failed", "no such file or folder")]


def test_same_document_id_from_two_files_is_refused(kb: KnowledgeBase, tmp_path: Path) -> None:
    write(tmp_path / "c" / "rules.md", "# Rules\n\nArticle 1 One rule about seals and their custody.\n")
    write(tmp_path / "c" / "rules.txt", "Rules\n\nArticle 1 Another rule about archives and their custody.\n")
    report = kb.ingest([tmp_path / "c"])
    assert [r.status for r in report.results] == ["added", "failed"]
    assert "already taken" in report.failed[0].reason


def test_a_file_from_another_folder_does_not_replace_a_stored_document(built: KnowledgeBase, tmp_path: Path) -> None:
    # Same path under another root, same document id: the stored one must survive.
    write(tmp_path / "uploads" / "regulations" / "meeting-rules.md", "# Copy\n\nArticle 1 An unrelated rule about seals.\n")
    before = {r.document.doc_id: r.document.source for r in built.documents()}
    report = built.ingest([tmp_path / "uploads"])
    assert [r.status for r in report.results] == ["failed"]
    assert "already taken" in report.failed[0].reason and "kb remove regulations/meeting-rules" in report.failed[0].reason
    assert {r.document.doc_id: r.document.source for r in built.documents()} == before


def test_a_moved_file_replaces_its_document(built: KnowledgeBase, corpus: Path, tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    corpus.rename(moved)
    report = built.ingest([moved])
    assert not report.failed
    assert all(r.document.source.startswith(str(moved.resolve())) for r in built.documents())


def test_index_built_with_another_encoder_is_refused(built: KnowledgeBase, settings) -> None:
    other = KnowledgeBase(settings, HashingEncoder(dim=64))
    with pytest.raises(IndexMismatchError, match=r"built with encoder hashing-256 \(256 d\).*hashing-64.*kb ingest --rebuild"):
        other.search("meeting notice")


def test_rebuild_reencodes_every_known_source(built: KnowledgeBase, settings) -> None:
    other = KnowledgeBase(settings, HashingEncoder(dim=64))
    report = other.ingest([], rebuild=True)
    assert report.count("added") == 5
    assert other.manifest()["encoder"]["name"] == "hashing-64"
    assert other.search("meeting notice")[0].chunk.doc_id == "regulations/meeting-rules"


def test_a_write_keeps_one_previous_generation(built: KnowledgeBase, corpus: Path) -> None:
    for n in range(3):
        write(corpus / "minutes" / f"note-{n}.md", f"# Note {n}\n\nThe archive room opens at {n + 8} o'clock.\n")
        built.ingest([corpus])
    generations = sorted(p.name for p in built.path.glob("gen-*"))
    assert len(generations) == 2
    assert built.manifest()["generation"] == generations[-1]


def test_a_generation_left_without_its_manifest_switch_is_replaced(built: KnowledgeBase, corpus: Path) -> None:
    # A write killed after renaming its generation into place but before switching the manifest.
    current = built.manifest()["generation"]
    orphan = built.path / f"gen-{int(current.split('-')[1]) + 1:06d}"
    orphan.mkdir()
    (orphan / "documents.jsonl").write_text("half a write\n", encoding="utf-8")
    write(corpus / "minutes" / "note.md", "# Note\n\nThe archive room opens at eight o'clock.\n")
    report = built.ingest([corpus])
    assert not report.failed
    assert built.manifest()["generation"] != current
    assert "half a write" not in (built.path / built.manifest()["generation"] / "documents.jsonl").read_text()
    assert sorted(p.name for p in built.path.glob("gen-*")) == sorted([current, built.manifest()["generation"]])
    assert "minutes/note" in {r.document.doc_id for r in built.documents()}


def test_reencode_swaps_the_encoder_and_keeps_documents_chunks_and_bm25(built: KnowledgeBase, settings) -> None:
    chunks = [c.id for c in built.snapshot.chunks]
    generation = built.manifest()["generation"]
    assert built.reencode(HashingEncoder(dim=64)) == len(chunks)
    manifest = built.manifest()
    assert manifest["encoder"] == {"name": "hashing-64", "dim": 64, "max_tokens": 256, "backend": "hashing"}
    assert manifest["generation"] != generation
    again = KnowledgeBase(settings, HashingEncoder(dim=64))
    assert [c.id for c in again.snapshot.chunks] == chunks
    assert again.snapshot.vectors.shape == (len(chunks), 64)
    assert again.search("meeting notice")[0].chunk.doc_id == "regulations/meeting-rules"
    with pytest.raises(IndexMismatchError, match="built with encoder hashing-64"):
        KnowledgeBase(settings, HashingEncoder()).search("meeting notice")


def test_reencode_refuses_an_encoder_with_another_window(built: KnowledgeBase) -> None:
    before = built.manifest()
    with pytest.raises(IndexMismatchError, match=r"hashing-256 reads 128 tokens, the index .* was chunked for 256: "
                                                 r"set KB_MODEL to it and run `kb ingest --rebuild`"):
        built.reencode(HashingEncoder(max_tokens=128))
    assert built.manifest() == before


def test_reencode_needs_an_index(kb: KnowledgeBase) -> None:
    with pytest.raises(KbError, match=r"no index at .* to re-encode: run `kb ingest PATH...` first"):
        kb.reencode(HashingEncoder(dim=64))


class PathEncoder(HashingEncoder):
    """A hashing encoder that claims to live in a model directory, like a tuned model."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.name = path.name


def test_same_named_models_in_different_directories_do_not_match(settings: Settings, corpus: Path, tmp_path: Path) -> None:
    KnowledgeBase(settings, PathEncoder(tmp_path / "a" / "tuned")).ingest([corpus])
    other = KnowledgeBase(settings, PathEncoder(tmp_path / "b" / "tuned"))
    with pytest.raises(IndexMismatchError, match=r"built with encoder tuned at .*a/tuned \(256 d\), but the settings "
                                                 r"ask for tuned at .*b/tuned: .*unset KB_MODEL to use the model"):
        other.search("meeting")


def test_a_vanished_tuned_model_is_named_with_the_fix(settings: Settings, corpus: Path, tmp_path: Path) -> None:
    KnowledgeBase(settings, PathEncoder(tmp_path / "gone" / "tuned")).ingest([corpus])
    default = KnowledgeBase(Settings(index=settings.index))
    with pytest.raises(IndexMismatchError, match=r"built with the model at .*gone/tuned, which is gone: put it back, "
                                                 r"or .*KB_MODEL=all-MiniLM-L6-v2 kb ingest --rebuild"):
        default.encoder


def test_the_packaged_model_can_be_named() -> None:
    assert make_encoder("all-MiniLM-L6-v2").path == make_encoder("").path


@pytest.mark.parametrize(("files", "window"), [
    ({"sentence_bert_config.json": {"max_seq_length": 128}, "tokenizer_config.json": {"model_max_length": 512}}, 128),
    ({"tokenizer_config.json": {"model_max_length": 200}}, 200),  # sentence-transformers 6 saves it here only
    ({"tokenizer_config.json": {"model_max_length": 1000000000000000019884624838656}}, 256),  # "no limit"
])
def test_a_model_directory_gives_its_window(tmp_path: Path, files: dict, window: int) -> None:
    from kb.encoder import SentenceTransformerEncoder

    (tmp_path / "config.json").write_text("{}")
    for name, body in files.items():
        (tmp_path / name).write_text(json.dumps(body))
    assert SentenceTransformerEncoder(tmp_path).max_tokens == window


def test_stored_reads_documents_and_chunks_without_loading_the_index(built: KnowledgeBase, settings) -> None:
    fresh = KnowledgeBase(settings, HashingEncoder())
    records, chunks = fresh.stored()
    assert fresh._shared.snapshot is None  # nothing but the records was read
    assert set(records) == set(built.snapshot.records)
    assert [c.id for c in chunks] == [c.id for c in built.snapshot.chunks]
    assert KnowledgeBase(settings.replace(index=settings.index.parent / "none"), HashingEncoder()).stored() == ({}, [])
