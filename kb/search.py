"""Hybrid search over a snapshot: BM25 and dense candidates, fused, then reranked; exact references first."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kb.config import Settings
from kb.encoder import Encoder
from kb.errors import QueryError
from kb.fusion import fuse, top_k
from kb.lexical import Tokenizer
from kb.readability import trust
from kb.references import parse_query_refs
from kb.snapshot import Filters, Snapshot
from kb.types import Hit

EXACT_BONUS = 0.1  # fused-score bonus of a named unit that does not go first
# Words that ask for a unit rather than about something in it ("what does Article 5 say").
_ASKING = "say says said state states provide provides require requires mean means content contents " \
          "text wording cover covers regarding tell show read full quote explain please see rule rules " \
          "regulation regulations document " \
          "是什么 什么 怎么 如何 哪些 规定 内容 是否 吗"


def check_query(query: str, settings: Settings) -> str:
    """The query stripped, or QueryError when it is empty or too long."""
    text = (query or "").strip()
    if not text:
        raise QueryError("the query is empty: type a question or some words to search for")
    if len(text) > settings.max_query_chars:
        raise QueryError(
            f"the query has {len(text)} characters, more than the limit of {settings.max_query_chars}: "
            "shorten it, or raise max_query_chars (KB_MAX_QUERY_CHARS)"
        )
    return text


@dataclass(frozen=True)
class SearchResult:
    """One search: the hits, best first, and the query's vector (so an answer need not encode it again)."""

    query: str
    hits: list[Hit]
    vector: np.ndarray | None = None


