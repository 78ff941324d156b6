"""Where a gallery's threshold comes from, on hand-made scores."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.training.calibration import Calibration
from search.gallery_threshold import gallery_threshold, own_threshold

CAL = Calibration("cosine", 0.1, 0.7, {"0.01": 0.8}, 100)


def scores(labels: list[str], same: float, other: float) -> tuple[np.ndarray, np.ndarray]:
    lab = np.array(labels)
    s = np.where(lab[:, None] == lab[None, :], same, other).astype(np.float32)
    np.fill_diagonal(s, 1.0)
    return s, lab


def test_a_fixed_threshold_wins() -> None:
    s, lab = scores(["a", "b"], 0.9, 0.2)
    assert gallery_threshold(0.5, s, lab, CAL, generic=False).source == "set"


def test_a_trained_models_calibration_comes_before_the_gallery() -> None:
    s, lab = scores(["a", "a", "b"], 0.9, 0.2)
    t = gallery_threshold(None, s, lab, CAL, generic=False)
    assert (t.value, t.source) == (0.7, "model")


def test_with_a_generic_calibration_the_gallery_calibrates_itself() -> None:
    s, lab = scores(["a", "a", "b", "b"], 0.9, 0.2)
    t = gallery_threshold(None, s, lab, CAL, generic=True)
    assert t.source == "gallery" and 0.2 < t.value <= 0.9


def test_one_reference_per_label_uses_the_different_label_pairs() -> None:
    rng = np.random.default_rng(0)
    n = 30
    s = rng.uniform(0.1, 0.5, size=(n, n)).astype(np.float32)
    s = (s + s.T) / 2
    lab = np.array([f"l{i}" for i in range(n)])
    value = own_threshold(s, lab)
    pairs = s[np.triu_indices(n, k=1)]
    assert value is not None and np.mean(pairs >= value) <= 0.01
    assert value <= pairs.max() and np.mean(pairs >= value) > 0  # not above every pair


def test_a_single_label_gallery_falls_back_to_the_model_or_none() -> None:
    s, lab = scores(["a", "a"], 0.9, 0.2)
    assert gallery_threshold(None, s, lab, CAL, generic=True).source == "model"
    t = gallery_threshold(None, s, lab, None, generic=True)
    assert (t.value, t.source) == (None, "none")


@pytest.mark.parametrize("labels", [["a"], []])
def test_tiny_galleries(labels: list[str]) -> None:
    s, lab = scores(labels, 0.9, 0.2)
    assert own_threshold(s, lab) is None
