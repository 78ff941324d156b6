"""Optimiser parameter groups (frozen / low-lr backbone) and the warm-up + cosine schedule."""

from __future__ import annotations

import math

import pytest
import torch

from indexer.training.config import TrainConfig
from indexer.training.monitor import embedding_spread
from indexer.training.schedule import build_optimizer, build_scheduler, warmup_cosine
from indexer.training.trainer import build_encoder

SMALL = dict(backbone="small_cnn", dim=8, input_size=32)


def test_backbone_learns_at_a_lower_rate_or_not_at_all() -> None:
    config = TrainConfig(**SMALL, lr=1e-3, backbone_lr_mult=0.1)
    encoder = build_encoder(config)
    groups = {g["name"]: g for g in build_optimizer(encoder, config).param_groups}
    assert groups["head"]["lr"] == pytest.approx(1e-3)
    assert groups["backbone"]["lr"] == pytest.approx(1e-4)
    n_backbone = sum(p.numel() for p in encoder.backbone.parameters())
    assert sum(p.numel() for p in groups["backbone"]["params"]) == n_backbone
    frozen = TrainConfig(**SMALL, freeze_backbone=True)
    assert [g["name"] for g in build_optimizer(encoder, frozen).param_groups] == ["head"]


def test_warmup_then_cosine_decay() -> None:
    factor = warmup_cosine(100, 10, floor=0.0)
    assert [factor(s) for s in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert factor(55) == pytest.approx(0.5)  # half way through the decay
    assert factor(100) == pytest.approx(0.0, abs=1e-12)
    decay = [factor(s) for s in range(10, 101)]
    assert all(a >= b for a, b in zip(decay, decay[1:], strict=False))


def test_scheduler_steps_the_learning_rate() -> None:
    config = TrainConfig(**SMALL, lr=1e-2, epochs=2, warmup_fraction=0.25)
    encoder = build_encoder(config)
    optimizer = build_optimizer(encoder, config)
    scheduler = build_scheduler(optimizer, config, steps_per_epoch=4)  # 8 steps, 2 warm-up
    lrs = []
    for _ in range(8):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[0] == pytest.approx(5e-3) and lrs[1] == pytest.approx(1e-2)
    assert lrs[-1] < lrs[2] and math.isclose(max(lrs), 1e-2)


def test_spread_tells_collapse_from_spread_out_embeddings() -> None:
    generator = torch.Generator().manual_seed(0)
    spread = torch.nn.functional.normalize(torch.randn(256, 32, generator=generator), dim=1)
    collapsed = torch.nn.functional.normalize(1.0 + 0.01 * spread, dim=1)
    assert embedding_spread(spread) == pytest.approx(1.0, abs=0.1)
    assert embedding_spread(collapsed) < 0.05
