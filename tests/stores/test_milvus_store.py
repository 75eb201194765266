"""The store contract on Milvus (milvus-lite, a file under tmp_path), its filter expressions, and
agreement with the local store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus", reason="pymilvus is not installed: pip install pymilvus milvus-lite")
pytest.importorskip("milvus_lite", reason="milvus-lite is not installed: pip install milvus-lite")

from kb.errors import IndexMismatchError  # noqa: E402
from kb.stores import ChunkMeta, ChunkRows, LexicalParams, StoreFilter  # noqa: E402
from kb.stores.local import LocalStore  # noqa: E402
from kb.stores.milvus import MilvusStore  # noqa: E402
from tests.stores.contract import DIM, FILTERS, N, ChunkStoreContract, corpus, unit_vectors  # noqa: E402

pytestmark = pytest.mark.milvus


class TestMilvusStore(ChunkStoreContract):
    def make_store(self, tmp_path: Path, dim: int) -> MilvusStore:
        return MilvusStore(str(tmp_path / "kb.db"), dim)


class TestMilvusStoreFlushed(TestMilvusStore):
    """The same, with the corpus flushed into a segment, so later writes replace and delete across segments."""

    @pytest.fixture
    def filled(self, store: MilvusStore) -> MilvusStore:
        store.add(corpus())
        store.flush()
        return store


def test_the_collection_persists_and_is_checked_on_reopening(tmp_path: Path) -> None:
    uri = str(tmp_path / "kb.db")
    store = MilvusStore(uri, DIM)
    store.add(corpus())
    before = store.lexical_search(["office zebra"], 5, FILTERS["combined"])
    store.close()
    again = MilvusStore(uri, DIM)
    assert again.count() == N
    after = again.lexical_search(["office zebra"], 5, FILTERS["combined"])
    assert after.ids.tolist() == before.ids.tolist()
    again.close()
    with pytest.raises(IndexMismatchError, match="'dim': 8.*'dim': 16.*drop this one and ingest again"):
        MilvusStore(uri, 16).count()
    with pytest.raises(IndexMismatchError, match="'k1': 1.5.*'k1': 0.5"):
        MilvusStore(uri, DIM, lexical=LexicalParams(k1=0.5)).count()


def test_milvus_limits_are_named() -> None:
    with pytest.raises(ValueError, match="Milvus' BM25 needs k1 above 0, not 0.0"):
        MilvusStore("unused.db", DIM, lexical=LexicalParams(k1=0.0))
    store = MilvusStore("unused.db", DIM)  # connects nothing until used
    with pytest.raises(ValueError, match="k \\(20000\\) is above Milvus' limit of 16384"):
        store.dense_search(unit_vectors(1, 1), 20000)


TUNED = LexicalParams(k1=0.5, b=0.6, bigrams=True, query_stopwords="extended")


@pytest.mark.parametrize("lexical", [LexicalParams(), TUNED], ids=["defaults", "tuned"])
def test_milvus_and_the_local_store_give_the_same_results(tmp_path: Path, lexical: LexicalParams) -> None:
    texts = ("Article 3 A meeting notice shall be sent at least three working days before the meeting.",
             "Article 4 Materials for the meeting shall reach the Meetings Division two working days before.",
             "The duty officer reports emergency information within thirty minutes.",
             "会议通知应当在会议召开三个工作日前发出。", "值班人员应当在三十分钟内报告紧急信息。",
             "Minutes of the meeting are drafted within two working days and signed by the chair.")
    n = len(texts)
    rows = ChunkRows(np.arange(n, dtype=np.int64) + 100, texts, unit_vectors(n, 11),
                     tuple(ChunkMeta(f"doc{i % 3}", level=i % 2) for i in range(n)))
    local, milvus = LocalStore(DIM, lexical), MilvusStore(str(tmp_path / "kb.db"), DIM, lexical=lexical)
    local.add(rows)
    milvus.add(rows)
    queries = ["How many working days before the meeting is the notice sent?", "会议通知", "emergency report",
               "what do the minutes say about the chair"]
    for where in (None, StoreFilter(max_level=0), StoreFilter(exclude_doc_ids=("doc1",))):
        a, b = local.lexical_search(queries, 4, where), milvus.lexical_search(queries, 4, where)
        assert a.ids.tolist() == b.ids.tolist()
        if where is None:
            # Under a filter milvus-lite scores unflushed rows with the statistics of those that pass
            # it (kb.stores.milvus), so only unfiltered scores are the same as bm25s's; see below.
            np.testing.assert_allclose(b.scores, a.scores, rtol=1e-4)
        vectors = unit_vectors(3, 12)
        a, b = local.dense_search(vectors, 4, where), milvus.dense_search(vectors, 4, where)
        assert a.ids.tolist() == b.ids.tolist()
        np.testing.assert_allclose(b.scores, a.scores, atol=1e-5)
    milvus.close()


def test_after_a_flush_filtered_bm25_scores_are_the_same_as_the_local_store(tmp_path: Path) -> None:
    rows = corpus()
    local, milvus = LocalStore(DIM, TUNED), MilvusStore(str(tmp_path / "kb.db"), DIM, lexical=TUNED)
    local.add(rows)
    milvus.add(rows)
    milvus.flush()
    queries = ["office zebra", "ledger budget notice", "archive seal"]
    for where in (None, *FILTERS.values()):
        a, b = local.lexical_search(queries, 5, where), milvus.lexical_search(queries, 5, where)
        assert a.ids.tolist() == b.ids.tolist(), where
        np.testing.assert_allclose(b.scores, a.scores, rtol=1e-4)
    milvus.close()
