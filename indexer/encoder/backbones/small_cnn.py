"""A small CNN backbone for grayscale inputs (characters, signatures) and fast tests."""

from __future__ import annotations

import torch
from torch import nn

from indexer.encoder.backbones.base import Backbone


def _stage(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class SmallCNN(Backbone):
    """Four conv stages and global average pooling; (B, C, H, W) -> (B, width * 8)."""

    def __init__(self, in_channels: int = 3, width: int = 16) -> None:
        super().__init__(out_dim=width * 8)
        self.features = nn.Sequential(
            _stage(in_channels, width),
            _stage(width, width * 2),
            _stage(width * 2, width * 4),
            _stage(width * 4, width * 8),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean(dim=(2, 3))  # (B, width * 8)
