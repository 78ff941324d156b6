"""Pair verification: error rates over thresholds, ROC AUC and the equal error rate.

Inputs are similarities (p,) (higher = closer) and `same` flags (p,); a pair is accepted
as "same" when its similarity >= the threshold.
"""

from __future__ import annotations

import numpy as np


def error_rates(
    similarities: np.ndarray, same: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each distinct similarity t (ascending): FAR(t) and FRR(t) when "same" means >= t.

    FAR = different pairs accepted / different pairs; FRR = same pairs rejected / same pairs.
    """
    scores = np.asarray(similarities, dtype=np.float64)
    same = np.asarray(same, dtype=bool)
    if same.all() or not same.any():
        raise ValueError("verification needs both same and different pairs")
    thresholds = np.unique(scores)
    genuine, impostor = np.sort(scores[same]), np.sort(scores[~same])
    far = (len(impostor) - np.searchsorted(impostor, thresholds, side="left")) / len(impostor)
    frr = np.searchsorted(genuine, thresholds, side="left") / len(genuine)
    return thresholds, far, frr


def roc_auc(similarities: np.ndarray, same: np.ndarray) -> float:
    """Probability a same pair scores above a different one (ties count half)."""
    scores = np.asarray(similarities, dtype=np.float64)
    same = np.asarray(same, dtype=bool)
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    mid_ranks = np.cumsum(counts) - (counts - 1) / 2.0  # average 1-based rank of each value
    ranks = mid_ranks[inverse]
    n_pos, n_neg = int(same.sum()), int((~same).sum())
    return float((ranks[same].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def midpoint_below(thresholds: np.ndarray, index: int) -> float:
    """A threshold between thresholds[index] and the next lower one: same decisions, margin."""
    if index == 0:
        return float(thresholds[0])
    return float((thresholds[index] + thresholds[index - 1]) / 2.0)


def verification_metrics(similarities: np.ndarray, same: np.ndarray) -> dict[str, float]:
    """ROC AUC, equal error rate and its similarity threshold ("same" when sim >= threshold).

    The EER is (FAR + FRR) / 2 at the threshold where the two are closest.
    """
    thresholds, far, frr = error_rates(similarities, same)
    best = int(np.argmin(np.abs(far - frr)))
    return {
        "roc_auc": roc_auc(similarities, same),
        "eer": float((far[best] + frr[best]) / 2.0),
        "eer_threshold": midpoint_below(thresholds, best),
    }
