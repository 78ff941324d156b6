"""Timing shared by the benchmarks: medians over repeated passes, never a single run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def median_rate(fn: Callable[[Sequence[T]], object], items: Sequence[T], *, batch: int,
                repeats: int) -> float:  # fmt: skip
    """Items per second calling `fn` on consecutive slices of `batch` items (median pass)."""
    spent = []
    for _ in range(repeats):
        started = time.perf_counter()
        for i in range(0, len(items), batch):
            fn(items[i : i + batch])
        spent.append(time.perf_counter() - started)
    return len(items) / statistics.median(spent)


def median_ms(fn: Callable[[T], object], items: Sequence[T]) -> float:
    """Median milliseconds of one call per item."""
    spent = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        spent.append(time.perf_counter() - started)
    return 1000 * statistics.median(spent)
