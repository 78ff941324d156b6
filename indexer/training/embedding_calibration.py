"""Calibrate a model from labelled embeddings: one `Calibration` per supported distance."""

from __future__ import annotations

import numpy as np

from indexer.encoder.calibration import Calibration, calibrate
from indexer.encoder.distances import DISTANCES
from indexer.training.retrieval_metrics import pair_similarities


def calibrate_embeddings(
    embeddings: np.ndarray, labels: np.ndarray, *, seed: int = 0
) -> dict[str, Calibration]:
    """One calibration per supported distance from the labelled pairs of `embeddings`."""
    result: dict[str, Calibration] = {}
    for distance in DISTANCES:
        similarities, same = pair_similarities(embeddings, labels, distance=distance, seed=seed)
        result[distance] = calibrate(similarities, same, distance=distance)
    return result
