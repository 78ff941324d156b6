"""Train from a folder: read and split the data, load extra pairs, fit, write the model.

The core behind `lookalike train`: `plan_run` decodes the folder, inspects it and chooses
the recipe (the options given win), `train_folder` trains it within the time budget.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from indexer.training.budget import Ledger
from indexer.training.config import TrainConfig
from indexer.training.data import (
    LabelledSet,
    load_set,
    read_manifest,
    split_by_image,
    split_by_label,
)
from indexer.training.data_profile import DataProfile, inspect_images
from indexer.training.feedback_pairs import PairLike, load_pairs
from indexer.training.never_worse import Reference, score_default_model
from indexer.training.recipe import choose_recipe
from indexer.training.trainer import Trainer, TrainResult
from indexer.training.verification_pairs import writer_of

logger = logging.getLogger(__name__)
INSPECT_SIDE = 448  # decode for inspection at twice the largest default input


@dataclass(frozen=True)
class Plan:
    """The recipe chosen for a folder, why, and the folder decoded in the recipe's mode."""

    config: TrainConfig
    reasons: list[str]
    profile: DataProfile
    data: LabelledSet


def plan_run(
    data_dir: Path,
    labels_csv: Path | None,
    *,
    overrides: Mapping[str, Any],
    device: torch.device,
    ledger: Ledger,
    max_pixels: int,
) -> Plan:
    """Decode the folder, measure it and choose the recipe; `overrides` win every choice."""
    with ledger.phase("loading"):
        side = max(INSPECT_SIDE, 2 * int(overrides.get("input_size", 0)))
        manifest = read_manifest(data_dir, labels_csv)
        raw = load_set(data_dir, manifest, max_pixels=max_pixels, cache_side=side)
        profile = inspect_images(raw)
        config, reasons = choose_recipe(
            profile, device=device.type, budget_s=ledger.budget_s, overrides=overrides
        )
        data = raw.prepared(grayscale=config.grayscale, cache_side=2 * config.input_size)
    return Plan(config, reasons, profile, data)


def split(data: LabelledSet, config: TrainConfig) -> tuple[LabelledSet, LabelledSet]:
    """Train/validation split: by label (default), by image, or by image when unlabelled."""
    if config.val_fraction == 0:
        return data, data.subset([])
    if config.split == "images" and data.supervised:
        return split_by_image(data, config.val_fraction, seed=config.seed)
    suffix = config.forgery_suffix
    group = (lambda name: writer_of(name, suffix)) if suffix else None
    return split_by_label(data, config.val_fraction, seed=config.seed, group=group)


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
    data: LabelledSet | None = None,
    ledger: Ledger | None = None,
    compare_default: bool = False,
    metadata: dict[str, Any] | None = None,
) -> TrainResult:
    """Train an encoder on the images under `data_dir` and write it to `out`.

    `data` is the folder already decoded (by `plan_run`); `ledger` times the run against its
    budget; `compare_default` also scores the off-the-shelf model on the validation labels.
    """
    ledger = ledger or Ledger(None)
    with ledger.phase("loading"):
        if data is None:
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
    reference: tuple[Reference | None, str] = (None, "not compared")
    if compare_default:
        with ledger.phase("baseline"):
            reference = score_default_model(
                val_set, config.distance, device=device, budget_s=ledger.budget_s,
                forgery_suffix=config.forgery_suffix,
            )  # fmt: skip
        logger.info("off-the-shelf model: %s", reference[1])
    with ledger.phase("loading"):  # the validation inputs are prepared here
        trainer = Trainer(
            config, train_set, val_set, device=device, pairs=pairs, progress=progress,
            ledger=ledger, reference=reference, metadata=metadata,
        )  # fmt: skip
    return trainer.fit(out, resume=resume)
