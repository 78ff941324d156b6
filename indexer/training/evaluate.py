"""Evaluate an encoder on a labelled folder: retrieval, one-shot, verification, calibration.

`evaluate_embeddings` is the pure core (embeddings and labels in, an `EvaluationResult`
out) that training reuses on its validation split; `evaluate_folder` adds reading the
folder and embedding it with any model, the off-the-shelf one by default.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from indexer.catalog.errors import ConfigError, ImageError
from indexer.encoder.calibration import Calibration, calibrate
from indexer.encoder.checkpoint import load_model
from indexer.encoder.decode import decode_image, read_bytes
from indexer.encoder.embedder import Embedder
from indexer.training.data import Manifest, read_manifest
from indexer.training.embedding_calibration import calibrate_embeddings
from indexer.training.retrieval_metrics import (
    one_shot_accuracy,
    one_shot_max_way,
    pair_similarities,
    paired_similarities,
    retrieval_metrics,
    verification_metrics,
)
from indexer.training.verification_pairs import Pairs, forgery_pairs, pairs_from_csv

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluationResult:
    """Metrics, calibration and the verification pairs' similarities (p,) / same (p,)."""

    metrics: dict[str, float]
    calibration: Calibration
    similarities: np.ndarray
    same: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)
    calibrations: dict[str, Calibration] = field(default_factory=dict)  # every distance

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: metrics, calibration and info (not the per-pair arrays)."""
        return {
            "metrics": self.metrics,
            "calibration": self.calibration.to_dict(),
            "calibrations": {k: c.to_dict() for k, c in self.calibrations.items()},
            "info": self.info,
        }


def label_groups(labels: np.ndarray) -> np.ndarray | None:
    """Group of each label for one-shot trials: "Alphabet/character07" -> "Alphabet".

    None (no grouping) unless every label has a "/".
    """
    names = [str(label) for label in labels]
    if not names or not all("/" in name for name in names):
        return None
    return np.asarray([name.rsplit("/", 1)[0] for name in names])


def evaluate_embeddings(
    embeddings: np.ndarray,
    labels: np.ndarray,
    *,
    distance: str = "cosine",
    n_way: int = 20,
    pairs: Pairs | None = None,
    max_pairs: int = 20000,
    seed: int = 0,
) -> EvaluationResult:
    """All metrics for labelled embeddings (n, d).

    Verification uses `pairs` when given, else (a balanced sample of) all label pairs.
    One-shot accuracy is within label groups (see `label_groups`) with n_way lowered to the
    most labels a group offers; it is left out when fewer than two labels qualify.
    """
    labels = np.asarray(labels)
    metrics = retrieval_metrics(embeddings, labels, distance=distance)
    groups = label_groups(labels)
    metrics |= _one_shot(embeddings, labels, groups, n_way=n_way, distance=distance, seed=seed)
    if pairs is None:
        sims, same = pair_similarities(
            embeddings, labels, distance=distance, max_pairs=max_pairs, seed=seed
        )
    else:
        sims = paired_similarities(embeddings, pairs.first, pairs.second, distance=distance)
        same = pairs.same
    metrics |= verification_metrics(sims, same)
    info = {
        "n_images": len(labels),
        "n_labels": len(np.unique(labels)),
        "distance": distance,
        "n_pairs": len(same),
        "one_shot_groups": None if groups is None else len(np.unique(groups)),
    }
    return EvaluationResult(metrics, calibrate(sims, same, distance=distance), sims, same, info)


def _one_shot(
    embeddings: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray | None,
    *,
    n_way: int,
    distance: str,
    seed: int,
) -> dict[str, float]:
    """{"one_shot_accuracy", "one_shot_n_way"} with n_way capped by the labels a group has."""
    way = min(n_way, one_shot_max_way(labels, groups=groups))
    if way < 2:
        return {}
    accuracy = one_shot_accuracy(
        embeddings, labels, n_way=way, seed=seed, distance=distance, groups=groups
    )
    return {"one_shot_accuracy": accuracy, "one_shot_n_way": float(way)}


def subsample(manifest: Manifest, max_images: int | None, *, seed: int = 0) -> Manifest:
    """At most `max_images` entries, taken round-robin over labels, each label's in seeded order.

    Every label keeps images while the budget allows, so retrieval stays meaningful.
    """
    if max_images is None or len(manifest) <= max_images:
        return manifest
    rng = np.random.default_rng(seed)
    by_label: dict[str | None, list[int]] = {}
    for i, (_, label) in enumerate(manifest):
        by_label.setdefault(label, []).append(i)
    queues = [list(rng.permutation(members)) for members in by_label.values()]
    picked: list[int] = []
    while len(picked) < max_images:
        for queue in queues:
            if queue and len(picked) < max_images:
                picked.append(int(queue.pop()))
    return [manifest[i] for i in sorted(picked)]


def embed_manifest(
    root: Path, manifest: Manifest, embedder: Embedder, *, max_pixels: int, progress: bool
) -> tuple[np.ndarray, list[int]]:
    """Embed each listed image in batches; return (kept, d) embeddings and kept indices."""
    chunks: list[np.ndarray] = []
    kept: list[int] = []
    step = embedder.batch_size
    for start in tqdm(range(0, len(manifest), step), disable=not progress, unit="batch"):
        images = []
        for i in range(start, min(start + step, len(manifest))):
            try:
                data = read_bytes(root / manifest[i][0])
                images.append(
                    decode_image(data, max_pixels=max_pixels, draft_size=embedder.draft_size)
                )
                kept.append(i)
            except ImageError as exc:
                logger.warning("skipping %s: %s", manifest[i][0], exc.message)
        chunks.append(embedder.embed(images))
    return np.concatenate(chunks) if chunks else np.zeros((0, embedder.dim), np.float32), kept


def _verification_pairs(
    pairs_csv: str | Path | None,
    forgery_suffix: str | None,
    relpaths: list[str],
    labels: np.ndarray,
) -> Pairs | None:
    if pairs_csv is not None:
        return pairs_from_csv(Path(pairs_csv), relpaths)
    if forgery_suffix is not None:
        return forgery_pairs(list(labels), suffix=forgery_suffix)
    return None


def labelled_manifest(root: Path, labels_csv: str | Path | None) -> Manifest:
    """The folder's (relpath, label) list; ConfigError when it has no labels."""
    manifest = read_manifest(root, None if labels_csv is None else Path(labels_csv))
    if any(label is None for _, label in manifest):
        raise ConfigError(f"{root} has no labels: give --labels or use one sub-folder per label")
    return manifest


