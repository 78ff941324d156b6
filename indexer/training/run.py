"""Train from a folder: read and split the data, load extra pairs, fit, write the model.

The one core function behind `lookalike train`; the CLI only parses options into a
`TrainConfig` and calls `train_folder`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch

from indexer.training.config import TrainConfig
from indexer.training.data import (
    LabelledSet,
    load_set,
    read_manifest,
    split_by_image,
    split_by_label,
)
from indexer.training.feedback_pairs import PairLike, load_pairs
from indexer.training.trainer import Trainer, TrainResult

logger = logging.getLogger(__name__)


def split(data: LabelledSet, config: TrainConfig) -> tuple[LabelledSet, LabelledSet]:
    """Train/validation split: by label (default), by image, or by image when unlabelled."""
    if config.val_fraction == 0:
        return data, data.subset([])
    if config.split == "images" and data.supervised:
        return split_by_image(data, config.val_fraction, seed=config.seed)
    return split_by_label(data, config.val_fraction, seed=config.seed)


def load_training_set(
    data_dir: Path, labels_csv: Path | None, config: TrainConfig, *, max_pixels: int
) -> LabelledSet:
    """Decode the folder into memory, downscaled to twice the input size."""
    manifest = read_manifest(data_dir, labels_csv)
    data = load_set(
        data_dir,
        manifest,
        max_pixels=max_pixels,
        cache_side=2 * config.input_size,
        grayscale=config.grayscale,
    )
    mode = f"{data.num_labels} labels" if data.supervised else "unlabelled (self-supervised)"
    logger.info("loaded %d images from %s: %s", len(data), data_dir, mode)
    return data


def train_folder(
    config: TrainConfig,
    data_dir: Path,
    out: Path,
    *,
    labels_csv: Path | None = None,
    device: torch.device,
    resume: Path | None = None,
    feedback: Sequence[PairLike] = (),
    max_pixels: int = 64_000_000,
    progress: bool = True,
) -> TrainResult:
    """Train an encoder on the images under `data_dir` and write it to `out`."""
    data = load_training_set(data_dir, labels_csv, config, max_pixels=max_pixels)
    train_set, val_set = split(data, config)
    logger.info(
        "train %d images / %d labels, validation %d images / %d labels (%s split)",
        len(train_set),
        train_set.num_labels,
        len(val_set),
        val_set.num_labels if len(val_set) else 0,
        config.split,
    )
    pairs = load_pairs(feedback, max_pixels=max_pixels, cache_side=2 * config.input_size)
    if len(feedback):
        logger.info("feedback: %d of %d pairs usable", len(pairs), len(feedback))
    trainer = Trainer(config, train_set, val_set, device=device, pairs=pairs, progress=progress)
    return trainer.fit(out, resume=resume)
