"""The training loop: a shared-weight Siamese encoder fitted with a metric loss on P x K batches.

`Trainer.fit` scores the untrained model first (the baseline), then trains epoch by epoch
with AdamW, warm-up + cosine decay, gradient clipping and bf16 autocast on CUDA, validates
(mAP@R) after every epoch, saves a resumable state, stops early when the metric stalls, and
writes the best weights as a model checkpoint with metrics and calibrated thresholds.
With a budgeted `Ledger` it times a few steps after the baseline, sizes the schedule to the
time left (`indexer.training.pacing`) and stops at the budget; the checkpoint records
whether the trained model beat the untrained ones (`indexer.training.never_worse`).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from indexer.catalog.errors import ConfigError
from indexer.encoder.checkpoint import save_checkpoint
from indexer.encoder.model import EncoderConfig, SiameseEncoder
from indexer.training import state as st
from indexer.training.augment import Augment, AugmentConfig
from indexer.training.batches import BatchMaker
from indexer.training.budget import Ledger
from indexer.training.config import TrainConfig
from indexer.training.data import LabelledSet
from indexer.training.feedback_pairs import PairSet
from indexer.training.monitor import EpochStats, embedding_spread
from indexer.training.never_worse import Reference, judge
from indexer.training.objectives import Objective, pair_loss
from indexer.training.pacing import fit_to_budget
from indexer.training.schedule import build_optimizer, build_scheduler
from indexer.training.tensor_augment import distortion_for
from indexer.training.validation import Validator, autocast

logger = logging.getLogger(__name__)
METRIC = "map@r"
MODEL_FIELDS = ("backbone", "grayscale", "dim", "input_size", "fit")


@dataclass(frozen=True)
class TrainResult:
    """What a run produced: the model checkpoint, its version and the before/after metrics."""

    checkpoint: Path
    version: str
    baseline: dict[str, float]
    metrics: dict[str, float]
    epochs: int
    history: list[dict[str, Any]]
    calibration: dict[str, Any]
    verdict: dict[str, Any] = field(default_factory=dict)
    budget: dict[str, Any] = field(default_factory=dict)


def build_encoder(config: TrainConfig) -> SiameseEncoder:
    """The encoder to train: pretrained backbone (small_cnn: from scratch) + projection head."""
    return SiameseEncoder(
        EncoderConfig(
            backbone=config.backbone,
            embedding_dim=config.dim,
            input_size=config.input_size,
            grayscale=config.grayscale,
            pretrained=config.backbone != "small_cnn",
            width=config.width,
            fit=config.fit,
        )
    )


def augment_config(config: TrainConfig) -> AugmentConfig:
    return AugmentConfig(size=config.input_size, grayscale=config.grayscale, flip=config.flip)


class Trainer:
    """One training run over a train/validation split on one device."""

    def __init__(
        self,
        config: TrainConfig,
        train_set: LabelledSet,
        val_set: LabelledSet,
        *,
        device: torch.device,
        pairs: PairSet | None = None,
        progress: bool = True,
        ledger: Ledger | None = None,
        reference: tuple[Reference | None, str] = (None, ""),
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.config, self.device, self.show_progress = config, device, progress
        self.ledger = ledger or Ledger(None)
        self.reference, self.reference_note = reference
        self.extra_metadata = metadata or {}
        self.deadline = math.inf  # monotonic time at which training stops (the budget)
        self.val_labels = val_set.num_labels if len(val_set) else 0
        self.generator = st.seed_everything(config.seed)
        self.encoder = build_encoder(config).to(device)
        # channels-last convolutions are about twice as fast on CPU
        self.encoder.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.augment = Augment(augment_config(config))
        self.batches = self._batch_maker(train_set)
        self.objective = Objective.from_config(config)
        self.optimizer = build_optimizer(self.encoder, config)
        self.scheduler = build_scheduler(self.optimizer, config, self.batches.steps)
        self.pairs = pairs if pairs is not None and len(pairs) else None
        self.validator = self._validator(val_set if _can_validate(val_set) else train_set)
        self.has_validation = _can_validate(val_set)
        self.metric = selection_metric(config, self.validator)
        self.progress = st.Progress()
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.baseline_embeddings: np.ndarray | None = None  # the untrained model's, validation
        if config.freeze_backbone:
            self.encoder.backbone.requires_grad_(False)

    def _batch_maker(self, train_set: LabelledSet) -> BatchMaker:
        c = self.config
        steps = c.steps_per_epoch or max(1, len(train_set) // c.batch_size)
        return BatchMaker(
            train_set, self.augment, self.encoder.config,
            batch_labels=c.batch_labels, per_label=c.per_label, steps=steps,
            distortion=distortion_for(c.distortion),
            rotations=4 if c.rotations_as_classes else 1,
        )  # fmt: skip

    def _validator(self, data: LabelledSet) -> Validator:
        c = self.config
        return Validator(
            data, self.encoder, self.augment, c.distance, forgery_suffix=c.forgery_suffix
        )

    def fit(self, out: Path, *, resume: Path | None = None) -> TrainResult:
        """Train to `out`; with `resume`, continue from a state written by an earlier run."""
        start = time.monotonic()
        if resume is not None:
            self.load(resume)
            if self.ledger.budget_s is not None:
                with self.ledger.phase("validation"):
                    self.validator.embed(self.encoder)  # times a validation for the budget
        else:
            with self.ledger.phase("baseline"):
                self.baseline_embeddings = self.validator.embed(self.encoder)
                self.progress.baseline = self.validator.scores(self.baseline_embeddings)
            logger.info("untrained baseline: %s", _fmt(self.progress.baseline))
        if self.ledger.budget_s is not None:
            fit_to_budget(self, val_s=time.monotonic() - start)
        while self.progress.epoch < self.config.epochs:
            stop = self.run_epoch()
            self.save(st.state_path(out))
            if time.monotonic() >= self.deadline:
                logger.info("time budget reached after epoch %d", self.progress.epoch)
                break
            if stop:
                logger.info(
                    "early stop: no %s gain in %d epochs", self.metric, self.config.patience
                )
                break
        with self.ledger.phase("calibration+writing"):
            result = self.finish(out)
        return replace(result, budget=self.ledger.report())

    def run_epoch(self) -> bool:
        """Train one epoch, validate and keep the best weights; True when it is time to stop."""
        with self.ledger.phase("training"):
            stats = self.train_epoch()
        with self.ledger.phase("validation"):
            metrics = self.validator.metrics(self.encoder)
        p = self.progress
        p.epoch += 1
        improved = metrics[self.metric] > p.best_metric or not self.has_validation
        if improved:
            p.best_metric, p.bad_epochs = metrics[self.metric], 0
            self.best_weights = {
                k: v.detach().clone() for k, v in self.encoder.state_dict().items()
            }
        else:
            p.bad_epochs += 1
        p.history.append({"epoch": p.epoch, **stats.as_dict(), **metrics})
        logger.info("epoch %d/%d: %s", p.epoch, self.config.epochs, _fmt(stats.as_dict() | metrics))
        if stats.min_spread < self.config.collapse_threshold:
            logger.warning(
                "embeddings are collapsing (spread %.3f < %.3f): lower the lr or change the miner",
                stats.min_spread,
                self.config.collapse_threshold,
            )
        return self.has_validation and p.bad_epochs >= self.config.patience

    def train_epoch(self) -> EpochStats:
        self._train_mode()
        stats = EpochStats()
        bar = tqdm(
            self.batches.epoch(self.generator),
            total=self.batches.steps,
            leave=False,
            desc=f"epoch {self.progress.epoch + 1}/{self.config.epochs}",
            disable=not self.show_progress,
        )
        for images, labels in bar:
            stats.update(*self.step(images, labels))
            bar.set_postfix(stats.postfix())
            if time.monotonic() >= self.deadline:
                break
        bar.close()
        return stats

    def _train_mode(self) -> None:
        """Train mode, except frozen or pretrained backbones keep their BatchNorm statistics."""
        self.encoder.train()
        for module in self.encoder.backbone.modules():
            if isinstance(module, nn.BatchNorm2d) and (
                self.config.freeze_backbone or self.encoder.config.pretrained
            ):
                module.eval()

    def step(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[float, float, float]:
        """One optimiser step; returns (loss, active fraction, embedding spread)."""
        with autocast(self.device):
            emb = self.encoder(images.to(self.device))  # (B, D)
        out = self.objective(emb.float(), labels.to(self.device))
        loss = out.loss
        if self.pairs is not None:
            loss = loss + self.config.feedback_weight * self.pair_term()
        self.optimizer.zero_grad(set_to_none=True)
        if loss.requires_grad:
            loss.backward()
            nn.utils.clip_grad_norm_(self.encoder.parameters(), self.config.grad_clip)
            self.optimizer.step()
        self.scheduler.step()
        return float(loss.detach()), out.active_fraction, embedding_spread(emb)

    def pair_term(self) -> torch.Tensor:
        """Contrastive loss on a batch of the extra labelled pairs (user feedback)."""
        assert self.pairs is not None
        idx = self.pairs.sample(self.config.feedback_batch, self.generator)
        first = self.batches.images_of([self.pairs.first[i] for i in idx], self.generator)
        second = self.batches.images_of([self.pairs.second[i] for i in idx], self.generator)
        with autocast(self.device):
            emb = self.encoder(torch.cat([first, second]).to(self.device)).float()  # (2P, D)
        same = torch.from_numpy(self.pairs.same[idx]).to(self.device)
        return pair_loss(self.objective, emb[: len(idx)], emb[len(idx) :], same)

    def finish(self, out: Path) -> TrainResult:
        """Load the best weights, measure them, calibrate thresholds and write the checkpoint."""
        if self.best_weights is not None:
            self.encoder.load_state_dict(self.best_weights)
        embeddings = self.validator.embed(self.encoder)
        metrics = self.validator.scores(embeddings)
        calibrations = self.validator.calibrations(embeddings)  # one per distance
        calibration = calibrations[self.config.distance]
        p = self.progress
        metadata: dict[str, Any] = {
            "train_config": self.config.to_dict(),
            "validation": metrics,
            "baseline": p.baseline,
            "validated_on": "validation" if self.has_validation else "training (no validation)",
            "calibration": calibration.to_dict(),
            "calibrations": {k: c.to_dict() for k, c in calibrations.items()},
            "history": p.history,
            "epochs": p.epoch,
        }
        outcome = judge(self, metrics, embeddings)
        metadata |= self.extra_metadata | {
            "never_worse": outcome,
            "beats_baseline": outcome["beats_baseline"],
            "budget": self.ledger.report(),  # as of writing: this phase is still open
        }
        version = save_checkpoint(out, self.encoder.cpu(), metadata=metadata)
        self.encoder.to(self.device)
        before, after = _get(p.baseline, self.metric), _get(metrics, self.metric)
        logger.info("%s: %s -> %s (version %s)", self.metric, before, after, version)
        return TrainResult(
            out,
            version,
            p.baseline,
            metrics,
            p.epoch,
            p.history,
            calibration.to_dict(),
            verdict=outcome,
        )

    def save(self, path: Path) -> None:
        """Write the resumable state of this run."""
        st.save_state(
            path,
            {
                "config": self.config.to_dict(),
                "model": self.encoder.state_dict(),
                "best_weights": self.best_weights,
                "baseline_embeddings": None
                if self.baseline_embeddings is None
                else torch.from_numpy(self.baseline_embeddings),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "progress": vars(self.progress),
                "rng": st.rng_state(self.generator),
            },
        )

    def load(self, path: Path) -> None:
        """Restore a state written by `save`; the model-shaping options must match."""
        payload = st.load_state(path)
        saved = payload["config"]
        clash = [k for k in MODEL_FIELDS if saved.get(k) != getattr(self.config, k)]
        if clash:
            raise ConfigError(f"cannot resume {path}: options {clash} differ from the saved run")
        self.encoder.load_state_dict(payload["model"])
        self.best_weights = payload["best_weights"]
        baseline = payload.get("baseline_embeddings")  # absent in states of older runs
        self.baseline_embeddings = None if baseline is None else baseline.numpy()
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        self.progress = st.Progress(**payload["progress"])
        st.restore_rng(payload["rng"], self.generator)
        logger.info("resumed %s at epoch %d", path, self.progress.epoch)


def _can_validate(data: LabelledSet) -> bool:
    """True when the set can be scored: unlabelled, or some label has two or more images."""
    if len(data) < 2:
        return False
    return not data.supervised or bool((torch.bincount(torch.from_numpy(data.labels)) >= 2).any())


def selection_metric(config: TrainConfig, validator: Validator) -> str:
    """The config's selection metric when the validator can measure it, else mAP@R."""
    return config.selection_metric if validator.forgeries is not None else METRIC


def _get(metrics: dict[str, float], metric: str) -> str:
    return f"{metrics.get(metric, float('nan')):.4f}"


def _fmt(metrics: dict[str, Any]) -> str:
    return " ".join(
        f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items()
    )
