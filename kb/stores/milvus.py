"""The distributed store: one Milvus collection, or a milvus-lite file for tests and trials.

The same code serves a Milvus standalone or cluster (``uri="http://host:19530"``) and
milvus-lite, the embedded engine from PyPI (``uri`` a local path ending in ``.db``).

Words are ranked by Milvus' own BM25 (a schema function over a text field): the server
keeps the postings and statistics as chunks come and go. The field it reads holds the
chunk's terms as the project's tokenizer makes them (kb.lexical: stemming, stop words,
Chinese bigrams, word pairs), joined by spaces, so both stores rank by the same terms.
Milvus scores carry BM25's (k1 + 1) factor, which bm25s leaves out; it is divided out
here so the two stores give the same scores.

Filters become Milvus filter expressions over scalar fields (``expression``), evaluated
by the server before ranking. Values are quoted and escaped (``quote``): milvus-lite 3.2
does not take expression templates (``filter_params``).

Where milvus-lite 3.2 differs from the local store (tested; eval/README.md, "Stores"): BM25
scores are the same as bm25s's without a filter; under a filter, rows not yet flushed are
scored with IDF and mean length of the rows that pass the filter, flushed rows with their
segment's statistics, which still count rows deleted since. After one ``flush`` and no
deletes, filtered scores are the same as bm25s's too. Dense results are always the same.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from kb.errors import IndexMismatchError
from kb.lexical import LexicalIndex, Tokenizer, with_pairs
from kb.stores import (
    ChunkMeta,
    ChunkRows,
    LexicalParams,
    Ranking,
    StoredChunk,
    StoreFilter,
    check_k,
    check_texts,
    check_vectors,
)

FORMAT = 1
MANIFEST_PROPERTY = "kb.store"
MAX_TOPK = 16384  # Milvus' limit on k
MAX_TEXT = 65535  # bytes of a VARCHAR field
MAX_SHORT = 512  # bytes of a doc_id, type, status or date
MAX_GROUPS, MAX_GROUP = 64, 256  # groups per chunk, bytes of a group name
BATCH = 512  # rows per upsert request, well inside gRPC's message limit
_META_FIELDS = ["text", "doc_id", "doc_type", "status", "date", "level", "groups"]
# A pair of terms is one token to Milvus: joined by a word character, as milvus-lite's
# standard analyzer splits on anything else.
_PAIR_JOIN = "_"


def quote(value: str) -> str:
    """``value`` as a Milvus string literal: double-quoted, with backslash, quote and line breaks escaped.

    Raises ValueError for other control characters, which a filter has no use for.
    """
    if not isinstance(value, str):
        raise ValueError(f"a filter value must be a string, not {value!r}")
    if any(ord(c) < 0x20 and c not in "\n\r\t" for c in value):
        raise ValueError(f"filter value {value!r} holds a control character")
    escaped = (value.replace("\\", "\\\\").replace('"', '\\"')
               .replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t"))
    return f'"{escaped}"'


def _strings(values: Sequence[str]) -> str:
    return "[" + ", ".join(quote(v) for v in values) + "]"


def expression(where: StoreFilter | None) -> str:
    """The Milvus filter expression of ``where``; "" when it lets everything through."""
    if where is None or where.empty():
        return ""
    parts = []
    if where.types:
        parts.append(f"doc_type in {_strings(where.types)}")
    if where.statuses:
        parts.append(f"status in {_strings(where.statuses)}")
    if where.doc_ids:
        parts.append(f"doc_id in {_strings(where.doc_ids)}")
    if where.exclude_doc_ids:
        parts.append(f"doc_id not in {_strings(where.exclude_doc_ids)}")
    if where.date_from or where.date_to:
        parts.append('date != ""')  # an undated chunk is left out when a bound is given
    if where.date_from:
        parts.append(f"date >= {quote(where.date_from)}")
    if where.date_to:
        parts.append(f"date <= {quote(where.date_to)}")
    if where.max_level is not None:
        parts.append(f"level <= {int(where.max_level)}")
    if where.groups is not None:
        ungrouped = "array_length(groups) == 0"
        parts.append(f"({ungrouped} or array_contains_any(groups, {_strings(where.groups)}))"
                     if where.groups else ungrouped)
    return " and ".join(parts)


class MilvusStore:
    """Chunks in a Milvus collection: dense vectors (inner product), BM25 and the filter's fields.

    The constructor connects nothing; the first call opens the collection, creating it if it
    does not exist, and checks that an existing one was made with the same dimension and
    BM25 parameters.

    Args:
        uri: A Milvus server ("http://127.0.0.1:19530") or a milvus-lite file ("path/kb.db").
        dim: Dimension of the vectors.
        collection: Name of the collection.
        token: Credentials for a server ("user:password" or an API key); "" for none.
        lexical: How BM25 is built and queried (k1 must be above 0 for Milvus).
        dense_index: Milvus index type of the vectors: "FLAT" (exact) or e.g. "HNSW".
        dense_index_params: Its build parameters ({"M": 16, "efConstruction": 200} for HNSW).
    """

    def __init__(
        self, uri: str, dim: int, collection: str = "kb_chunks", token: str = "",
        lexical: LexicalParams = LexicalParams(), dense_index: str = "FLAT", dense_index_params: dict | None = None,
    ) -> None:
        if dim < 1:
            raise ValueError(f"dim must be positive, not {dim}")
        if lexical.k1 <= 0:
            raise ValueError(f"Milvus' BM25 needs k1 above 0, not {lexical.k1}")
        self.uri, self.dim, self.collection, self.lexical = str(uri), int(dim), collection, lexical
        self.dense_index, self.dense_index_params = dense_index, dict(dense_index_params or {})
        self._token = token
        self._client = None
        self._tokenize = Tokenizer()
        self._queries = LexicalIndex(None, 0, **lexical.build)  # query terms only; it scores nothing

    @property
    def lite(self) -> bool:
        """Whether the URI names a milvus-lite file rather than a server (pymilvus' own rule)."""
        return self.uri.endswith(".db")

    def count(self) -> int:
        rows = self._db().query(self.collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def add(self, rows: ChunkRows) -> None:
        check_vectors(rows.vectors, self.dim)
        entities = [self._entity(*row) for row in zip(rows.ids.tolist(), rows.texts, rows.vectors, rows.metas)]
        db = self._db()
        for start in range(0, len(entities), BATCH):
            db.upsert(self.collection, entities[start : start + BATCH])

    def remove_docs(self, doc_ids: Sequence[str]) -> None:
        if isinstance(doc_ids, str):
            raise ValueError("doc_ids must be a list of document ids, not one string")
        doc_ids = list(dict.fromkeys(doc_ids))
        db = self._db()
        for start in range(0, len(doc_ids), BATCH):
            db.delete(self.collection, filter=f"doc_id in {_strings(doc_ids[start : start + BATCH])}")

    def dense_search(self, queries: np.ndarray, k: int, where: StoreFilter | None = None) -> Ranking:
        check_vectors(queries, self.dim, "queries")
        self._check_k(k)
        if not len(queries):
            return Ranking.empty(0, k)
        results = self._db().search(
            self.collection, data=[q.tolist() for q in queries], anns_field="dense", limit=k,
            filter=expression(where), output_fields=["id"], search_params={"metric_type": "IP"},
        )
        return Ranking.from_rows([([h["id"] for h in hits], [h["distance"] for h in hits]) for hits in results], k)

    def lexical_search(self, queries: Sequence[str], k: int, where: StoreFilter | None = None) -> Ranking:
        check_texts(queries)
        self._check_k(k)
        terms = [self._query_terms(q) for q in queries]
        asked = [i for i, t in enumerate(terms) if t]  # a query without terms matches nothing
        rows: list[tuple[list, list]] = [([], []) for _ in queries]
        if asked:
            results = self._db().search(
                self.collection, data=[terms[i] for i in asked], anns_field="sparse", limit=k,
                filter=expression(where), output_fields=["id"], search_params={"metric_type": "BM25"},
            )
            # milvus-lite reports a BM25 score as a negative distance, a server as a positive
            # score; either way its size is the score, with (k1 + 1) to divide out.
            scale = 1.0 + self.lexical.k1
            for i, hits in zip(asked, results):
                rows[i] = ([h["id"] for h in hits], [abs(h["distance"]) / scale for h in hits])
        return Ranking.from_rows(rows, k)

    def fetch(self, ids: np.ndarray) -> list[StoredChunk]:
        wanted = [int(i) for i in np.asarray(ids, dtype=np.int64)]
        if not wanted:
            return []
        rows = self._db().get(self.collection, ids=wanted, output_fields=[*_META_FIELDS, "dense"])
        by_id = {int(r["id"]): r for r in rows}
        return [self._stored(by_id[i]) for i in wanted if i in by_id]

    def flush(self) -> None:
        """Seal what was added into segments: durable on a server, and indexed once rather than per search.

        Call it once at the end of an ingest, not after each batch: Milvus makes a segment per
        flush, and milvus-lite scores BM25 with each segment's own statistics. On milvus-lite a
        search over unflushed rows rebuilds their BM25 index, seconds at 10,000 chunks.
        """
        self._db().flush(self.collection)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def drop(self) -> None:
        """Delete the collection and everything in it."""
        db = self._db()
        db.drop_collection(self.collection)
        self.close()

    def _check_k(self, k: int) -> None:
        check_k(k)
        if k > MAX_TOPK:
            raise ValueError(f"k ({k}) is above Milvus' limit of {MAX_TOPK} results a query")

    def _manifest(self) -> dict:
        return {"format": FORMAT, "dim": self.dim, "lexical": self.lexical.build, "pair_join": _PAIR_JOIN}

    def _db(self):
        if self._client is None:
            from pymilvus import MilvusClient

            client = MilvusClient(uri=self.uri, token=self._token)
            try:
                if client.has_collection(self.collection):
                    self._check_collection(client)
                else:
                    self._create_collection(client)
                client.load_collection(self.collection)
            except BaseException:
                client.close()
                raise
            self._client = client
        return self._client

    def _check_collection(self, client) -> None:
        properties = client.describe_collection(self.collection).get("properties", {})
        found = json.loads(properties.get(MANIFEST_PROPERTY, "null") or "null")
        wanted = self._manifest()
        if found != wanted:
            raise IndexMismatchError(
                f"Milvus collection {self.collection!r} at {self.uri} was built with {found}, the settings ask for "
                f"{wanted}: migrate into a new collection, or drop this one and ingest again"
            )

    def _create_collection(self, client) -> None:
        from pymilvus import DataType, Function, FunctionType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT)
        # milvus-lite has only its "standard" analyzer, which splits on non-word characters: terms
        # are words and pairs are joined by "_", so it splits at the spaces as a server's does.
        analyzer = {"tokenizer": "standard" if self.lite else "whitespace"}
        schema.add_field("terms", DataType.VARCHAR, max_length=MAX_TEXT, enable_analyzer=True,
                         analyzer_params=analyzer)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=self.dim)
        for name in ("doc_id", "doc_type", "status", "date"):
            schema.add_field(name, DataType.VARCHAR, max_length=MAX_SHORT)
        schema.add_field("level", DataType.INT64)
        schema.add_field("groups", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=MAX_GROUPS,
                         max_length=MAX_GROUP)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"],
                                     output_field_names=["sparse"]))
        indexes = client.prepare_index_params()
        bm25 = {"bm25_k1": self.lexical.k1, "bm25_b": self.lexical.b}
        indexes.add_index(field_name="dense", index_type=self.dense_index, metric_type="IP",
                          params=self._index_params(self.dense_index_params))
        indexes.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                          params=self._index_params(bm25))
        client.create_collection(self.collection, schema=schema, consistency_level="Strong",
                                 properties={MANIFEST_PROPERTY: json.dumps(self._manifest())})
        # pymilvus polls a server every 0.5 s until an index is built; milvus-lite builds it
        # inside the call, so there is nothing to wait for (a second a collection in tests).
        client.create_index(self.collection, indexes, sync=not self.lite)

    def _index_params(self, params: dict) -> dict:
        """Index build parameters as the server reads them.

        pymilvus 3 sends each parameter as its own key; milvus-lite 3.2 reads only a "params"
        key holding them all and ignores the rest (bm25_k1 fell back to 1.5), so for milvus-lite
        they are nested under "params", the older wire form.
        """
        return {"params": params} if self.lite and params else params

    def _document_terms(self, text: str) -> str:
        terms = self._tokenize([text])[0]
        if self.lexical.bigrams:
            terms = with_pairs(terms, self.lexical.cjk_pairs)
        return " ".join(t.replace(" ", _PAIR_JOIN) for t in terms)

    def _query_terms(self, query: str) -> str:
        terms = self._queries.query_terms(query, self.lexical.query_stopwords)
        return " ".join(t.replace(" ", _PAIR_JOIN) for t in terms)

    def _entity(self, chunk_id: int, text: str, vector: np.ndarray, meta: ChunkMeta) -> dict:
        terms = self._document_terms(text)
        for name, value, limit in (("text", text, MAX_TEXT), ("terms", terms, MAX_TEXT),
                                   ("doc_id", meta.doc_id, MAX_SHORT), ("doc_type", meta.doc_type, MAX_SHORT),
                                   ("status", meta.status, MAX_SHORT), ("date", meta.date or "", MAX_SHORT)):
            if len(value.encode("utf-8")) > limit:
                raise ValueError(f"chunk {chunk_id}: its {name} is {len(value.encode('utf-8'))} bytes, "
                                 f"Milvus holds at most {limit}: split the chunk smaller")
        if len(meta.groups) > MAX_GROUPS or any(len(g.encode("utf-8")) > MAX_GROUP for g in meta.groups):
            raise ValueError(f"chunk {chunk_id}: at most {MAX_GROUPS} groups of {MAX_GROUP} bytes each, "
                             f"got {meta.groups!r}")
        return {"id": chunk_id, "text": text, "terms": terms, "dense": vector.tolist(), "doc_id": meta.doc_id,
                "doc_type": meta.doc_type, "status": meta.status, "date": meta.date or "", "level": meta.level,
                "groups": list(meta.groups)}

    @staticmethod
    def _stored(row: dict) -> StoredChunk:
        meta = ChunkMeta(row["doc_id"], row["doc_type"], row["status"], row["date"] or None, int(row["level"]),
                         tuple(row["groups"]))
        return StoredChunk(int(row["id"]), row["text"], meta, np.asarray(row["dense"], dtype=np.float32))
