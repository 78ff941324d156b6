"""Verification: are two images the same thing? One similarity, one calibrated decision."""

from __future__ import annotations

from dataclasses import dataclass

from indexer.catalog.errors import BadRequestError
from indexer.catalog.fields import check_score
from search.engine import QueryEngine
from search.scores import scores_between


@dataclass(frozen=True)
class Comparison:
    similarity: float  # the score under `distance_kind`, higher is closer
    distance: float  # lower is closer
    same: bool | None  # None: no fitting threshold (not calibrated, and none given)
    threshold: float | None
    threshold_source: str  # "request", "model" (its own), "catalog" (calibrate) or "none"
    promised_far: float | None  # the calibration's false-accept rate at that threshold
    distance_kind: str
    model: str


def compare_images(
    engine: QueryEngine,
    first: bytes,
    second: bytes,
    *,
    distance: str | None = None,
    threshold: float | None = None,
) -> Comparison:
    """Embed both images with the serving model and decide with the calibrated threshold.

    `threshold` (a score) overrides the model's calibration for this distance.
    """
    check_score("threshold", threshold)
    kind = distance or engine.distance
    serving = engine.serving.current()
    a, b = engine.embed_bytes(first, serving), engine.embed_bytes(second, serving)  # (1, D)
    try:
        scores = scores_between(a, b, kind)
    except ValueError as exc:
        raise BadRequestError(str(exc)) from exc
    similarity, dist = float(scores.score[0, 0]), float(scores.distance[0, 0])
    calibration = serving.calibrations.get(kind)
    promised: float | None = None
    if threshold is not None:
        limit, source = threshold, "request"
    elif calibration is not None:
        limit, source = calibration.threshold, serving.calibration_source
        promised = calibration.promised_far
    else:
        limit, source = None, "none"
    same = None if limit is None else bool(similarity >= limit)
    return Comparison(similarity, dist, same, limit, source, promised, kind, serving.version)
