"""Calibrated thresholds give the false-accept rates they promise on their own pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.encoder.calibration import Calibration, calibrate, calibration_of
from indexer.encoder.checkpoint import load_checkpoint, save_checkpoint
from indexer.encoder.model import EncoderConfig, SiameseEncoder
from indexer.training.retrieval_metrics import verification_metrics


def overlapping_pairs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    same = np.concatenate([np.ones(3000, bool), np.zeros(5000, bool)])
    sims = np.where(same, rng.normal(0.7, 0.1, len(same)), rng.normal(0.4, 0.1, len(same)))
    return sims, same


def far(sims: np.ndarray, same: np.ndarray, threshold: float) -> float:
    return float((sims[~same] >= threshold).mean())


@pytest.mark.parametrize("target", [0.05, 0.01, 0.001])
def test_far_thresholds_hold_and_are_tight(target: float) -> None:
    sims, same = overlapping_pairs()
    threshold = calibrate(sims, same, far_targets=(target,)).threshold_at_far(target)
    assert far(sims, same, threshold) <= target
    # tight: accepting the next different pair above the threshold would break the target
    next_down = np.max(sims[~same][sims[~same] < threshold])
    assert far(sims, same, next_down) > target


def test_far_threshold_above_every_score_when_the_top_pair_is_different() -> None:
    sims = np.array([0.9, 0.8, 0.7, 0.95])
    same = np.array([True, True, False, False])
    threshold = calibrate(sims, same, far_targets=(0.1,)).far_thresholds["0.1"]
    assert threshold > 0.95 and far(sims, same, threshold) == 0.0


def test_eer_matches_the_verification_metrics() -> None:
    sims, same = overlapping_pairs(1)
    calibration = calibrate(sims, same, distance="euclidean")
    expected = verification_metrics(sims, same)
    assert calibration.eer == expected["eer"]
    assert calibration.eer_threshold == expected["eer_threshold"]
    assert calibration.distance == "euclidean" and calibration.n_pairs == 8000
    assert set(calibration.far_thresholds) == {"0.01", "0.001"}
    # the EER threshold: rejected same pairs ~ accepted different pairs
    frr = float((sims[same] < calibration.eer_threshold).mean())
    assert abs(frr - far(sims, same, calibration.eer_threshold)) < 0.01


def test_decide_uses_the_eer_threshold_by_default() -> None:
    calibration = Calibration("cosine", 0.1, 0.6, {"0.01": 0.8}, 100)
    assert calibration.decide(0.6) and not calibration.decide(0.59)
    assert not calibration.decide(0.7, threshold=calibration.threshold_at_far(0.01))
    assert calibration.decide(0.8, threshold=0.8)


def test_round_trip_through_a_checkpoint(tmp_path: Path) -> None:
    sims, same = overlapping_pairs(2)
    calibration = calibrate(sims, same)
    assert Calibration.from_dict(calibration.to_dict()) == calibration
    encoder = SiameseEncoder(EncoderConfig(backbone="small_cnn", input_size=32, pretrained=False))
    path = tmp_path / "m.pt"
    save_checkpoint(path, encoder, metadata={"calibration": calibration.to_dict()})
    assert calibration_of(load_checkpoint(path).metadata) == calibration
    assert calibration_of({}) is None


def test_from_dict_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        Calibration.from_dict({"distance": "cosine"})
    good = calibrate(*overlapping_pairs()).to_dict()
    with pytest.raises(ValueError):
        Calibration.from_dict(good | {"distance": "chebyshev"})


def test_a_far_operating_point_decides_and_promises_its_rate() -> None:
    sims, same = overlapping_pairs()
    measured = calibrate(sims, same, far_targets=(0.01,))
    strict = Calibration.from_dict({**measured.to_dict(), "decision": "0.01"})
    assert strict.threshold == measured.threshold_at_far(0.01) > measured.threshold
    assert strict.promised_far == 0.01 and measured.promised_far == measured.eer
    assert far(sims, same, strict.threshold) <= 0.01
    assert Calibration.from_dict(measured.to_dict()).decision == "eer"  # older dicts: EER


def test_an_unknown_operating_point_is_rejected() -> None:
    sims, same = overlapping_pairs()
    data = {**calibrate(sims, same).to_dict(), "decision": "0.2"}
    with pytest.raises(ValueError):
        Calibration.from_dict(data)


def test_a_calibration_on_some_labels_holds_on_others() -> None:
    """Clusters of one distribution: calibrate on half the labels, the other half's FAR stays
    within a few points of the promise (the property `calibration_holdout.py` measures)."""
    from indexer.training.calibrate_folder import calibrate_pairs
    from indexer.training.retrieval_metrics import pair_indices
    from indexer.training.verification_pairs import Pairs

    rng = np.random.default_rng(3)
    centres = rng.normal(size=(80, 16))
    labels = np.repeat(np.arange(80), 6)
    points = centres[labels] + rng.normal(scale=0.9, size=(len(labels), 16))
    vectors = (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)

    def pairs_of(mask: np.ndarray) -> Pairs:
        rows = np.flatnonzero(mask)
        first, second = pair_indices(labels[rows])
        return Pairs(rows[first], rows[second], labels[rows][first] == labels[rows][second])

    calibration = calibrate_pairs(vectors, pairs_of(labels < 40))["cosine"]
    held = pairs_of(labels >= 40)
    scores = (vectors[held.first] * vectors[held.second]).sum(axis=1)
    held_far = float((scores[~held.same] >= calibration.threshold).mean())
    assert abs(held_far - calibration.promised_far) < 0.05
