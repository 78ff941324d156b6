"""The contract every backbone meets: images (B, C, H, W) in, features (B, out_dim) out."""

from __future__ import annotations

from torch import nn


class Backbone(nn.Module):
    """A feature extractor that knows the width of its output."""

    def __init__(self, *, out_dim: int) -> None:
        super().__init__()
        self.out_dim = out_dim
