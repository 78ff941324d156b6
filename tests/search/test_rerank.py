"""The one re-ranking (search.rerank) against an exact brute-force oracle, per distance."""

from __future__ import annotations

import math

import numpy as np
import pytest

from search.rerank import ArrayVectors, rerank

DIM = 16


def unit(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def oracle_distance(a: np.ndarray, b: np.ndarray, kind: str) -> float:
    """One pair, written out in float64."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    if kind == "cosine":
        return 1.0 - sum(float(x) * float(y) for x, y in zip(a, b, strict=True))
    if kind == "euclidean":
        return math.sqrt(sum((float(x) - float(y)) ** 2 for x, y in zip(a, b, strict=True)))
    return sum(abs(float(x) - float(y)) for x, y in zip(a, b, strict=True))


def oracle(
    query: np.ndarray, row: np.ndarray, stored: dict[int, np.ndarray], k: int, kind: str
) -> list[tuple[int, float]]:
    """The best k (id, distance) of a candidate row: distinct known ids, nearest first."""
    known = sorted({int(i) for i in row if int(i) in stored})
    ranked = sorted((oracle_distance(query, stored[i], kind), i) for i in known)
    return [(i, d) for d, i in ranked[:k]]


@pytest.mark.parametrize("kind", ["cosine", "euclidean", "manhattan"])
def test_rerank_matches_a_brute_force_oracle(kind: str) -> None:
    vectors, queries = unit(200, 0), unit(12, 1)
    ids = np.arange(200, dtype=np.int64) * 7 + 3  # sparse, like primary keys
    stored = {int(i): v for i, v in zip(ids, vectors, strict=True)}
    rng = np.random.default_rng(2)
    # candidates as an index proposes them, plus what a stale one adds: repeats, gone ids, -1
    candidates = rng.choice(ids, size=(12, 40))
    candidates[:, :3] = candidates[:, 3:6]  # repeats
    candidates[:, 6] = 10**9  # no stored vector
    candidates[:, 7] = -1
    candidates[0] = -1  # a row with nothing known
    k = 25
    scores, found = rerank(queries, candidates, ArrayVectors(ids, vectors), k, distance=kind)
    assert scores.score.shape == scores.distance.shape == found.shape == (12, k)
    for q in range(12):
        expected = oracle(queries[q], candidates[q], stored, k, kind)
        n = len(expected)
        assert found[q, :n].tolist() == [i for i, _ in expected]
        np.testing.assert_allclose(scores.distance[q, :n], [d for _, d in expected], atol=1e-5)
        similarity = [1.0 - d if kind == "cosine" else 1.0 / (1.0 + d) for _, d in expected]
        np.testing.assert_allclose(scores.score[q, :n], similarity, atol=1e-5)
        assert (found[q, n:] == -1).all() and np.isinf(scores.distance[q, n:]).all()
        assert (scores.score[q, n:] == -np.inf).all()
    assert (found[0] == -1).all()


def test_equal_scores_keep_ascending_id_order() -> None:
    vectors = unit(3, 3)
    ids = np.array([30, 10, 20], dtype=np.int64)
    twins = np.stack([vectors[0], vectors[0], vectors[1]])  # ids 30 and 10 hold one vector
    exact = ArrayVectors(ids, twins)
    for kind in ("cosine", "euclidean", "manhattan"):
        _, found = rerank(vectors[:1], np.array([[30, 20, 10]]), exact, 3, distance=kind)
        assert found.tolist() == [[10, 30, 20]]


def test_nothing_known_and_unknown_distance() -> None:
    exact = ArrayVectors(np.array([1], dtype=np.int64), unit(1, 4))
    scores, found = rerank(unit(2, 5), np.array([[5, -1], [-1, -1]]), exact, 2)
    assert (found == -1).all() and (scores.score == -np.inf).all()
    with pytest.raises(ValueError):
        rerank(unit(1, 5), np.array([[1]]), exact, 1, distance="hamming")
