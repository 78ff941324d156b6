"""Where a gallery's threshold comes from, on hand-made scores."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.encoder.calibration import Calibration
from search.gallery_threshold import Threshold, gallery_threshold, own_threshold

CAL = Calibration("cosine", 0.1, 0.7, {"0.01": 0.8}, 100)


def scores(labels: list[str], same: float, other: float) -> tuple[np.ndarray, np.ndarray]:
    lab = np.array(labels)
    s = np.where(lab[:, None] == lab[None, :], same, other).astype(np.float32)
    np.fill_diagonal(s, 1.0)
    return s, lab


def test_a_fixed_threshold_wins() -> None:
    s, lab = scores(["a", "b"], 0.9, 0.2)
    assert gallery_threshold(0.5, s, lab, CAL).source == "set"


@pytest.mark.parametrize("source", ["model", "catalog"])
def test_a_fitting_calibration_comes_before_the_gallery(source: str) -> None:
    s, lab = scores(["a", "a", "b"], 0.9, 0.2)
    t = gallery_threshold(None, s, lab, CAL, calibration_source=source)
    assert (t.value, t.source) == (0.7, source)


def test_the_calibrations_operating_point_decides() -> None:
    s, lab = scores(["a", "b"], 0.9, 0.2)
    strict = Calibration("cosine", 0.1, 0.7, {"0.01": 0.8}, 100, decision="0.01")
    assert gallery_threshold(None, s, lab, strict).value == 0.8


def test_without_calibration_the_gallery_calibrates_itself_on_its_label_pairs() -> None:
    s, lab = scores(["a", "a", "b", "b"], 0.9, 0.2)
    t = gallery_threshold(None, s, lab, None)
    assert t.source == "gallery" and 0.2 < t.value <= 0.9


def test_one_reference_per_label_decides_nothing() -> None:
    """Impostor pairs alone say nothing of how close a right answer scores: no threshold."""
    rng = np.random.default_rng(0)
    n = 30
    s = rng.uniform(0.1, 0.5, size=(n, n)).astype(np.float32)
    s = (s + s.T) / 2
    lab = np.array([f"l{i}" for i in range(n)])
    assert own_threshold(s, lab) is None
    assert gallery_threshold(None, s, lab, None) == Threshold(None, "none")


def test_a_single_label_gallery_falls_back_to_the_calibration_or_none() -> None:
    s, lab = scores(["a", "a"], 0.9, 0.2)
    assert gallery_threshold(None, s, lab, CAL).source == "model"
    assert gallery_threshold(None, s, lab, None) == Threshold(None, "none")


@pytest.mark.parametrize("labels", [["a"], []])
def test_tiny_galleries(labels: list[str]) -> None:
    s, lab = scores(labels, 0.9, 0.2)
    assert own_threshold(s, lab) is None
