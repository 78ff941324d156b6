"""Fit a training run into its time budget: time a few steps, then size the schedule.

The timing steps run forward and backward on real batches but never step the optimiser,
and the weights (BatchNorm statistics too) and every RNG state are restored afterwards, so
a budgeted run trains exactly as an unbudgeted one with the sized schedule would.
"""

from __future__ import annotations

import itertools
import logging
import statistics
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import torch

from indexer.training import state as st
from indexer.training.budget import size_schedule
from indexer.training.schedule import resize_scheduler
from indexer.training.validation import autocast

if TYPE_CHECKING:
    from indexer.training.trainer import Trainer

logger = logging.getLogger(__name__)
TIMED_STEPS = 3  # the first warms caches and allocators and is not counted
WRITE_S = 2.0  # writing the checkpoint and the state


def time_step(trainer: Trainer) -> float:
    """Seconds of one training step (batch making, forward, backward) on this device."""
    encoder, device = trainer.encoder, trainer.device
    weights = {k: v.detach().clone() for k, v in encoder.state_dict().items()}
    rng = st.rng_state(trainer.generator)
    trainer._train_mode()
    epochs = (trainer.batches.epoch(trainer.generator) for _ in itertools.count())
    batches = itertools.chain.from_iterable(epochs)  # short epochs: start another
    seconds = []
    for _ in range(TIMED_STEPS):
        start = time.monotonic()
        images, labels = next(batches)
        with autocast(device):
            emb = encoder(images.to(device))  # (B, D)
        loss = trainer.objective(emb.float(), labels.to(device)).loss
        if loss.requires_grad:
            loss.backward()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds.append(time.monotonic() - start)
    encoder.zero_grad(set_to_none=True)
    encoder.load_state_dict(weights)
    st.restore_rng(rng, trainer.generator)
    return statistics.median(seconds[1:])


def fit_to_budget(trainer: Trainer, val_s: float) -> None:
    """Size the remaining epochs x steps to the budget left and set the trainer's deadline.

    Room is left for the final validation, calibration and writing (`reserve`), and for
    one validation after the deadline stops an epoch early.
    """
    ledger = trainer.ledger
    with ledger.phase("timing"):
        step_s = time_step(trainer)
    reserve = 2.5 * val_s + WRITE_S
    available = ledger.left() - reserve
    done = trainer.progress.epoch
    schedule = size_schedule(
        available_s=available,
        step_s=step_s,
        val_s=val_s,
        epochs=max(1, trainer.config.epochs - done),
        steps_per_epoch=trainer.batches.steps,
    )
    trainer.deadline = time.monotonic() + available - val_s
    logger.info(
        "budget: %.0f s left, %.3f s a step, %.2f s a validation -> %d epochs x %d steps%s",
        ledger.left(),
        step_s,
        val_s,
        schedule.epochs,
        schedule.steps_per_epoch,
        " (sized to the budget)" if schedule.sized else " (fits)",
    )
    if schedule.sized:
        resize(trainer, done + schedule.epochs, schedule.steps_per_epoch)


def resize(trainer: Trainer, epochs: int, steps_per_epoch: int) -> None:
    """Make the run `epochs` in all of `steps_per_epoch` steps; the LR schedule follows."""
    trainer.config = replace(trainer.config, epochs=epochs, steps_per_epoch=steps_per_epoch)
    trainer.batches.steps = steps_per_epoch
    trainer.scheduler = resize_scheduler(trainer.scheduler, trainer.optimizer, trainer.config)
