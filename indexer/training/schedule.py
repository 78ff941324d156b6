"""The optimiser and learning-rate schedule: AdamW, linear warm-up, then cosine decay."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.optim.lr_scheduler import LambdaLR

from indexer.encoder.model import SiameseEncoder
from indexer.training.config import TrainConfig


def build_optimizer(encoder: SiameseEncoder, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with the head at `lr` and the backbone at `lr * backbone_lr_mult` (or frozen)."""
    groups = [{"params": list(encoder.head.parameters()), "lr": config.lr, "name": "head"}]
    if not config.freeze_backbone:
        groups.append(
            {
                "params": list(encoder.backbone.parameters()),
                "lr": config.lr * config.backbone_lr_mult,
                "name": "backbone",
            }
        )
    groups = [g for g in groups if g["params"]]
    return torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)


def warmup_cosine(
    total_steps: int, warmup_steps: int, *, floor: float = 0.01
) -> Callable[[int], float]:
    """Multiplier of the base learning rate at a step: 0 -> 1 linearly, then cosine to `floor`."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def build_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int
) -> LambdaLR:
    """Step the returned scheduler once per optimiser step."""
    total = config.epochs * steps_per_epoch
    warmup = max(1, int(round(config.warmup_fraction * total)))
    return LambdaLR(optimizer, warmup_cosine(total, warmup))


def resize_scheduler(
    scheduler: LambdaLR, optimizer: torch.optim.Optimizer, config: TrainConfig
) -> LambdaLR:
    """A schedule over `config`'s new epochs x steps that keeps the steps already taken."""
    assert config.steps_per_epoch is not None
    taken = scheduler.state_dict()
    resized = build_scheduler(optimizer, config, config.steps_per_epoch)
    resized.load_state_dict(taken)
    for group, base, factor in zip(
        optimizer.param_groups, resized.base_lrs, resized.lr_lambdas, strict=True
    ):
        group["lr"] = base * factor(resized.last_epoch)
    return resized
