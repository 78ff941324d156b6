"""Scores under the three distances, for unit vectors: what `score` and `distance` mean.

- cosine: score = cosine similarity in [-1, 1]; distance = 1 - score.
- euclidean: distance = ||a - b|| in [0, 2]; score = 1 / (1 + distance).
- manhattan: distance = sum |a_i - b_i|; score = 1 / (1 + distance).

Higher score is always closer, lower distance is always closer. On unit vectors the
euclidean distance is a function of the cosine (sqrt(2 - 2 cos)), so both rank alike;
manhattan ranks differently and is computed from the vectors themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.catalog.types import Embeddings
from indexer.encoder.distances import DistanceName, check_distance, pairwise_distances_np


@dataclass(frozen=True)
class Scores:
    """Pairwise scores (n, m) and distances (n, m) under one distance."""

    score: np.ndarray
    distance: np.ndarray


def scores_between(a: Embeddings, b: Embeddings, kind: str) -> Scores:
    """Scores and distances between the rows of a (n, d) and b (m, d)."""
    name = check_distance(kind)
    distance = pairwise_distances_np(a, b, name)  # (n, m)
    return Scores(score_of(distance, name), distance)


def score_of(distance: np.ndarray, kind: DistanceName) -> np.ndarray:
    """Score (higher is closer) of distances under `kind`."""
    if kind == "cosine":
        return (1.0 - distance).astype(np.float32)
    return (1.0 / (1.0 + distance)).astype(np.float32)


def from_cosine(cosine: np.ndarray, kind: str) -> Scores | None:
    """Scores of cosine similarities under `kind`; None when `kind` needs the vectors."""
    cosine = np.asarray(cosine, dtype=np.float32)
    if kind == "cosine":
        return Scores(cosine, (1.0 - cosine).astype(np.float32))
    if kind == "euclidean":
        distance = np.sqrt(np.maximum(0.0, 2.0 - 2.0 * cosine)).astype(np.float32)
        return Scores(score_of(distance, "euclidean"), distance)
    check_distance(kind)
    return None
