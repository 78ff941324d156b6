"""Calibrated decision thresholds: when are two images "the same"?

A `Calibration` is measured on labelled validation pairs and stored in a checkpoint's
metadata under "calibration"; every threshold is a similarity (higher = closer, see
`indexer.encoder.distances`), and a pair is "same" when its similarity >= the threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from indexer.encoder.distances import check_distance
from indexer.encoder.verification import error_rates, midpoint_below, verification_metrics

METADATA_KEY = "calibration"  # the training distance's calibration
ALL_KEY = "calibrations"  # {distance: calibration} for every supported distance


def far_key(target: float) -> str:
    """The dictionary key of a false-accept rate: 0.01 -> "0.01"."""
    return f"{target:g}"


@dataclass(frozen=True)
class Calibration:
    """Similarity thresholds measured on `n_pairs` validation pairs under `distance`."""

    distance: str
    eer: float
    eer_threshold: float
    far_thresholds: dict[str, float]
    n_pairs: int
    decision: str = "eer"  # the operating point that decides: "eer", or a far_thresholds key

    @property
    def threshold(self) -> float:
        """The similarity at the operating point: a pair is "same" when it reaches it."""
        if self.decision == "eer":
            return self.eer_threshold
        return self.far_thresholds[self.decision]

    @property
    def promised_far(self) -> float:
        """The false-accept rate the decision threshold had on the calibration pairs."""
        return self.eer if self.decision == "eer" else float(self.decision)

    def decide(self, similarity: float, *, threshold: float | None = None) -> bool:
        """True ("same") when similarity >= threshold; default: the operating point's."""
        limit = self.threshold if threshold is None else threshold
        return bool(similarity >= limit)

    def threshold_at_far(self, target: float) -> float:
        """The stored threshold for a false-accept rate, e.g. 0.01; KeyError if not measured."""
        return self.far_thresholds[far_key(target)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        """Rebuild from `to_dict()` output; raises ValueError on a malformed mapping."""
        try:
            calibration = cls(
                distance=check_distance(str(data["distance"])),
                eer=float(data["eer"]),
                eer_threshold=float(data["eer_threshold"]),
                far_thresholds={str(k): float(v) for k, v in data["far_thresholds"].items()},
                n_pairs=int(data["n_pairs"]),
                decision=str(data.get("decision", "eer")),
            )
            calibration.threshold  # noqa: B018  (an unknown operating point fails here)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a calibration: {exc}") from exc
        return calibration


def threshold_for_far(similarities: np.ndarray, same: np.ndarray, target: float) -> float:
    """The lowest similarity threshold whose false-accept rate on these pairs is <= target.

    Returned as the midpoint to the next lower score (identical decisions on these pairs);
    when even the top score is a different pair, a value just above every score.
    """
    thresholds, far, _ = error_rates(similarities, same)
    ok = np.flatnonzero(far <= target)
    if len(ok) == 0:
        return float(np.nextafter(thresholds[-1], np.inf))
    return midpoint_below(thresholds, int(ok[0]))


def calibrate(
    similarities: np.ndarray,
    same: np.ndarray,
    *,
    distance: str = "cosine",
    far_targets: Sequence[float] = (0.01, 0.001),
) -> Calibration:
    """Measure the EER threshold and one threshold per false-accept-rate target."""
    verification = verification_metrics(similarities, same)
    return Calibration(
        distance=check_distance(distance),
        eer=verification["eer"],
        eer_threshold=verification["eer_threshold"],
        far_thresholds={far_key(t): threshold_for_far(similarities, same, t) for t in far_targets},
        n_pairs=int(len(similarities)),
    )


def calibration_of(metadata: Mapping[str, Any]) -> Calibration | None:
    """The calibration stored in a checkpoint's metadata, or None when it has none."""
    data = metadata.get(METADATA_KEY)
    return None if data is None else Calibration.from_dict(data)


def calibrations_of(metadata: Mapping[str, Any]) -> dict[str, Calibration]:
    """Every calibration stored in a checkpoint's metadata, keyed by distance."""
    stored = {str(k): Calibration.from_dict(v) for k, v in (metadata.get(ALL_KEY) or {}).items()}
    single = calibration_of(metadata)
    if single is not None:
        stored.setdefault(single.distance, single)
    return stored
