"""Fusing dense and BM25 scores of one candidate set, in arrays."""

from __future__ import annotations

import numpy as np


def minmax(scores: np.ndarray) -> np.ndarray:
    """Scale to [0, 1]; a constant array maps to zeros (it ranks nothing)."""
    scores = np.asarray(scores, dtype=np.float32)
    if scores.size == 0:
        return scores
    low, high = float(scores.min()), float(scores.max())
    if high - low <= 1e-12:
        return np.zeros_like(scores)
    return (scores - low) / (high - low)


def zscore(scores: np.ndarray, mean: float, std: float) -> np.ndarray:
    """``(scores - mean) / std``: how far each score stands above the usual one; zeros when ``std`` is 0."""
    scores = np.asarray(scores, dtype=np.float32)
    if std <= 1e-12:
        return np.zeros_like(scores)
    return (scores - np.float32(mean)) / np.float32(std)


def convex(
    dense: np.ndarray, lexical: np.ndarray, bm25_weight: float, stats: tuple[float, float, float, float] | None = None,
    dense_trust: np.ndarray | None = None,
) -> np.ndarray:
    """``w * norm(bm25) + (1 - w) * trust * norm(dense)`` over the same candidates.

    Without ``stats`` each score is min-max scaled over the candidates. With
    ``stats`` = (dense mean, dense std, bm25 mean, bm25 std) over the whole
    collection, each is standardised instead, so one outlying candidate does
    not squeeze the others, and the sum is then min-max scaled (the order
    stays; the scores lie in [0, 1] as with min-max).

    ``dense_trust`` (one value in [0, 1] per candidate, None for all 1) scales
    each candidate's dense vote: 0 where the encoder cannot read the query or
    the passage (kb.readability), so BM25 alone orders those.
    """
    trust = 1.0 if dense_trust is None else np.asarray(dense_trust, dtype=np.float32)
    if stats is None:
        return bm25_weight * minmax(lexical) + (1.0 - bm25_weight) * trust * minmax(dense)
    d_mean, d_std, l_mean, l_std = stats
    return minmax(bm25_weight * zscore(lexical, l_mean, l_std)
                  + (1.0 - bm25_weight) * trust * zscore(dense, d_mean, d_std))


def ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of each score, highest first (ties broken by position)."""
    order = np.argsort(-scores, kind="stable")
    out = np.empty(len(scores), dtype=np.int64)
    out[order] = np.arange(1, len(scores) + 1)
    return out


def rrf(
    dense: np.ndarray, lexical: np.ndarray, bm25_weight: float = 0.5, k: int = 60, dense_trust: np.ndarray | None = None
) -> np.ndarray:
    """Weighted reciprocal rank fusion: ``w / (k + rank_bm25) + (1 - w) * trust / (k + rank_dense)``."""
    trust = 1.0 if dense_trust is None else np.asarray(dense_trust, dtype=np.float32)
    return bm25_weight / (k + ranks(lexical)) + (1.0 - bm25_weight) * trust / (k + ranks(dense))


def fuse(
    method: str, dense: np.ndarray, lexical: np.ndarray, bm25_weight: float,
    stats: tuple[float, float, float, float] | None = None, dense_trust: np.ndarray | None = None,
) -> np.ndarray:
    """Fused scores by ``method`` (convex, rrf, dense, bm25); higher is better.

    ``stats`` (collection mean and std of dense, then of BM25 scores) make the
    convex sum standardise rather than min-max scale; other methods ignore them.
    ``dense_trust`` scales each candidate's dense vote in convex and rrf (see convex).
    """
    if method == "convex":
        return convex(dense, lexical, bm25_weight, stats, dense_trust)
    if method == "rrf":
        return rrf(dense, lexical, bm25_weight, dense_trust=dense_trust)
    if method == "dense":
        return np.asarray(dense, dtype=np.float32)
    if method == "bm25":
        return np.asarray(lexical, dtype=np.float32)
    raise ValueError(f"unknown fusion method {method!r}")


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` highest scores, best first (argpartition, then sort)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]
