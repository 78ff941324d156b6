"""Which score threshold decides "known label" vs "unknown" for a gallery, and why.

In order: the gallery's own fixed threshold; the serving model's calibration when it was
measured on the user's images (a trained model); the gallery's own references (the EER of
same-label vs different-label reference pairs, or with one reference per label the score
that at most `far` of different-label pairs reach); the model's generic calibration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.training.calibration import Calibration
from indexer.training.verification import verification_metrics

GALLERY_FAR = 0.01  # false-accept rate of the gallery's own different-label pairs


@dataclass(frozen=True)
class Threshold:
    value: float | None  # None: no threshold can be had; every query gets its best label
    source: str  # "set", "model", "gallery" or "none"


def gallery_threshold(
    fixed: float | None,
    scores: np.ndarray,
    labels: np.ndarray,
    calibration: Calibration | None,
    *,
    generic: bool,
) -> Threshold:
    """The threshold for a gallery whose references have pairwise `scores` (n, n)."""
    if fixed is not None:
        return Threshold(fixed, "set")
    if calibration is not None and not generic:
        return Threshold(calibration.eer_threshold, "model")
    own = own_threshold(scores, labels)
    if own is not None:
        return Threshold(own, "gallery")
    if calibration is not None:
        return Threshold(calibration.eer_threshold, "model")
    return Threshold(None, "none")


def own_threshold(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """A threshold from the references' own pairs (i < j); None with fewer than 2 labels."""
    first, second = np.triu_indices(len(labels), k=1)
    pair_scores = scores[first, second]
    same = labels[first] == labels[second]
    if same.all():  # no different-label pair: nothing tells what an impostor scores
        return None
    if same.any():
        return float(verification_metrics(pair_scores, same)["eer_threshold"])
    # Only different-label pairs: accept at most GALLERY_FAR of them (just above the next one).
    descending = np.sort(pair_scores)[::-1]
    allowed = int(np.floor(GALLERY_FAR * len(descending)))
    return float(np.nextafter(descending[allowed], np.float32(np.inf)))
