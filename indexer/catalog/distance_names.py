"""The names of the distances Lookalike supports (stored with galleries, chosen per request)."""

from __future__ import annotations

from typing import Literal

DistanceName = Literal["cosine", "euclidean", "manhattan"]
DISTANCES: tuple[DistanceName, ...] = ("cosine", "euclidean", "manhattan")


def check_distance(name: str) -> DistanceName:
    if name not in DISTANCES:
        raise ValueError(f"distance must be one of {DISTANCES}, got {name!r}")
    return name  # type: ignore[return-value]
