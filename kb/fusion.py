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


def convex(dense: np.ndarray, lexical: np.ndarray, bm25_weight: float) -> np.ndarray:
    """``w * minmax(bm25) + (1 - w) * minmax(dense)`` over the same candidates."""
    return bm25_weight * minmax(lexical) + (1.0 - bm25_weight) * minmax(dense)


def ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of each score, highest first (ties broken by position)."""
    order = np.argsort(-scores, kind="stable")
    out = np.empty(len(scores), dtype=np.int64)
    out[order] = np.arange(1, len(scores) + 1)
    return out


def rrf(dense: np.ndarray, lexical: np.ndarray, bm25_weight: float = 0.5, k: int = 60) -> np.ndarray:
    """Weighted reciprocal rank fusion: ``w / (k + rank_bm25) + (1 - w) / (k + rank_dense)``."""
    return bm25_weight / (k + ranks(lexical)) + (1.0 - bm25_weight) / (k + ranks(dense))


def fuse(method: str, dense: np.ndarray, lexical: np.ndarray, bm25_weight: float) -> np.ndarray:
    """Fused scores by ``method`` (convex, rrf, dense, bm25); higher is better."""
    if method == "convex":
        return convex(dense, lexical, bm25_weight)
    if method == "rrf":
        return rrf(dense, lexical, bm25_weight)
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