def evaluate_folder(
    data_dir: str | Path,
    labels_csv: str | Path | None = None,
    *,
    model_path: str | None = None,
    device: str = "cpu",
    distance: str = "cosine",
    batch_size: int = 32,
    max_images: int | None = None,
    n_way: int = 20,
    pairs_csv: str | Path | None = None,
    forgery_suffix: str | None = None,
    max_pixels: int = 64_000_000,
    progress: bool = False,
) -> EvaluationResult:
    """Embed a labelled folder with a model (default: off-the-shelf) and evaluate it.

    Labels come from `labels_csv`, else `data_dir/labels.csv`, else sub-folder names.
    Verification pairs: `pairs_csv` rows, or with `forgery_suffix` genuine-vs-forgery pairs
    per writer (see `forgery_pairs`), else label pairs.
    """
    started = time.perf_counter()
    root = Path(data_dir).expanduser()
    manifest = subsample(labelled_manifest(root, labels_csv), max_images)
    model = load_model(model_path)
    embedder = Embedder(model, device=device, batch_size=batch_size)
    embeddings, kept = embed_manifest(
        root, manifest, embedder, max_pixels=max_pixels, progress=progress
    )
    relpaths = [manifest[i][0] for i in kept]
    labels = np.asarray([str(manifest[i][1]) for i in kept])
    pairs = _verification_pairs(pairs_csv, forgery_suffix, relpaths, labels)
    try:
        result = evaluate_embeddings(
            embeddings, labels, distance=distance, n_way=n_way, pairs=pairs
        )
    except ValueError as exc:  # too few labelled images for a metric
        raise ConfigError(f"cannot evaluate {root}: {exc}") from exc
    info = {
        "data": str(root),
        "model": model_path or "off-the-shelf",
        "model_version": model.version,
        "skipped_images": len(manifest) - len(kept),
        **result.info,
        "pairs": "csv" if pairs_csv else ("forgery" if forgery_suffix else "labels"),
        "seconds": round(time.perf_counter() - started, 2),
    }
    return replace(result, info=info, calibrations=calibrate_embeddings(embeddings, labels))
