"""Exact re-ranking: re-score approximate candidates against the stored float32 vectors.

An approximate index (PQ codes, a graph with stale entries) proposes `k * factor` candidates;
their exact inner products with the query replace the approximate scores, so reported
scores are exact cosine similarities and the best k are kept.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from indexer.catalog.types import Embeddings, Ids

# ids (m,) -> (found ids (j,), their vectors (j, d)); unknown ids are left out
ExactVectors = Callable[[Ids], tuple[Ids, Embeddings]]


class ArrayVectors:
    """An in-memory `ExactVectors` over an (n, d) array; for tests and small catalogs."""

    def __init__(self, ids: Ids, vectors: Embeddings) -> None:
        assert ids.shape == (vectors.shape[0],), (ids.shape, vectors.shape)
        self.rows = {int(i): row for row, i in enumerate(ids)}
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    def __call__(self, ids: Ids) -> tuple[Ids, Embeddings]:
        found = np.array([i for i in ids if int(i) in self.rows], dtype=np.int64)
        rows = [self.rows[int(i)] for i in found]
        return found, self.vectors[rows].reshape(len(rows), self.vectors.shape[1])


def rerank(
    queries: Embeddings, candidates: Ids, exact: ExactVectors, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Re-score candidate ids (n, c) exactly; return the best k as (scores (n, k), ids (n, k)).

    Duplicate and unknown candidates are dropped; short rows are padded with id -1.
    """
    n = queries.shape[0]
    scores = np.full((n, k), -np.inf, dtype=np.float32)
    ids = np.full((n, k), -1, dtype=np.int64)
    unique = np.unique(candidates[candidates >= 0])
    found, vectors = exact(unique)
    if len(found) == 0:
        return scores, ids
    position = {int(i): row for row, i in enumerate(found)}
    for q in range(n):
        rows = sorted({position[int(i)] for i in candidates[q] if int(i) in position})
        if not rows:
            continue
        sims = vectors[rows] @ queries[q]  # (c,)
        best = np.argsort(-sims, kind="stable")[:k]
        scores[q, : len(best)] = sims[best]
        ids[q, : len(best)] = found[rows][best]
    return scores, ids
