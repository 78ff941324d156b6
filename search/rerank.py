"""Exact re-ranking: re-score candidate ids against their stored float32 vectors.

The one re-ranking of the search layer, for both of its uses: an approximate index (PQ codes,
a graph with stale entries) proposes `k * factor` candidates and keeps the best k by exact
cosine (`search.vector_index`); the query engine re-orders the index's candidates under a
distance that does not follow from the cosine, such as manhattan (`search.engine`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from indexer.catalog.types import Embeddings, Ids
from indexer.encoder.distances import check_distance
from search.scores import Scores, from_cosine, scores_between

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
    queries: Embeddings, candidates: Ids, exact: ExactVectors, k: int, *, distance: str = "cosine"
) -> tuple[Scores, Ids]:
    """Re-score candidate ids (n, c) exactly under `distance`; return the best k of each row,
    best first: Scores (n, k) and ids (n, k).

    Duplicate and unknown candidates (-1, or no stored vector) are dropped; short rows are
    padded with id -1, score -inf and distance inf. Equal scores keep ascending id order.
    """
    check_distance(distance)
    n = queries.shape[0]
    score = np.full((n, k), -np.inf, dtype=np.float32)
    far = np.full((n, k), np.inf, dtype=np.float32)
    ids = np.full((n, k), -1, dtype=np.int64)
    found, vectors = exact(np.unique(candidates[candidates >= 0]))
    if len(found) == 0:
        return Scores(score, far), ids
    by_id = np.argsort(found, kind="stable")
    found, vectors = found[by_id], vectors[by_id]
    position = {int(i): row for row, i in enumerate(found)}
    for q in range(n):
        rows = sorted({position[int(i)] for i in candidates[q] if int(i) in position})
        if not rows:
            continue
        exact_q, key = _scored(queries[q], vectors[rows], distance)  # (c,) each
        best = np.argsort(key, kind="stable")[:k]
        score[q, : len(best)] = exact_q.score[best]
        far[q, : len(best)] = exact_q.distance[best]
        ids[q, : len(best)] = found[rows][best]
    return Scores(score, far), ids


def _scored(query: Embeddings, vectors: Embeddings, distance: str) -> tuple[Scores, np.ndarray]:
    """Scores (c,) of one query (d,) against vectors (c, d), and the key that ranks them
    (lower first): what was measured, before any conversion."""
    sims = vectors @ query  # (c,)
    converted = from_cosine(sims, distance)
    if converted is not None:  # cosine, euclidean: exact from the inner products
        return converted, -sims
    measured = scores_between(query[None, :], vectors, distance)  # (1, c)
    return Scores(measured.score[0], measured.distance[0]), measured.distance[0]
