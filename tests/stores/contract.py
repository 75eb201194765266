"""What every ChunkStore promises, whichever backend holds the chunks.

A backend's test module subclasses ChunkStoreContract and gives ``make_store``; every test
here then runs on it. The data are small and synthetic: random unit vectors and short texts,
each with a word no other chunk holds, so the expected results are known without a model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kb.stores import MISSING, ChunkMeta, ChunkRows, ChunkStore, Ranking, StoreFilter

DIM = 8
N = 24  # chunks, three to a document
ANIMALS = ("zebra walrus otter badger falcon heron lynx marten osprey puffin quokka raven salmon tapir "
           "urchin vulture weasel yak bison cobra dingo egret ferret gecko").split()
FILLER = "budget archive seal ledger".split()
DOC_TYPES = ("regulation", "document", "minutes", "other")
STATUSES = ("in_force", "superseded", "repealed")


def doc_meta(d: int) -> ChunkMeta:
    """Document d's metadata: types, statuses and levels cycle; doc0 is undated; docs 1, 5 and 6 have groups."""
    groups = {1: ("finance",), 5: ("finance",), 6: ("hr", "legal")}.get(d, ())
    return ChunkMeta(f"doc{d}", DOC_TYPES[d % 4], STATUSES[d % 3], None if d == 0 else f"{2017 + d}-0{1 + d}-15",
                     d % 4, groups)


def text_of(i: int) -> str:
    """Chunk i: "office", its own animal, and a filler of its own length, so no two BM25 scores tie."""
    filler = " ".join(FILLER[j % len(FILLER)] for j in range(i))
    return f"office {ANIMALS[i]} notice {filler}".strip()


