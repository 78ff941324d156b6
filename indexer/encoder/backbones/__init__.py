"""Backbones the Siamese encoder can be built on.

Importing the package loads no PyTorch (the command line lists BACKBONES in its help); the
classes are imported when a backbone is built or named.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from indexer.catalog.errors import ModelError

if TYPE_CHECKING:
    from indexer.encoder.backbones.base import Backbone
    from indexer.encoder.backbones.efficientnet_lite import EfficientNetLite0
    from indexer.encoder.backbones.small_cnn import SmallCNN

BACKBONES = ("efficientnet_lite0", "small_cnn")


def build_backbone(
    name: str, *, pretrained: bool, in_channels: int = 3, width: int = 16
) -> Backbone:
    """Build a backbone by name; it exposes `out_dim` and returns (B, out_dim) features."""
    if name == "efficientnet_lite0":
        from indexer.encoder.backbones.efficientnet_lite import EfficientNetLite0, load_pretrained

        model = EfficientNetLite0()
        return load_pretrained(model) if pretrained else model
    if name == "small_cnn":
        from indexer.encoder.backbones.small_cnn import SmallCNN

        if pretrained:
            raise ModelError("small_cnn has no pretrained weights; train it with `lookalike train`")
        return SmallCNN(in_channels=in_channels, width=width)
    raise ModelError(f"unknown backbone {name!r}; choose one of {BACKBONES}")


_CLASSES = {
    "Backbone": "indexer.encoder.backbones.base",
    "EfficientNetLite0": "indexer.encoder.backbones.efficientnet_lite",
    "SmallCNN": "indexer.encoder.backbones.small_cnn",
}


def __getattr__(name: str) -> Any:
    """The backbone classes, imported (with PyTorch) on first use."""
    if name in _CLASSES:
        from importlib import import_module

        return getattr(import_module(_CLASSES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BACKBONES", "Backbone", "EfficientNetLite0", "SmallCNN", "build_backbone"]
