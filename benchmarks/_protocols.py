"""The protocols of `train_quality.py`: for each shared data set, which images train a model,
which held-out images both models (off-the-shelf and trained) are scored on, and how.

A split never lets the trained model see what it is tested on: whole Omniglot alphabets,
COIL-20 objects and signature writers (genuine signatures and forgeries together) are held
out. Caltech101-7 has only 7 categories, too few for a label-disjoint split (see CALTECH).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from indexer.training.config import TrainConfig

Row = tuple[str, str]  # (relpath, label)
Split = tuple[list[Row], list[Row]]  # (training rows, held-out test rows)
Splitter = Callable[[list[Row]], Split]
LOWER_IS_BETTER = frozenset({"eer"})


@dataclass(frozen=True)
class Protocol:
    """One benchmark set: its folder, split, training options and the metrics it reports."""

    key: str
    folder: str
    protocol: str  # one line for the table
    split: Splitter
    config: TrainConfig
    headline: str  # the metric that decides "trained beats off-the-shelf"
    metrics: tuple[str, ...]
    quick: dict[str, Any] = field(default_factory=dict)  # TrainConfig overrides for --quick
    forgery_suffix: str | None = None

    def train_config(self, *, quick: bool) -> TrainConfig:
        return replace(self.config, **self.quick) if quick else self.config


def read_rows(labels_csv: Path) -> list[Row]:
    """The (relpath, label) rows of a `labels.csv`."""
    with labels_csv.open(newline="") as handle:
        return [(r["relpath"], r["label"]) for r in csv.DictReader(handle)]


def write_rows(path: Path, rows: list[Row]) -> Path:
    """Write rows as a `relpath,label` CSV that `train_folder` / `evaluate_folder` read."""
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["relpath", "label"])
        out.writerows(rows)
    return path


def hold_out_groups(groups: frozenset[str]) -> Splitter:
    """Test on the labels whose group ("Greek/character07" -> "Greek") is in `groups`."""

    def split(rows: list[Row]) -> Split:
        test = [r for r in rows if r[1].split("/")[0] in groups]
        return [r for r in rows if r[1].split("/")[0] not in groups], test

    return split


def hold_out_keys(fraction: float, *, key: Callable[[str], str] = str, seed: int = 0) -> Splitter:
    """Test on a seeded random `fraction` of label keys; all labels of a key go together."""

    def split(rows: list[Row]) -> Split:
        keys = sorted({key(label) for _, label in rows})
        rng = np.random.default_rng(seed)
        held = set(rng.permutation(keys)[: max(2, round(fraction * len(keys)))].tolist())
        return [r for r in rows if key(r[1]) not in held], [r for r in rows if key(r[1]) in held]

    return split


def hold_out_images(every: int) -> Splitter:
    """Test on every `every`-th image of each label (the same labels on both sides)."""

    def split(rows: list[Row]) -> Split:
        seen: dict[str, int] = {}
        train: list[Row] = []
        test: list[Row] = []
        for row in rows:
            seen[row[1]] = seen.get(row[1], 0) + 1
            (test if seen[row[1]] % every == 0 else train).append(row)
        return train, test

    return split


def writer(label: str) -> str:
    """The writer of a signature label: "012_forg" -> "012"."""
    return label.removesuffix("_forg")


RETRIEVAL = ("map@r", "recall@1")
GRAY: dict[str, Any] = {"backbone": "small_cnn", "grayscale": True, "flip": False}

OMNIGLOT = Protocol(
    key="omniglot",
    folder="omniglot-background",
    protocol="train 6 alphabets, test Greek + Latin (unseen alphabets); small CNN (width 64) "
    "from scratch, grayscale 32 px",
    split=hold_out_groups(frozenset({"Greek", "Latin"})),
    config=TrainConfig(
        **GRAY,
        input_size=32,
        width=64,
        dim=128,
        epochs=40,
        steps_per_epoch=100,
        batch_labels=16,
        per_label=4,
        lr=3e-3,
        val_fraction=0.1,
        patience=40,
    ),
    headline="one_shot_accuracy",
    metrics=("one_shot_accuracy", *RETRIEVAL),
    quick={"epochs": 4, "steps_per_epoch": 50},
)

# Seven categories leave too few for a label-disjoint test (2-3 labels, one of them the 435
# Faces_easy photos): held-out images of the same categories instead, the protocol of the
# trainer's Caltech test, with the pretrained backbone frozen and a new head trained.
CALTECH = Protocol(
    key="caltech",
    folder="caltech101-7",
    protocol="every 3rd image of each of the 7 categories held out (too few labels to hold "
    "out categories); frozen ImageNet backbone + trained head",
    split=hold_out_images(3),
    config=TrainConfig(
        dim=128,
        freeze_backbone=True,
        split="images",
        epochs=4,
        steps_per_epoch=10,
        batch_labels=7,
        per_label=4,
        lr=1e-3,
        val_fraction=0.2,
        patience=4,
    ),
    headline="map@r",
    metrics=RETRIEVAL,
    quick={"epochs": 2, "steps_per_epoch": 5, "input_size": 96},
)

COIL = Protocol(
    key="coil",
    folder="coil20-32px",
    protocol="train 15 objects, test 5 unseen objects (all 50 poses each); ImageNet "
    "backbone fine-tuned at 0.1x the head's learning rate",
    split=hold_out_keys(0.25),
    config=TrainConfig(
        input_size=128,
        dim=128,
        epochs=10,
        steps_per_epoch=10,
        batch_labels=8,
        per_label=4,
        lr=1e-3,
        backbone_lr_mult=0.1,
        val_fraction=0.2,
        patience=10,
    ),
    headline="map@r",
    metrics=RETRIEVAL,
    quick={"epochs": 3, "steps_per_epoch": 10, "input_size": 64},
)

SIGNATURES = Protocol(
    key="signatures",
    folder="signatures-train",
    protocol="train 32 writers, test 11 unseen writers (genuine + skilled forgeries); "
    "EER of genuine-genuine vs genuine-forgery pairs; small CNN from scratch, grayscale 128 px",
    split=hold_out_keys(0.25, key=writer),
    config=TrainConfig(
        **GRAY,
        input_size=128,
        dim=128,
        epochs=12,
        steps_per_epoch=40,
        batch_labels=16,
        per_label=4,
        lr=3e-3,
        val_fraction=0.2,
        patience=12,
    ),
    headline="eer",
    metrics=("eer", *RETRIEVAL),
    quick={"epochs": 4, "steps_per_epoch": 20, "input_size": 64},
    forgery_suffix="_forg",
)

# 13 identities, 61 photos: too few to hold identities out; every 3rd photo of each held out.
FACES = Protocol(
    key="faces",
    folder="faces-small",
    protocol="every 3rd photo of each of the 13 identities held out (too few identities to hold "
    "out); frozen ImageNet backbone + trained head",
    split=hold_out_images(3),
    config=TrainConfig(
        dim=128,
        freeze_backbone=True,
        split="images",
        epochs=10,
        steps_per_epoch=10,
        batch_labels=8,
        per_label=2,
        lr=1e-3,
        val_fraction=0.2,
        patience=5,
    ),
    headline="map@r",
    metrics=(*RETRIEVAL, "eer"),
    quick={"epochs": 2, "steps_per_epoch": 5, "input_size": 96},
)

PROTOCOLS = {p.key: p for p in (OMNIGLOT, CALTECH, COIL, SIGNATURES, FACES)}
