"""The FAISS index against a numpy brute-force oracle; ids are catalog keys."""

from __future__ import annotations

import numpy as np
import pytest

from search.vector_index import VectorIndex


def unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_matches_brute_force_cosine() -> None:
    rng = np.random.default_rng(0)
    base, queries = unit(rng, 500, 32), unit(rng, 20, 32)
    ids = rng.choice(10**6, size=500, replace=False).astype(np.int64)
    index = VectorIndex(32)
    index.upsert(ids, base)
    scores, found = index.search(queries, 10)
    sims = queries @ base.T  # (20, 500)
    expected = ids[np.argsort(-sims, axis=1)[:, :10]]
    np.testing.assert_array_equal(found, expected)
    np.testing.assert_allclose(scores, np.sort(sims, axis=1)[:, ::-1][:, :10], atol=1e-5)


def test_upsert_replaces_and_remove_deletes() -> None:
    rng = np.random.default_rng(1)
    vectors = unit(rng, 3, 8)
    index = VectorIndex(8)
    index.upsert(np.array([1, 2, 3]), vectors)
    index.upsert(np.array([2]), vectors[:1])  # id 2 now holds vector 0
    assert index.ntotal == 3
    _, found = index.search(vectors[:1], 3)
    assert set(found[0, :2]) == {1, 2}
    assert index.remove(np.array([1, 99])) == 1
    _, found = index.search(vectors[:1], 5)
    assert list(found[0]) == [2, 3]


def test_k_larger_than_index_and_empty_index() -> None:
    index = VectorIndex(4)
    scores, ids = index.search(np.ones((2, 4), dtype=np.float32) / 2, 5)
    assert scores.shape == (2, 0) and ids.shape == (2, 0)


def test_rejects_wrong_shapes() -> None:
    index = VectorIndex(4)
    with pytest.raises(ValueError, match="expected"):
        index.search(np.ones((1, 5), dtype=np.float32), 1)


def test_serialisation_round_trip() -> None:
    rng = np.random.default_rng(2)
    index = VectorIndex(16)
    index.upsert(np.arange(50), unit(rng, 50, 16))
    copy = VectorIndex.from_bytes(index.to_bytes())
    q = unit(rng, 3, 16)
    np.testing.assert_array_equal(copy.search(q, 5)[1], index.search(q, 5)[1])
