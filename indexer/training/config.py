"""The training configuration: one frozen dataclass holding every option of `lookalike train`."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from indexer.catalog.distance_names import DISTANCES, DistanceName, check_distance
from indexer.encoder.fit_names import check_fit

LossName = Literal["triplet", "contrastive"]
MinerName = Literal["batch-hard", "semi-hard", "all"]
DistortionName = Literal["photo", "affine", "none"]
DISTORTIONS: tuple[DistortionName, ...] = ("photo", "affine", "none")
LOSSES: tuple[LossName, ...] = ("triplet", "contrastive")
MINERS: tuple[MinerName, ...] = ("batch-hard", "semi-hard", "all")


@dataclass(frozen=True)
class TrainConfig:
    """Every choice that shapes a training run; stored in the checkpoint metadata.

    `margin=None` picks a default that suits the distance (see `resolved_margin`).
    `per_label` is K of the P x K batch; in self-supervised mode it is the number of
    augmented views of each image.

    `distortion` picks the training views: "photo" (per-image PIL crop, affine, flip and
    colour jitter), "affine" (line art: images resized once, batched random affine maps in
    Koch et al.'s ranges) or "none" (the resized images as they are). `rotations_as_classes`
    (needs "affine" or "none") turns each training label into four, one per quarter turn.
    """

    backbone: str = "efficientnet_lite0"
    grayscale: bool = False
    width: int = 16  # small_cnn only: first-stage channels (capacity grows with width^2)
    dim: int = 256
    input_size: int = 224
    fit: str = "stretch"  # "stretch", "pad" or "ink": see indexer.encoder.fit
    loss: LossName = "triplet"
    miner: MinerName = "semi-hard"
    distance: DistanceName = "cosine"
    margin: float | None = None
    epochs: int = 20
    steps_per_epoch: int | None = None  # None: about one pass over the training images
    batch_labels: int = 8  # P
    per_label: int = 4  # K
    lr: float = 1e-3
    backbone_lr_mult: float = 0.1
    freeze_backbone: bool = False
    weight_decay: float = 1e-4
    warmup_fraction: float = 0.1
    grad_clip: float = 5.0
    flip: bool = True
    distortion: DistortionName = "photo"
    rotations_as_classes: bool = False
    val_fraction: float = 0.2
    split: Literal["labels", "images"] = "labels"
    patience: int = 5
    seed: int = 0
    feedback_weight: float = 0.5
    feedback_batch: int = 16
    collapse_threshold: float = 0.1
    # Labels W + forgery_suffix are skilled forgeries of W: validation keeps a writer's labels
    # together and selects on genuine-vs-forgery ROC AUC (see `selection_metric`).
    forgery_suffix: str | None = None

    def __post_init__(self) -> None:
        check_distance(self.distance)
        _check_choice("loss", self.loss, LOSSES)
        _check_choice("miner", self.miner, MINERS)
        _check_choice("split", self.split, ("labels", "images"))
        _check_choice("distortion", self.distortion, DISTORTIONS)
        check_fit(self.fit)
        if self.rotations_as_classes and self.distortion == "photo":
            raise ValueError('rotations_as_classes needs distortion "affine" or "none"')
        if self.batch_labels < 2 or self.per_label < 2:
            raise ValueError("a batch needs at least 2 labels and 2 images per label")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.grayscale and self.backbone != "small_cnn":
            raise ValueError("grayscale input needs the small_cnn backbone")
        if self.width < 4:
            raise ValueError(f"width must be at least 4, got {self.width}")
        if self.epochs < 1 or self.dim < 1 or self.input_size < 16:
            raise ValueError("epochs and dim must be positive and input_size at least 16")

    @property
    def selection_metric(self) -> str:
        """The validation metric that keeps the best weights, stops early and judges the run."""
        return "forgery_auc" if self.forgery_suffix else "map@r"

    @property
    def batch_size(self) -> int:
        return self.batch_labels * self.per_label

    @property
    def resolved_margin(self) -> float:
        """The margin in the units of the distance: 0.2 on the unit sphere, scaled for L1."""
        if self.margin is not None:
            return self.margin
        if self.distance == "manhattan":
            return 0.2 * 0.8 * math.sqrt(self.dim)  # L1 of unit vectors grows like sqrt(dim)
        return 0.2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


__all__ = [
    "DISTANCES",
    "DISTORTIONS",
    "LOSSES",
    "DistortionName",
    "MINERS",
    "LossName",
    "MinerName",
    "TrainConfig",
]