class Searcher:
    """Searches one snapshot with one encoder (and reranker); cheap to make, holds no model itself."""

    def __init__(self, snapshot: Snapshot, encoder: Encoder, settings: Settings, reranker=None) -> None:
        self.snapshot = snapshot
        self.encoder = encoder
        self.settings = settings
        self.reranker = reranker
        self._tokenize = Tokenizer()
        self._title_terms: dict[str, set[str]] = {}
        self._asking = set(self._tokenize([_ASKING])[0])

    def search(self, query: str, k: int | None = None, filters: Filters | None = None, rerank: bool = True) -> list[Hit]:
        """The ``k`` best chunks for ``query``: units it names exactly first, then by score."""
        return self.run(query, k, filters, rerank).hits

    def run(self, query: str, k: int | None = None, filters: Filters | None = None, rerank: bool = True) -> SearchResult:
        """Search, keeping the query's vector: fused candidates, the first ``rerank_depth`` reordered
        by the reranker (when there is one and ``rerank``)."""
        text = check_query(query, self.settings)
        k = k or self.settings.k
        snap = self.snapshot
        if len(snap) == 0:
            return SearchResult(text, [])
        mask = snap.mask(filters)
        if mask is not None and not mask.any():
            return SearchResult(text, [])
        qvec = self.encoder.encode([text])
        lexical = snap.lexical.scores(text, self.settings.query_stopwords)
        pool = max(self.settings.pool, k)
        lex_masked = lexical if mask is None else np.where(mask, lexical, -np.inf)
        lex_top = top_k(lex_masked, pool)
        lex_top = lex_top[np.isfinite(lex_masked[lex_top])]
        query_trust = self._trust(self.encoder, text)
        dense_top = np.zeros(0, dtype=np.int64)
        if query_trust > 0:  # a query the encoder cannot read brings no dense candidates
            allowed = None if mask is None else snap.vector_ids[mask]
            ids, _ = snap.dense.search(qvec, pool, allowed)
            dense_top = snap.positions(ids[0][ids[0] >= 0])
        exact, forced = self._exact(text, mask)
        cand = np.unique(np.concatenate([lex_top, dense_top, np.asarray(exact, dtype=np.int64)]))
        dense_c = snap.vectors[cand] @ qvec[0]
        lex_c = lexical[cand]
        stats = None
        if self.settings.fusion_norm == "zscore":
            stats = (*snap.dense_stats(qvec[0]), float(lexical.mean()), float(lexical.std()))
        fused = fuse(self.settings.fusion, dense_c, lex_c, self.settings.bm25_weight, stats,
                     self._dense_trust(query_trust, cand))
        fused = fused - self.settings.superseded_penalty * (~snap.in_force[cand])
        if exact and not forced:
            fused = fused + EXACT_BONUS * np.isin(cand, exact)
            exact = []
        order = cand[np.argsort(-fused, kind="stable")]
        score = dict(zip(cand.tolist(), fused.tolist()))
        dense = dict(zip(cand.tolist(), dense_c.tolist()))
        ranked = list(dict.fromkeys([*exact[:k], *order.tolist()]))
        reranked: dict[int, float] = {}
        reader_trust = self._trust(self.reranker, text) if rerank and self.reranker is not None else 0.0
        if reader_trust > 0:  # a reranker that cannot read the query would only add noise
            ranked, reranked = self._rerank(text, ranked, len(exact[:k]), score, reader_trust)
        ranked = ranked[:k]
        exact_set = set(exact[:k])
        return SearchResult(text, [self._hit(p, score[p], dense[p], float(lexical[p]), p in exact_set, reranked.get(p))
                                   for p in ranked], qvec[0])

    def _trust(self, model, text: str) -> float:
        """How far ``model``'s vote on ``text`` counts (kb.readability.trust); 1.0 with dense_gate off."""
        s = self.settings
        if not s.dense_gate:
            return 1.0
        return float(trust(model.unknown_share([text]), s.readable_unknown_share, s.unreadable_unknown_share)[0])

    def _dense_trust(self, query_trust: float, cand: np.ndarray) -> np.ndarray | None:
        """Each candidate's dense weight: the query's trust times the passage's (None with dense_gate off)."""
        s = self.settings
        if not s.dense_gate:
            return None
        shares = self.snapshot.unknown_shares(self.encoder)[cand]
        return query_trust * trust(shares, s.readable_unknown_share, s.unreadable_unknown_share)

    def _rerank(self, query: str, ranked: list[int], fixed: int, fused: dict[int, float],
                reader_trust: float = 1.0) -> tuple[list[int], dict]:
        """Reorder the first ``rerank_depth`` positions after the ``fixed`` ones by the reranker's score,
        blended with the fused score (each standardised over the reordered head) by ``rerank_weight``
        times ``reader_trust`` (how much of the query the reranker can read)."""
        from kb.rerank import blend, passage_text

        depth = self.settings.rerank_depth
        head = ranked[fixed:fixed + depth]
        if len(head) < 2:
            return ranked, {}
        form = getattr(self.reranker, "passage_format", "text")
        chunks = [self.snapshot.chunks[p] for p in head]
        logits = self.reranker.score(query, [passage_text(self.snapshot.records[c.doc_id].document.title, c, form)
                                             for c in chunks])
        mixed = blend(logits, np.array([fused[p] for p in head]), self.settings.rerank_weight * reader_trust)
        order = [head[i] for i in np.argsort(-mixed, kind="stable")]
        return ranked[:fixed] + order + ranked[fixed + depth:], dict(zip(head, map(float, logits)))

    def _exact(self, query: str, mask: np.ndarray | None) -> tuple[list[int], bool]:
        """Positions of the units the query names, best document first, and whether they go first.

        They go first when the query asks for the unit itself (besides the
        reference and the document's title, at most two other terms: "what does
        Article 5 of the meeting rules say") and the reference is unambiguous:
        one document holds the unit, or the query names one document's title
        (two or more title terms). Otherwise they only get a bonus in the fused
        score: a long question that mentions "Rule 6.2.1" in passing is usually
        answered by a passage that cites that rule, not by the rule itself.
        """
        refs = parse_query_refs(query)
        if not refs:
            return [], False
        snap = self.snapshot
        rest = query
        for a, b in sorted((span for _, span in refs), reverse=True):
            rest = rest[:a] + " " + rest[b:]
        words = set(self._tokenize([rest])[0])
        found: dict[int, tuple] = {}
        for ref, _ in refs:
            for pos, strength in snap.ref_positions(ref):
                if mask is not None and not mask[pos]:
                    continue
                overlap = len(words & self._terms_of_title(snap.chunks[pos].doc_id)) if words else 0
                key = (overlap, strength, bool(snap.in_force[pos]), -pos)
                if pos not in found or key > found[pos]:
                    found[pos] = key
        if not found:
            return [], False
        best_overlap = max(key[0] for key in found.values())
        kept = {p: key for p, key in found.items() if key[0] == best_overlap}
        docs = {snap.chunks[p].doc_id for p in kept}
        title = set().union(*(self._terms_of_title(d) for d in docs))
        about = words - title - self._asking
        forced = (best_overlap >= 2 or len(docs) == 1) and len(about) <= 2
        return sorted(kept, key=lambda p: kept[p], reverse=True), forced

    def _terms_of_title(self, doc_id: str) -> set[str]:
        if doc_id not in self._title_terms:
            title = self.snapshot.records[doc_id].document.title
            self._title_terms[doc_id] = set(self._tokenize([title])[0])
        return self._title_terms[doc_id]

    def _hit(self, pos: int, score: float, dense: float, lexical: float, exact: bool, rerank: float | None = None) -> Hit:
        chunk = self.snapshot.chunks[pos]
        doc = self.snapshot.records[chunk.doc_id].document
        return Hit(
            chunk=chunk, score=score, title=doc.title, source=doc.source, type=doc.type,
            status=doc.status, superseded_by=doc.superseded_by, date=doc.date, number=doc.number,
            dense=dense, lexical=lexical, exact=exact, rerank=rerank,
        )
