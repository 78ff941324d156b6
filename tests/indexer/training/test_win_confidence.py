"""The paired bootstrap behind a training verdict: clear wins, wins a redraw of the labels
could undo, and the weighted ROC AUC it resamples forgery pairs with."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.encoder.verification import roc_auc
from indexer.training.never_worse import verdict
from indexer.training.verification_pairs import forgery_pairs
from indexer.training.win_confidence import CLEAR, WinConfidence, weighted_auc, win_confidence


def clustered(labels: np.ndarray, tidy: set[int], seed: int) -> np.ndarray:
    """Unit vectors: the items of labels in `tidy` sit near their label's centre, the others
    anywhere (their retrieval fails)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(labels.max() + 1, 32))
    noise = rng.normal(size=(len(labels), 32))
    x = np.where(np.isin(labels, list(tidy))[:, None], centres[labels] + 0.1 * noise, noise)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


LABELS = np.repeat(np.arange(10), 4)  # 10 labels x 4 items


def confidence(trained: np.ndarray, reference: np.ndarray) -> WinConfidence:
    found = win_confidence(trained, reference, LABELS, LABELS, metric="map@r", distance="cosine")
    assert found is not None
    return found


def test_a_win_on_every_label_is_clear() -> None:
    found = confidence(clustered(LABELS, set(range(10)), 1), clustered(LABELS, set(), 1))
    assert found.p_better == 1.0 and found.clear and found.gain_low > 0.5
    assert (found.units, found.count, found.resamples) == ("labels", 10, 1000)


def test_a_win_carried_by_some_labels_and_lost_on_others_is_not_clear() -> None:
    trained = clustered(LABELS, {0, 1, 2, 3, 4, 5}, 2)  # six labels retrieved well
    reference = clustered(LABELS, {5, 6, 7, 8, 9}, 2)  # five others (one in common)
    found = confidence(trained, reference)
    assert 0.2 < found.p_better < CLEAR and not found.clear
    assert found.gain_low < 0 < found.gain_high


def test_no_gain_is_never_better_and_one_label_cannot_be_resampled() -> None:
    same = clustered(LABELS, {1, 2}, 3)
    found = confidence(same, same)
    assert found.p_better == 0.0 and found.gain_low == found.gain_high == 0.0
    one = np.zeros(8, dtype=np.int64)
    assert win_confidence(same[:8], same[:8], one, one, metric="map@r", distance="cosine") is None


def test_weighted_auc_is_roc_auc_with_repeated_pairs() -> None:
    rng = np.random.default_rng(4)
    scores = rng.integers(0, 6, size=60).astype(np.float64)  # many ties
    same = rng.random(60) < 0.4
    assert weighted_auc(scores, same, np.ones(60)) == pytest.approx(roc_auc(scores, same))
    weights = rng.integers(0, 3, size=60)
    repeated = np.repeat(np.arange(60), weights)
    assert weighted_auc(scores, same, weights.astype(np.float64)) == pytest.approx(
        roc_auc(scores[repeated], same[repeated])
    )
    assert np.isnan(weighted_auc(scores, same, np.where(same, 1.0, 0.0)))


def test_forgery_verdicts_resample_writers() -> None:
    names = [w + s for w in ("001", "002", "003", "004") for s in ("", "", "", "_forg", "_forg")]
    pairs = forgery_pairs(names)
    writers = np.asarray([n.removesuffix("_forg") for n in names])
    labels = np.unique(names, return_inverse=True)[1]
    tidy = clustered(labels, set(range(8)), 5)  # every label apart: forgeries far away
    found = win_confidence(
        tidy, clustered(labels, set(), 5), labels, writers,
        metric="forgery_auc", distance="cosine", pairs=pairs, unit_name="writers",
    )  # fmt: skip
    assert found is not None and (found.units, found.count) == ("writers", 4)
    assert found.clear and found.gain_low > 0


def test_an_unclear_win_is_not_claimed() -> None:
    unclear = WinConfidence("map@r", "labels", 6, 1000, 0.71, -0.02, 0.05)
    judged = verdict({"map@r": 0.5}, {"map@r": 0.4}, starting_confidence=unclear)
    assert judged["beats_starting_model"] and not judged["clear_win"]
    assert judged["beats_baseline"] is False
    assert judged["starting_confidence"]["p_better"] == 0.71
    clear = WinConfidence("map@r", "labels", 6, 1000, 0.99, 0.01, 0.05)
    assert verdict({"map@r": 0.5}, {"map@r": 0.4}, starting_confidence=clear)["beats_baseline"]
