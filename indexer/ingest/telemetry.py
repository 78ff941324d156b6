"""Process-local Prometheus counters of the indexing pipeline.

They live in their own registry, which `web.prometheus` exposes alongside the web app's own;
a worker's counts stay in the worker (the DB-derived gauges in `web.prometheus` cover those).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter

REGISTRY = CollectorRegistry(auto_describe=True)

IMAGES_EMBEDDED = Counter(
    "lookalike_images_embedded",
    "Images embedded and committed by this process, per model version.",
    ["model_version"],
    registry=REGISTRY,
)
IMAGES_PROCESSED = Counter(
    "lookalike_images_processed",
    "Images this process finished, by outcome (indexed, duplicate, failed).",
    ["outcome"],
    registry=REGISTRY,
)


class _Report(Protocol):
    indexed: list[int]
    duplicates: list[int]
    failed: list[tuple[int, str]]


def count_embedded(report: _Report, versions: Sequence[str]) -> None:
    """Count a committed batch: its new vectors per model version and its outcomes."""
    for version in versions:
        count_vectors(version, len(report.indexed))
    IMAGES_PROCESSED.labels(outcome="indexed").inc(len(report.indexed))
    IMAGES_PROCESSED.labels(outcome="duplicate").inc(len(report.duplicates))
    IMAGES_PROCESSED.labels(outcome="failed").inc(len(report.failed))


def count_vectors(version: str, count: int) -> None:
    """Count `count` committed vectors of one model version."""
    IMAGES_EMBEDDED.labels(model_version=version).inc(count)
