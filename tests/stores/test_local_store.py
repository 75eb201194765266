"""The store contract on the local store, and its directory: save, load, atomic replace, manifest checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kb.errors import IndexDamagedError, IndexMismatchError
from kb.stores import LexicalParams, StoreFilter
from kb.stores.local import LocalStore
from tests.stores.contract import DIM, FILTERS, N, ChunkStoreContract, corpus, unit_vectors


class TestLocalStore(ChunkStoreContract):
    def make_store(self, tmp_path: Path, dim: int) -> LocalStore:
        return LocalStore(dim)


def test_save_and_load_give_the_same_results(tmp_path: Path) -> None:
    store = LocalStore(DIM, LexicalParams(k1=0.5, bigrams=True))
    store.add(corpus())
    store.remove_docs(["doc3"])
    store.save(tmp_path / "store")
    loaded = LocalStore.load(tmp_path / "store", dim=DIM)
    assert loaded.count() == N - 3 and loaded.lexical == store.lexical
    queries, texts = unit_vectors(3, 2), ["office zebra", "budget ledger notice"]
    for where in (None, FILTERS["combined"], StoreFilter(date_to="2020-12-31")):
        for a, b in ((store.dense_search(queries, 5, where), loaded.dense_search(queries, 5, where)),
                     (store.lexical_search(texts, 5, where), loaded.lexical_search(texts, 5, where))):
            assert a.ids.tolist() == b.ids.tolist()
            np.testing.assert_allclose(a.scores, b.scores, rtol=1e-6)
    ids = corpus().ids
    assert [(c.text, c.meta) for c in loaded.fetch(ids)] == [(c.text, c.meta) for c in store.fetch(ids)]


def test_save_replaces_the_directory_atomically(tmp_path: Path) -> None:
    store = LocalStore(DIM)
    store.add(corpus())
    store.save(tmp_path / "store")
    store.remove_docs(["doc0"])
    store.save(tmp_path / "store")
    assert LocalStore.load(tmp_path / "store").count() == N - 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]  # no temporary or old directory left
    manifest = json.loads((tmp_path / "store" / "manifest.json").read_text())
    assert manifest["count"] == N - 3 and manifest["dim"] == DIM and manifest["store"] == "local"


def test_a_failed_save_leaves_the_old_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStore(DIM)
    store.add(corpus())
    store.save(tmp_path / "store")
    store.remove_docs(["doc0"])

    def fail(self, path):
        raise OSError("disk full")

    monkeypatch.setattr("kb.lexical.LexicalIndex.save", fail)
    with pytest.raises(OSError, match="disk full"):
        store.save(tmp_path / "store")
    assert LocalStore.load(tmp_path / "store").count() == N
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


def test_load_checks_the_manifest(tmp_path: Path) -> None:
    store = LocalStore(DIM)
    store.add(corpus())
    store.save(tmp_path / "store")
    with pytest.raises(IndexMismatchError, match=f"store built with {DIM}-d vectors, the encoder gives 16-d"):
        LocalStore.load(tmp_path / "store", dim=16)
    manifest = tmp_path / "store" / "manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "count": N + 1}))
    with pytest.raises(IndexDamagedError, match=f"the manifest says {N + 1} chunks"):
        LocalStore.load(tmp_path / "store")
    manifest.write_text(json.dumps({**data, "format": 99}))
    with pytest.raises(IndexMismatchError, match="holds store format 99"):
        LocalStore.load(tmp_path / "store")
    manifest.unlink()
    with pytest.raises(IndexDamagedError, match="manifest.json cannot be read"):
        LocalStore.load(tmp_path / "store")


def test_load_with_other_bm25_parameters_rebuilds_bm25(tmp_path: Path) -> None:
    store = LocalStore(DIM)
    store.add(corpus())
    store.save(tmp_path / "store")
    wanted = LexicalParams(k1=0.5, b=0.5)
    loaded = LocalStore.load(tmp_path / "store", lexical=wanted)
    fresh = LocalStore(DIM, wanted)
    fresh.add(corpus())
    a, b = loaded.lexical_search(["office otter"], 5), fresh.lexical_search(["office otter"], 5)
    assert a.ids.tolist() == b.ids.tolist()
    np.testing.assert_allclose(a.scores, b.scores, rtol=1e-6)
