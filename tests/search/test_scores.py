"""Scores under each distance against brute force, and the engine ranking by them."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from indexer.catalog.settings import Settings
from search.runtime import build_runtime
from search.scores import from_cosine, scores_between
from tests.conftest import index_folder


def unit(n: int, d: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["cosine", "euclidean", "manhattan"])
def test_scores_match_a_brute_force_loop(kind: str) -> None:
    a, b = unit(4, 16, 0), unit(5, 16, 1)
    got = scores_between(a, b, kind)
    for i in range(4):
        for j in range(5):
            diff = a[i] - b[j]
            expected = {
                "cosine": 1.0 - float(a[i] @ b[j]),
                "euclidean": float(np.sqrt((diff**2).sum())),
                "manhattan": float(np.abs(diff).sum()),
            }[kind]
            assert got.distance[i, j] == pytest.approx(expected, abs=1e-4)
            score = 1.0 - expected if kind == "cosine" else 1.0 / (1.0 + expected)
            assert got.score[i, j] == pytest.approx(score, abs=1e-4)


def test_euclidean_follows_from_cosine_and_manhattan_does_not() -> None:
    a, b = unit(3, 8, 2), unit(6, 8, 3)
    converted = from_cosine(a @ b.T, "euclidean")
    assert converted is not None
    direct = scores_between(a, b, "euclidean")
    np.testing.assert_allclose(converted.distance, direct.distance, atol=1e-4)
    assert from_cosine(a @ b.T, "manhattan") is None
    with pytest.raises(ValueError):
        scores_between(a, b, "hamming")


@pytest.mark.parametrize("kind", ["euclidean", "manhattan"])
def test_the_engine_ranks_by_the_configured_distance(
    settings: Settings, image_folder: Path, kind: str
) -> None:
    index_folder(settings, image_folder)
    runtime = build_runtime(Settings(**{**vars(settings), "distance": kind}), load="now")
    query = sorted(p for p in image_folder.rglob("*") if p.is_file())[3].read_bytes()
    hits = runtime.engine.search_image(query, k=12).hits
    distances = [h.distance for h in hits]
    assert distances == sorted(distances) and distances[0] == pytest.approx(0.0, abs=1e-5)
    # brute force over every stored vector gives the same order
    vector = runtime.engine.embed_bytes(io.BytesIO(query).getvalue())
    ids = np.array([h.id for h in hits])
    found, stored = runtime.index_sync.exact_vectors(ids)
    row = {int(i): r for r, i in enumerate(found)}
    exact = scores_between(vector, stored[[row[int(i)] for i in ids]], kind).distance[0]
    np.testing.assert_allclose(distances, exact, atol=1e-4)
    assert list(np.argsort(exact, kind="stable")) == list(range(len(ids)))
    runtime.sessions.kw["bind"].dispose()
