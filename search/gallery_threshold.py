"""Which score threshold decides "known label" vs "unknown" for a gallery, and why.

In order: the gallery's own fixed threshold; the serving model's calibration (a trained
model's own, measured on labels it never trained on, or one `lookalike calibrate` measured on
the catalog owner's labelled images); the gallery's own references when some label has two or
more of them (the EER of same-label vs different-label reference pairs). Otherwise there is no
threshold that means anything for these images: no open-set decision is made, and the answer
gives the best label only (`best_label`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.encoder.calibration import Calibration
from indexer.encoder.verification import verification_metrics


@dataclass(frozen=True)
class Threshold:
    value: float | None  # None: no fitting threshold; the gallery only ranks labels
    source: str  # "set", "model", "catalog", "gallery" or "none"


def gallery_threshold(
    fixed: float | None,
    scores: np.ndarray,
    labels: np.ndarray,
    calibration: Calibration | None,
    *,
    calibration_source: str = "model",
) -> Threshold:
    """The threshold for a gallery whose references have pairwise `scores` (n, n)."""
    if fixed is not None:
        return Threshold(fixed, "set")
    if calibration is not None:
        return Threshold(calibration.threshold, calibration_source)
    own = own_threshold(scores, labels)
    if own is not None:
        return Threshold(own, "gallery")
    return Threshold(None, "none")


def own_threshold(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """The EER threshold of the references' own pairs (i < j); None without both kinds.

    Both same-label and different-label pairs are needed: a threshold from impostor pairs
    alone (one reference per label) rejected most right answers as unknown (held-out one-shot
    Omniglot: nearest reference right for 52% of queries, the answer right for 24%).
    """
    first, second = np.triu_indices(len(labels), k=1)
    same = labels[first] == labels[second]
    if same.all() or not same.any():
        return None
    return float(verification_metrics(scores[first, second], same)["eer_threshold"])
