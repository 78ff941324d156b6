"""Backbones the Siamese encoder can be built on."""

from __future__ import annotations

from indexer.catalog.errors import ModelError
from indexer.encoder.backbones.base import Backbone
from indexer.encoder.backbones.efficientnet_lite import EfficientNetLite0, load_pretrained
from indexer.encoder.backbones.small_cnn import SmallCNN

BACKBONES = ("efficientnet_lite0", "small_cnn")


def build_backbone(
    name: str, *, pretrained: bool, in_channels: int = 3, width: int = 16
) -> Backbone:
    """Build a backbone by name; it exposes `out_dim` and returns (B, out_dim) features."""
    if name == "efficientnet_lite0":
        model = EfficientNetLite0()
        return load_pretrained(model) if pretrained else model
    if name == "small_cnn":
        if pretrained:
            raise ModelError("small_cnn has no pretrained weights; train it with `lookalike train`")
        return SmallCNN(in_channels=in_channels, width=width)
    raise ModelError(f"unknown backbone {name!r}; choose one of {BACKBONES}")


__all__ = ["BACKBONES", "Backbone", "EfficientNetLite0", "SmallCNN", "build_backbone"]
