"""The time budget: parsing, sizing the schedule, accounting, and the never-worse verdict."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from indexer.training.budget import Ledger, parse_budget, size_schedule
from indexer.training.data import LabelledSet
from indexer.training.never_worse import _spread_sample, verdict


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("1h", 3600), ("1.5h", 5400), ("600", 600), (" 2 min ", 120)],
)
def test_budgets_parse_to_seconds(text: str, seconds: float) -> None:
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["0", "none", "None", "0s"])
def test_zero_or_none_means_no_budget(text: str) -> None:
    assert parse_budget(text) is None


@pytest.mark.parametrize("text", ["", "15 minutes", "-5m", "1d", "fast"])
def test_bad_budgets_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="90s, 15m"):
        parse_budget(text)


def test_a_schedule_that_fits_is_kept() -> None:
    s = size_schedule(available_s=100, step_s=0.1, val_s=1, epochs=5, steps_per_epoch=10)
    assert (s.epochs, s.steps_per_epoch, s.sized) == (5, 10, False)


def test_a_schedule_too_long_is_sized_to_the_time_left() -> None:
    s = size_schedule(available_s=100, step_s=1.0, val_s=4, epochs=20, steps_per_epoch=100)
    assert s.sized and s.epochs * (s.steps_per_epoch * 1.0 + 4) <= 100
    assert s.epochs * 4 <= 0.2 * 100 + 1e-9  # validation gets at most a fifth
    cheap = size_schedule(available_s=100, step_s=1.0, val_s=0.01, epochs=20, steps_per_epoch=3)
    assert cheap.steps_per_epoch == 3 and cheap.epochs * (3 + 0.01) <= 100
    hopeless = size_schedule(available_s=1, step_s=5, val_s=5, epochs=20, steps_per_epoch=50)
    assert (hopeless.epochs, hopeless.steps_per_epoch) == (1, 1)


def test_the_ledger_report_sums_to_the_wall_time() -> None:
    ledger = Ledger(10.0)
    with ledger.phase("training"):
        time.sleep(0.02)
    with ledger.phase("validation"):
        time.sleep(0.01)
    time.sleep(0.01)
    report = ledger.report()
    total = sum(p["s"] for p in report["phases"].values())
    assert total == pytest.approx(report["wall_s"], abs=0.01)
    assert report["phases"]["other"]["s"] >= 0.005 and ledger.left() < 10


def test_equal_is_not_better_and_both_references_must_be_beaten() -> None:
    same = verdict({"map@r": 0.4}, {"map@r": 0.4})
    assert not same["beats_starting_model"] and not same["beats_baseline"]
    better = verdict({"map@r": 0.5}, {"map@r": 0.4})
    assert better["beats_baseline"] and better["beats_default_model"] is None


def test_the_default_model_sample_keeps_many_labels_within_its_cap() -> None:
    labels = np.repeat(np.arange(48), 20)  # 48 labels x 20 images, like Omniglot validation
    image = Image.new("L", (8, 8))
    names = tuple(str(i) for i in range(48))
    data = LabelledSet(Path("."), tuple(map(str, range(960))), labels, names, (image,) * 960)
    sample = _spread_sample(data, 200)
    assert len(sample) <= 200 and sample.num_labels == 48
    assert np.bincount(sample.labels).max() == 4
    assert _spread_sample(data, 40).num_labels == 20  # 2 images each: still many labels
    assert _spread_sample(data, 5000) is data
