"""Calibrate a model on the catalog owner's own labelled images or labelled pairs.

A verdict ("same", "match", a gallery's "known") means something only when its threshold
was measured on images like the ones it judges. `calibrate_folder` embeds the owner's
images with the serving model and measures, for every distance, the similarity at the
operating point (the equal-error-rate point, or a chosen false-accept rate) on:
- label pairs: every image of a labelled folder against the others (same label = same), or
- listed pairs: a CSV `relpath1,relpath2,same`, or genuine-vs-forgery pairs per writer.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from indexer.catalog.errors import ConfigError
from indexer.encoder.calibration import Calibration, calibrate, far_key
from indexer.encoder.distances import DISTANCES
from indexer.encoder.embedder import Embedder
from indexer.training.data import Manifest
from indexer.training.evaluate import embed_manifest, labelled_manifest, subsample
from indexer.training.retrieval_metrics import pair_indices, paired_similarities
from indexer.training.verification_pairs import Pairs, forgery_pairs, pairs_from_csv

MIN_PAIRS = 20  # of each kind: fewer cannot promise any rate


@dataclass(frozen=True)
class FolderCalibration:
    """One calibration per distance, and what it was measured on."""

    calibrations: dict[str, Calibration]
    measured_on: dict[str, Any]

    def record(self) -> dict[str, Any]:
        """The JSON stored in the catalog for the model."""
        return {
            "calibrations": {k: c.to_dict() for k, c in self.calibrations.items()},
            "measured_on": self.measured_on,
        }


def operating_point(far: float | None) -> str:
    """The decision key for a target false-accept rate (None: the equal-error-rate point)."""
    if far is None:
        return "eer"
    if not 0.0 < far < 1.0:
        raise ConfigError(f"--far must be between 0 and 1, got {far}")
    return far_key(far)


def calibrate_pairs(
    embeddings: np.ndarray, pairs: Pairs, *, far: float | None = None
) -> dict[str, Calibration]:
    """Calibrate every distance on `pairs` of rows of `embeddings` (n, d)."""
    same = np.asarray(pairs.same, dtype=bool)
    n_same, n_diff = int(same.sum()), int((~same).sum())
    if min(n_same, n_diff) < MIN_PAIRS:
        raise ConfigError(
            f"calibration needs at least {MIN_PAIRS} same and {MIN_PAIRS} different pairs, "
            f"got {n_same} and {n_diff}: label more images (two or more per label)"
        )
    decision = operating_point(far)
    targets = (0.01, 0.001) if far is None else tuple(sorted({0.01, 0.001, far}))
    result: dict[str, Calibration] = {}
    for distance in DISTANCES:
        scores = paired_similarities(embeddings, pairs.first, pairs.second, distance=distance)
        measured = calibrate(scores, same, distance=distance, far_targets=targets)
        result[distance] = replace(measured, decision=decision)
    return result


def rejection_rate(calibration: Calibration, scores: np.ndarray, same: np.ndarray) -> float:
    """The share of same pairs the decision threshold turns away (FRR)."""
    accepted = scores[same] >= calibration.threshold
    return float(1.0 - accepted.mean())


def calibrate_folder(
    data_dir: str | Path,
    embedder: Embedder,
    *,
    labels_csv: str | Path | None = None,
    pairs_csv: str | Path | None = None,
    forgery_suffix: str | None = None,
    far: float | None = None,
    max_images: int | None = None,
    max_pixels: int = 64_000_000,
    progress: bool = False,
) -> FolderCalibration:
    """Embed the owner's images with `embedder` and calibrate it on their pairs."""
    started = time.perf_counter()
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise ConfigError(f"data folder not found: {root}")
    manifest: Manifest
    if pairs_csv is not None:
        manifest = [(relpath, None) for relpath in _listed_images(Path(pairs_csv))]
    else:
        manifest = subsample(labelled_manifest(root, labels_csv), max_images)
    embeddings, kept = embed_manifest(
        root, manifest, embedder, max_pixels=max_pixels, progress=progress
    )
    relpaths = [manifest[i][0] for i in kept]
    labels = np.asarray([str(manifest[i][1]) for i in kept])
    if pairs_csv is not None:
        pairs, kind = pairs_from_csv(Path(pairs_csv), relpaths), "csv"
    elif forgery_suffix is not None:
        pairs, kind = forgery_pairs(list(labels), suffix=forgery_suffix), "forgery"
    else:
        first, second = pair_indices(labels)
        pairs, kind = Pairs(first, second, labels[first] == labels[second]), "labels"
    calibrations = calibrate_pairs(embeddings, pairs, far=far)
    same = np.asarray(pairs.same, dtype=bool)
    frr = {
        d: rejection_rate(c, _scores(embeddings, pairs, d), same) for d, c in calibrations.items()
    }
    measured_on = {
        "data": str(root),
        "pairs": kind,
        "n_images": len(kept),
        "n_labels": int(len(np.unique(labels))) if pairs_csv is None else None,
        "skipped_images": len(manifest) - len(kept),
        "n_same_pairs": int(same.sum()),
        "n_different_pairs": int((~same).sum()),
        "false_reject_rate": frr,
        "model_version": embedder.version,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.perf_counter() - started, 2),
    }
    return FolderCalibration(calibrations, measured_on)


def _scores(embeddings: np.ndarray, pairs: Pairs, distance: str) -> np.ndarray:
    return paired_similarities(embeddings, pairs.first, pairs.second, distance=distance)


def _listed_images(pairs_csv: Path) -> list[str]:
    """The distinct relpaths a pairs CSV names, in first-seen order."""
    if not pairs_csv.is_file():
        raise ConfigError(f"pairs file not found: {pairs_csv}")
    seen: dict[str, None] = {}
    with pairs_csv.open(newline="") as handle:
        for row in csv.DictReader(handle):
            for key in ("relpath1", "relpath2"):
                if row.get(key):
                    seen.setdefault(row[key], None)
    if not seen:
        raise ConfigError(f"{pairs_csv} needs the columns relpath1,relpath2,same")
    return list(seen)
