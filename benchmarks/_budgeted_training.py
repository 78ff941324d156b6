"""Train a `Trainer` for a wall-time budget, re-planning the schedule after every epoch.

Shared by the recipe benchmarks (`oneshot_recipes.py`, `signature_recipes.py`): whole epochs
until the budget is spent, the warm-up + cosine schedule stretched after each epoch to end with
the last epoch that still fits, the best validation weights restored at the end.
"""

from __future__ import annotations

import os
import time
from typing import Any

import torch

from indexer.training.config import TrainConfig
from indexer.training.data import LabelledSet
from indexer.training.run import split
from indexer.training.schedule import warmup_cosine
from indexer.training.trainer import Trainer


def train(config: TrainConfig, data: LabelledSet, budget: float) -> dict[str, Any]:
    """Fit within `budget` seconds (whole epochs); returns the trainer and timings."""
    torch.manual_seed(config.seed)
    train_set, val_set = split(data, config)
    trainer = Trainer(config, train_set, val_set, device=torch.device("cpu"), progress=False)
    trainer.progress.baseline = trainer.validator.metrics(trainer.encoder)
    started, cpu_started = time.perf_counter(), time.process_time()
    while trainer.progress.epoch < config.epochs:
        stop = trainer.run_epoch()
        elapsed = time.perf_counter() - started
        epochs_left = replan(trainer, elapsed, budget)
        if stop or epochs_left == 0:
            break
    train_s = time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started
    if trainer.best_weights is not None:
        trainer.encoder.load_state_dict(trainer.best_weights)
    steps = trainer.progress.epoch * trainer.batches.steps
    return {
        "trainer": trainer,
        "train_s": round(train_s, 1),
        "train_cpu_s": round(cpu_s, 1),  # < threads x train_s when others share the CPU
        "load_average_1min": os.getloadavg()[0],
        "epochs_run": trainer.progress.epoch,
        "images_per_s": round(steps * trainer.batches.batch_size / train_s, 1),
        "history": trainer.progress.history,
    }


def replan(trainer: Trainer, elapsed: float, budget: float) -> int:
    """Fit the remaining epochs to the budget at the pace so far; stretch the LR schedule to end
    with them (cosine to the floor at the last step). Returns how many epochs are left."""
    done = trainer.progress.epoch
    left = min(trainer.config.epochs - done, int((budget - elapsed) / (elapsed / done)))
    left = max(left, 0)
    steps = trainer.batches.steps
    total = (done + left) * steps
    warmup = max(1, int(round(trainer.config.warmup_fraction * total)))
    schedule = warmup_cosine(max(total, warmup + 1), warmup)
    trainer.scheduler.lr_lambdas = [schedule] * len(trainer.scheduler.lr_lambdas)
    return left
