"""Recall of an index against exact brute-force search (the oracle).

recall@k = the share of the true k nearest ids (exact inner product over every stored
vector) that the index returns in its top k, averaged over the queries.

When the queries are themselves catalog vectors (an index tunes itself on a catalog sample),
each query's own entry is the easiest possible hit: `recall_leaving_out_self` drops it (and
any exact duplicate) from both sides, so the figure speaks for new images of the same kinds.
"""

from __future__ import annotations

from typing import Protocol

import faiss
import numpy as np

from indexer.catalog.types import Embeddings, Ids

SELF_SCORE = 1.0 - 1e-5  # cosine of a unit vector with itself (or an exact duplicate)


class Searchable(Protocol):
    def search(self, queries: Embeddings, k: int) -> tuple[np.ndarray, np.ndarray]: ...


def exact_knn(vectors: Embeddings, ids: Ids, queries: Embeddings, k: int) -> np.ndarray:
    """The ids (nq, k) of the exact k nearest vectors by inner product."""
    _, rows = faiss.knn(queries, vectors, min(k, len(ids)), metric=faiss.METRIC_INNER_PRODUCT)
    return np.where(rows >= 0, ids[rows], -1)


def recall_at_k(
    index: Searchable, exact_vectors: Embeddings, ids: Ids, queries: Embeddings, k: int = 10
) -> float:
    """recall@k of `index` against brute force over `exact_vectors` (n, d) stored as `ids`."""
    truth = exact_knn(np.ascontiguousarray(exact_vectors, dtype=np.float32), ids, queries, k)
    return recall_against(index, truth, queries, k)


def recall_against(index: Searchable, truth: np.ndarray, queries: Embeddings, k: int) -> float:
    """recall@k of `index` against known true neighbour ids (nq, >= k)."""
    if len(queries) == 0:
        return 1.0
    _, found = index.search(queries, k)  # (nq, k)
    hits = [
        len(set(row[:k].tolist()) & ({int(i) for i in true[:k]} - {-1}))
        for row, true in zip(found, truth, strict=True)
    ]
    wanted = sum(len({int(i) for i in true[:k]} - {-1}) for true in truth)
    return float(sum(hits) / max(wanted, 1))


def recall_leaving_out_self(
    index: Searchable, truth: tuple[np.ndarray, np.ndarray], queries: Embeddings, k: int
) -> float:
    """recall@k over each query's other neighbours; `truth` is (scores, ids) of >= k + 1."""
    if len(queries) == 0:
        return 1.0
    scores, ids = truth
    _, found = index.search(queries, k + 1)  # (nq, k + 1)
    hits = wanted = 0
    for q in range(len(queries)):
        itself = {int(i) for i, s in zip(ids[q], scores[q], strict=True) if s >= SELF_SCORE}
        true = [int(i) for i in ids[q] if i >= 0 and int(i) not in itself][:k]
        got = [int(i) for i in found[q] if int(i) not in itself][:k]
        hits += len(set(true) & set(got))
        wanted += len(true)
    return float(hits / max(wanted, 1))


class StreamingTruth:
    """Exact top-k of fixed queries over vectors seen in batches (one pass over a catalog)."""

    def __init__(self, queries: Embeddings, k: int) -> None:
        self.queries = np.ascontiguousarray(queries, dtype=np.float32)
        self.k = k
        self._heap = faiss.ResultHeap(len(self.queries), k, keep_max=True)

    def add(self, ids: Ids, vectors: Embeddings) -> None:
        if len(ids) == 0 or len(self.queries) == 0:
            return
        kb = min(self.k, len(ids))
        scores, rows = faiss.knn(self.queries, vectors, kb, metric=faiss.METRIC_INNER_PRODUCT)
        self._heap.add_result(scores, np.where(rows >= 0, ids[rows], -1))

    def neighbours(self) -> tuple[np.ndarray, np.ndarray]:
        """The true (scores, ids), each (nq, k), best first; id -1 where the catalog was
        smaller. Call once."""
        self._heap.finalize()
        return self._heap.D, self._heap.I
