"""The Siamese encoder: one shared-weight module, backbone -> head -> L2-normalised embedding."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from indexer.encoder.backbones import build_backbone
from indexer.encoder.config import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    UNIT_RANGE_MEAN,
    UNIT_RANGE_STD,
    EncoderConfig,
)

# The config lives in indexer.encoder.config (no PyTorch there); importable from here too.
__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "UNIT_RANGE_MEAN",
    "UNIT_RANGE_STD",
    "EncoderConfig",
    "SiameseEncoder",
]


class SiameseEncoder(nn.Module):
    """Maps a batch of images (B, C, H, W) to unit-norm embeddings (B, D).

    "Siamese" means this single module embeds every input (anchor, positive, negative,
    query and catalog alike), so distances between its outputs are comparable.
    """

    def __init__(self, config: EncoderConfig, *, load_pretrained: bool = True) -> None:
        super().__init__()
        self.config = config
        self.backbone = build_backbone(
            config.backbone,
            pretrained=config.pretrained and load_pretrained,
            in_channels=config.channels,
            width=config.width,
        )
        feature_dim = self.backbone.out_dim
        self.head: nn.Module
        if config.embedding_dim is None:
            self.head = nn.Identity()
            self.dim = feature_dim
        else:
            self.head = nn.Linear(feature_dim, config.embedding_dim)
            self.dim = config.embedding_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.backbone(x)  # (B, F)
        return F.normalize(self.head(features), dim=1)  # (B, D)
