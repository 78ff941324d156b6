"""The distances Lookalike supports, as similarities where higher is closer.

Every part of the product reports a `score` that is a similarity (higher = closer) and a
`distance` (lower = closer); this module is the one place that maps between them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from indexer.catalog.distance_names import DISTANCES, DistanceName, check_distance

if TYPE_CHECKING:
    import torch

__all__ = [
    "DISTANCES",
    "DistanceName",
    "check_distance",
    "pairwise_distances",
    "pairwise_distances_np",
    "to_similarity",
]


def pairwise_distances(a: torch.Tensor, b: torch.Tensor, kind: DistanceName) -> torch.Tensor:
    """Distances between rows: (n, d) x (m, d) -> (n, m); lower is closer."""
    import torch  # only where vectors are compared in bulk (training, evaluation)

    if kind == "cosine":
        return 1.0 - a @ b.T
    if kind == "euclidean":
        return torch.cdist(a, b, p=2.0)
    return torch.cdist(a, b, p=1.0)


def pairwise_distances_np(a: np.ndarray, b: np.ndarray, kind: DistanceName) -> np.ndarray:
    """numpy twin of `pairwise_distances`; float32 (n, m)."""
    import torch

    ta, tb = torch.from_numpy(np.array(a, np.float32)), torch.from_numpy(np.array(b, np.float32))
    return pairwise_distances(ta.float(), tb.float(), kind).numpy()


def to_similarity(distance: np.ndarray | float, kind: DistanceName) -> np.ndarray | float:
    """Similarity, higher is closer: cosine similarity, or 1 / (1 + distance) otherwise."""
    if kind == "cosine":
        return 1.0 - distance
    return 1.0 / (1.0 + distance)
