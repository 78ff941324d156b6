"""The time budget of a training run: parsing it, sizing the schedule to it, accounting for it.

A `Ledger` starts when the run starts and adds up the wall-clock seconds of each phase;
`report()` lists them with the remainder as "other", so the phases sum to the wall time.
`size_schedule` turns a measured step time and validation time into epochs x steps that fit
the seconds left; the trainer also stops at the budget when the estimate was wrong.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

DEFAULT_BUDGET_S = {"cpu": 15 * 60.0, "cuda": 60 * 60.0}
PHASES = ("loading", "baseline", "timing", "training", "validation", "calibration+writing")
VALIDATION_SHARE = 0.2  # at most this share of the training time goes to per-epoch validation
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_BUDGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)?\s*$", re.IGNORECASE)


def parse_budget(text: str) -> float | None:
    """Seconds in '90s', '15m', '1h', '1.5h' or '600'; None for '0' or 'none' (no budget)."""
    if text.strip().lower() in ("none", "off"):
        return None
    match = _BUDGET.match(text)
    if match is None:
        raise ValueError(f"a time budget looks like 90s, 15m, 1h or 600 (seconds), got {text!r}")
    seconds = float(match.group(1)) * _UNITS[(match.group(2) or "").lower()]
    return seconds or None


def default_budget(device_type: str) -> float:
    """A budget that fits a laptop: 15 minutes on CPU, an hour on an accelerator."""
    return DEFAULT_BUDGET_S.get(device_type, DEFAULT_BUDGET_S["cuda"])


def describe(seconds: float | None) -> str:
    if seconds is None:
        return "no budget"
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min" if seconds >= 60 and seconds % 60 == 0 else f"{seconds:g} s"


@dataclass
class Ledger:
    """Wall-clock seconds per phase of one run, against an optional budget."""

    budget_s: float | None
    started: float = field(default_factory=time.monotonic)
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - start

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def left(self) -> float:
        """Seconds left of the budget (infinite without one)."""
        return math.inf if self.budget_s is None else self.budget_s - self.elapsed()

    def report(self) -> dict[str, Any]:
        """Budget, wall time and each phase's seconds and share of the wall time."""
        wall = self.elapsed()
        phases = dict(self.seconds) | {"other": max(0.0, wall - sum(self.seconds.values()))}
        return {
            "budget_s": self.budget_s,
            "wall_s": round(wall, 3),
            "phases": {
                name: {"s": round(s, 3), "share": round(s / wall, 4) if wall else 0.0}
                for name, s in phases.items()
            },
        }


@dataclass(frozen=True)
class Schedule:
    epochs: int
    steps_per_epoch: int
    sized: bool  # False: the planned schedule already fitted


def size_schedule(
    *, available_s: float, step_s: float, val_s: float, epochs: int, steps_per_epoch: int
) -> Schedule:
    """Epochs x steps (each epoch ending in a validation) that fit in `available_s`.

    The planned `epochs` x `steps_per_epoch` is kept when it fits. Otherwise validation gets
    at most `VALIDATION_SHARE` of the time (fewer, longer epochs when it is slow) and the
    steps fill the rest; never more steps per epoch than planned, never less than one.
    """
    per_epoch = steps_per_epoch * step_s + val_s
    if epochs * per_epoch <= available_s:
        return Schedule(epochs, steps_per_epoch, sized=False)
    fit = int(VALIDATION_SHARE * available_s / val_s) if val_s > 0 else epochs
    n_epochs = min(epochs, max(1, fit))
    steps = int((available_s / n_epochs - val_s) / step_s) if step_s > 0 else steps_per_epoch
    steps = max(1, min(steps, steps_per_epoch))
    if steps == steps_per_epoch:  # validation is cheap: fewer full epochs
        n_epochs = min(epochs, max(1, int(available_s / per_epoch)))
    return Schedule(n_epochs, steps, sized=True)
