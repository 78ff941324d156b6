"""How sure is a win on validation? A paired bootstrap over the held-out labels (or writers).

The trained model and a reference model are scored on the same validation images. Drawing
the validation's units (its labels; its writers when skilled forgeries are labelled, so that
a writer's genuine and forged labels go together) with replacement `RESAMPLES` times and
scoring both models on each draw gives the share of draws in which the trained model is
better, and the 5th-95th percentile range of the gain. A win is *clear* when that share is
at least `CLEAR`. A validation of a few labels rarely gives a clear win, whatever its point
estimate: a default signature run gained forgery ROC AUC 0.869 -> 0.884 on 6 validation
writers and was worse than not training on 11 others (README, "The default run per shared
set"). With fewer than `MIN_UNITS` units there is nothing to resample: no confidence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from indexer.training.retrieval_metrics import paired_similarities, query_average_precisions
from indexer.training.verification_pairs import Pairs

RESAMPLES = 1000
CLEAR = 0.95
MIN_UNITS = 2
SEED = 0
MAP_AT_R = "map@r"
FORGERY_AUC = "forgery_auc"


@dataclass(frozen=True)
class WinConfidence:
    """The bootstrap of one comparison: trained minus reference on `metric`."""

    metric: str
    units: str  # what was resampled: "labels" or "writers"
    count: int  # how many of them
    resamples: int
    p_better: float  # share of resamples in which the trained model scored higher
    gain_low: float  # 5th percentile of the gain
    gain_high: float  # 95th percentile

    @property
    def clear(self) -> bool:
        return self.p_better >= CLEAR

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"clear": self.clear, "clear_at": CLEAR}


def win_confidence(
    trained: np.ndarray,
    reference: np.ndarray,
    labels: np.ndarray,
    units: np.ndarray,
    *,
    metric: str,
    distance: str,
    pairs: Pairs | None = None,
    unit_name: str = "labels",
) -> WinConfidence | None:
    """Bootstrap trained (n, d) against reference (n, d) embeddings of the same items, with
    their `labels` (n,) and resampling `units` (n,); `metric` is mAP@R or, with `pairs`, the
    genuine-vs-forgery ROC AUC. None when there are fewer than MIN_UNITS units."""
    codes = np.unique(units, return_inverse=True)[1].reshape(-1)  # (n,)
    count = int(codes.max()) + 1 if len(codes) else 0
    if count < MIN_UNITS:
        return None
    rng = np.random.default_rng(SEED)
    draws = np.zeros((RESAMPLES, count))  # (B, U) how often each unit is drawn
    np.add.at(draws, (np.arange(RESAMPLES)[:, None], rng.integers(0, count, (RESAMPLES, count))), 1)
    if metric == FORGERY_AUC and pairs is not None:
        gains = _auc_gains(trained, reference, pairs, codes[pairs.first], draws, distance)
    elif metric == MAP_AT_R:
        gains = _map_gains(trained, reference, labels, codes, draws, distance)
    else:
        raise ValueError(f"no bootstrap for metric {metric!r}")
    gains = gains[np.isfinite(gains)]
    if not len(gains):
        return None
    low, high = np.percentile(gains, [5, 95])
    p_better = float((gains > 0).mean())
    return WinConfidence(metric, unit_name, count, len(gains), p_better, float(low), float(high))


def _map_gains(
    trained: np.ndarray,
    reference: np.ndarray,
    labels: np.ndarray,
    codes: np.ndarray,
    draws: np.ndarray,
    distance: str,
) -> np.ndarray:
    """mAP@R gain (B,) of each draw: every query of a drawn unit, once per draw of it."""
    ap_t, queries = query_average_precisions(trained, labels, distance=distance)
    ap_r, _ = query_average_precisions(reference, labels, distance=distance)
    count = draws.shape[1]
    sums_t = np.bincount(codes[queries], ap_t[queries], minlength=count)  # (U,)
    sums_r = np.bincount(codes[queries], ap_r[queries], minlength=count)
    n = np.bincount(codes[queries], minlength=count).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (draws @ sums_t - draws @ sums_r) / (draws @ n)  # NaN where no query drawn


def _auc_gains(
    trained: np.ndarray,
    reference: np.ndarray,
    pairs: Pairs,
    pair_units: np.ndarray,
    draws: np.ndarray,
    distance: str,
) -> np.ndarray:
    """ROC AUC gain (B,) of each draw: each pair weighted by how often its writer is drawn."""
    ranked = [  # each pair's rank among the distinct similarities, and how many there are
        _distinct_ranks(paired_similarities(e, pairs.first, pairs.second, distance=distance))
        for e in (trained, reference)
    ]
    gains = np.full(len(draws), np.nan)
    for b, drawn in enumerate(draws):
        weights = drawn[pair_units]  # (p,)
        t, r = (_ranked_auc(inverse, size, pairs.same, weights) for inverse, size in ranked)
        gains[b] = t - r
    return gains


def weighted_auc(scores: np.ndarray, same: np.ndarray, weights: np.ndarray) -> float:
    """ROC AUC with a weight per pair (ties count half); NaN without both kinds of weight."""
    inverse, size = _distinct_ranks(scores)
    return _ranked_auc(inverse, size, same, weights)


def _distinct_ranks(scores: np.ndarray) -> tuple[np.ndarray, int]:
    values, inverse = np.unique(scores, return_inverse=True)
    return inverse.reshape(-1), len(values)


def _ranked_auc(inverse: np.ndarray, size: int, same: np.ndarray, weights: np.ndarray) -> float:
    positive = np.bincount(inverse, np.where(same, weights, 0.0), minlength=size)
    negative = np.bincount(inverse, np.where(same, 0.0, weights), minlength=size)
    total_pos, total_neg = positive.sum(), negative.sum()
    if total_pos <= 0 or total_neg <= 0:
        return float("nan")
    below = np.cumsum(negative) - negative  # negative weight strictly below each value
    return float((positive * (below + 0.5 * negative)).sum() / (total_pos * total_neg))