def unit_vectors(n: int, seed: int, dim: int = DIM) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def corpus(dim: int = DIM) -> ChunkRows:
    ids = np.arange(N, dtype=np.int64) * 1_000_003 + 7  # sparse ids, as vector_id gives
    return ChunkRows(ids, tuple(text_of(i) for i in range(N)), unit_vectors(N, 0, dim),
                     tuple(doc_meta(i // 3) for i in range(N)))


def visible(meta: ChunkMeta, where: StoreFilter) -> bool:
    """The filter's meaning, written out plainly: what each backend must compute."""
    dated = meta.date is not None
    return all((
        not where.types or meta.doc_type in where.types,
        not where.statuses or meta.status in where.statuses,
        not where.doc_ids or meta.doc_id in where.doc_ids,
        meta.doc_id not in where.exclude_doc_ids,
        not where.date_from or (dated and meta.date >= where.date_from),
        not where.date_to or (dated and meta.date <= where.date_to),
        where.max_level is None or meta.level <= where.max_level,
        where.groups is None or not meta.groups or bool(set(meta.groups) & set(where.groups)),
    ))


FILTERS = {
    "type": StoreFilter(types=("minutes",)),
    "statuses": StoreFilter(statuses=("repealed", "superseded")),
    "doc_ids": StoreFilter(doc_ids=("doc1", "doc3")),
    "exclude_doc_ids": StoreFilter(exclude_doc_ids=("doc0", "doc2")),
    "date_from": StoreFilter(date_from="2021-01-01"),
    "date_to": StoreFilter(date_to="2020-12-31"),
    "date_range": StoreFilter(date_from="2019-01-01", date_to="2021-12-31"),
    "max_level_1": StoreFilter(max_level=1),
    "max_level_0": StoreFilter(max_level=0),
    "no_groups": StoreFilter(groups=()),
    "group_finance": StoreFilter(groups=("finance",)),
    "group_legal": StoreFilter(groups=("legal", "nobody")),
    "combined": StoreFilter(types=("regulation", "document", "minutes"), max_level=2, groups=("finance",),
                            date_from="2018-01-01"),
}


def row_ids(ranking: Ranking, i: int = 0) -> list[int]:
    return ranking.row(i)[0].tolist()


class ChunkStoreContract:
    """The tests every backend passes. Subclasses implement ``make_store``."""

    def make_store(self, tmp_path: Path, dim: int) -> ChunkStore:
        raise NotImplementedError

    @pytest.fixture
    def store(self, tmp_path: Path):
        store = self.make_store(tmp_path, DIM)
        yield store
        store.close()

    @pytest.fixture
    def filled(self, store: ChunkStore) -> ChunkStore:
        store.add(corpus())
        return store

    def test_is_a_chunk_store(self, store: ChunkStore) -> None:
        assert isinstance(store, ChunkStore) and store.dim == DIM

    def test_add_count_and_fetch(self, filled: ChunkStore) -> None:
        rows = corpus()
        assert filled.count() == N
        asked = np.array([rows.ids[5], 123, rows.ids[0]], dtype=np.int64)  # 123 is not stored
        got = filled.fetch(asked)
        assert [c.id for c in got] == [rows.ids[5], rows.ids[0]]
        assert [c.text for c in got] == [rows.texts[5], rows.texts[0]]
        assert [c.meta for c in got] == [rows.metas[5], rows.metas[0]]
        assert got[1].meta.date is None and got[0].meta.date == "2018-02-15"
        np.testing.assert_allclose(np.stack([c.vector for c in got]), rows.vectors[[5, 0]], atol=1e-6)
        assert filled.fetch(np.zeros(0, dtype=np.int64)) == []

    def test_adding_an_id_again_replaces_the_chunk(self, filled: ChunkStore) -> None:
        rows = corpus()
        vector = unit_vectors(1, 99)
        filled.add(ChunkRows(rows.ids[:1], ("office narwhal",), vector, (ChunkMeta("doc9", level=1),)))
        assert filled.count() == N
        (chunk,) = filled.fetch(rows.ids[:1])
        assert chunk.text == "office narwhal" and chunk.meta == ChunkMeta("doc9", level=1)
        assert row_ids(filled.lexical_search(["narwhal"], 3)) == [rows.ids[0]]
        assert row_ids(filled.lexical_search([ANIMALS[0]], 3)) == []
        assert row_ids(filled.dense_search(vector, 1)) == [rows.ids[0]]

    def test_remove_docs(self, filled: ChunkStore) -> None:
        rows = corpus()
        filled.remove_docs(["doc0", "doc2", "no such doc"])
        assert filled.count() == N - 6
        gone = set(rows.ids[[0, 1, 2, 6, 7, 8]].tolist())
        assert filled.fetch(np.array(sorted(gone), dtype=np.int64)) == []
        found = filled.dense_search(rows.vectors, N)
        assert all(set(row_ids(found, i)) == set(rows.ids.tolist()) - gone for i in range(N))
        assert set(row_ids(filled.lexical_search(["office"], N))) == set(rows.ids.tolist()) - gone
        filled.remove_docs([])
        assert filled.count() == N - 6

    def test_dense_order_is_exact_inner_product_order(self, filled: ChunkStore) -> None:
        rows = corpus()
        queries = unit_vectors(5, 1)
        ranking = filled.dense_search(queries, 10)
        assert ranking.ids.shape == ranking.scores.shape == (5, 10)
        exact = queries @ rows.vectors.T
        for i in range(5):
            order = np.argsort(-exact[i])[:10]
            assert row_ids(ranking, i) == rows.ids[order].tolist()
            np.testing.assert_allclose(ranking.scores[i], exact[i][order], atol=1e-5)

    def test_k_larger_than_the_store(self, filled: ChunkStore) -> None:
        ranking = filled.dense_search(unit_vectors(2, 1), N + 10)
        assert ranking.ids.shape == (2, N + 10)
        assert (ranking.ids[:, :N] != MISSING).all() and (ranking.ids[:, N:] == MISSING).all()
        assert np.isneginf(ranking.scores[:, N:]).all()
        lexical = filled.lexical_search(["office"], N + 10)
        assert len(row_ids(lexical)) == N and lexical.ids.shape == (1, N + 10)

    def test_lexical_search_finds_the_chunk_holding_a_rare_word(self, filled: ChunkStore) -> None:
        rows = corpus()
        ranking = filled.lexical_search(["Where are the quokkas?", "OTTER notice"], 5)
        assert row_ids(ranking, 0) == [rows.ids[ANIMALS.index("quokka")]]  # stemmed, stop words dropped
        ids, scores = ranking.row(1)
        assert ids[0] == rows.ids[ANIMALS.index("otter")] and len(ids) == 5  # "notice" is in every chunk
        assert (scores > 0).all() and (np.diff(scores) <= 0).all()

    def test_lexical_search_returns_only_chunks_sharing_a_term(self, filled: ChunkStore) -> None:
        ranking = filled.lexical_search(["xylophone", "", "the of and"], 5)
        assert (ranking.ids == MISSING).all() and ranking.ids.shape == (3, 5)

    @pytest.mark.parametrize("name", list(FILTERS))
    def test_a_filter_restricts_before_ranking(self, filled: ChunkStore, name: str) -> None:
        rows, where = corpus(), FILTERS[name]
        allowed = [i for i in range(N) if visible(rows.metas[i], where)]
        hidden = [i for i in range(N) if i not in allowed]
        assert allowed and hidden, "a filter case should let some chunks through and hide others"
        want = set(rows.ids[allowed].tolist())
        # k = N: exactly the allowed chunks, all of them.
        assert set(row_ids(filled.dense_search(rows.vectors[:1], N, where))) == want
        assert set(row_ids(filled.lexical_search(["office"], N, where))) == want
        # k = 1, the query is a hidden chunk itself: the best allowed chunk still comes back.
        query = rows.vectors[hidden[0]][None, :]
        best = allowed[int(np.argmax(rows.vectors[allowed] @ query[0]))]
        assert row_ids(filled.dense_search(query, 1, where)) == [rows.ids[best]]
        top = row_ids(filled.lexical_search([f"office {ANIMALS[hidden[0]]}"], 1, where))
        assert top == row_ids(filled.lexical_search(["office"], 1, where)) and top[0] in want

    def test_level_and_group_filters_hide_a_classified_chunk(self, filled: ChunkStore) -> None:
        secret_id = np.array([9_999_999], dtype=np.int64)
        vector = unit_vectors(1, 7)
        filled.add(ChunkRows(secret_id, ("office kraken sighting",), vector,
                             (ChunkMeta("secret-minutes", "minutes", level=3, groups=("security",)),)))
        for where in (StoreFilter(max_level=2), StoreFilter(max_level=3, groups=("finance",)),
                      StoreFilter(max_level=2, groups=("security",)), StoreFilter(groups=())):
            assert row_ids(filled.lexical_search(["kraken"], 5, where)) == [], where
            assert int(secret_id[0]) not in row_ids(filled.dense_search(vector, N + 1, where)), where
        cleared = StoreFilter(max_level=3, groups=("security", "hr"))
        assert row_ids(filled.lexical_search(["kraken"], 5, cleared)) == secret_id.tolist()
        assert row_ids(filled.dense_search(vector, 1, cleared)) == secret_id.tolist()

    def test_a_filter_that_allows_nothing_returns_nothing(self, filled: ChunkStore) -> None:
        where = StoreFilter(doc_ids=("nope",))
        assert (filled.dense_search(unit_vectors(2, 1), 3, where).ids == MISSING).all()
        assert (filled.lexical_search(["office"], 3, where).ids == MISSING).all()

    def test_document_ids_with_quotes_are_taken_literally(self, store: ChunkStore) -> None:
        odd = ['a"b', "c'd", "e\\f", 'x" or doc_id != "', "汉字/通知.md"]
        ids = np.arange(len(odd), dtype=np.int64)
        store.add(ChunkRows(ids, tuple(f"office {ANIMALS[i]}" for i in range(len(odd))), unit_vectors(len(odd), 3),
                            tuple(ChunkMeta(d, groups=(d,)) for d in odd)))
        for i, d in enumerate(odd):
            assert row_ids(store.lexical_search(["office"], 9, StoreFilter(doc_ids=(d,)))) == [i]
            assert row_ids(store.dense_search(unit_vectors(1, 4), 9, StoreFilter(groups=(d,)))) == [i]
        store.remove_docs(['x" or doc_id != "'])
        assert store.count() == len(odd) - 1

    def test_batched_queries_equal_single_queries(self, filled: ChunkStore) -> None:
        queries = unit_vectors(4, 5)
        texts = ["office zebra", "ledger budget", "heron puffin notice"]
        for where in (None, FILTERS["combined"]):
            dense = filled.dense_search(queries, 6, where)
            lexical = filled.lexical_search(texts, 6, where)
            for i in range(len(queries)):
                one = filled.dense_search(queries[i : i + 1], 6, where)
                assert one.ids[0].tolist() == dense.ids[i].tolist()
                np.testing.assert_allclose(one.scores[0], dense.scores[i], rtol=1e-6)
            for i, text in enumerate(texts):
                one = filled.lexical_search([text], 6, where)
                assert one.ids[0].tolist() == lexical.ids[i].tolist()
                np.testing.assert_allclose(one.scores[0], lexical.scores[i], rtol=1e-6)

    def test_an_empty_store_returns_nothing(self, store: ChunkStore) -> None:
        assert store.count() == 0
        assert (store.dense_search(unit_vectors(2, 1), 4).ids == MISSING).all()
        assert (store.lexical_search(["office"], 4, StoreFilter(max_level=1)).ids == MISSING).all()
        assert store.fetch(np.array([1, 2], dtype=np.int64)) == []
        store.remove_docs(["doc0"])
        assert store.count() == 0

    def test_bad_input_raises_a_clear_error(self, filled: ChunkStore) -> None:
        rows = corpus(dim=DIM - 1)
        with pytest.raises(ValueError, match=f"vectors have dimension {DIM - 1}, the store holds dimension {DIM}"):
            filled.add(rows)
        with pytest.raises(ValueError, match=f"queries have dimension {DIM + 1}, the store holds dimension {DIM}"):
            filled.dense_search(unit_vectors(1, 1, DIM + 1), 3)
        with pytest.raises(ValueError, match="queries must be a 2-d float32 numpy array"):
            filled.dense_search(unit_vectors(1, 1).astype(np.float64), 3)
        with pytest.raises(ValueError, match="k must be a positive int, not 0"):
            filled.dense_search(unit_vectors(1, 1), 0)
        with pytest.raises(ValueError, match="lexical queries must be a list of strings"):
            filled.lexical_search("office", 3)
        with pytest.raises(ValueError, match="doc_ids must be a list of document ids"):
            filled.remove_docs("doc0")
        assert filled.count() == N
