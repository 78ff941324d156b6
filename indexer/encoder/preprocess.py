"""Turn decoded RGB images into the normalised tensors the encoder expects."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from indexer.encoder.config import EncoderConfig
from indexer.encoder.fit import fit_square

if TYPE_CHECKING:
    import torch


def to_tensor(image: Image.Image, config: EncoderConfig) -> torch.Tensor:
    """Fit (see `indexer.encoder.fit`), resize to the model input and normalise: (C, S, S)."""
    import torch  # training's path; embedding runs on numpy arrays (`to_array`)

    return torch.from_numpy(to_array(image, config))


def to_array(image: Image.Image, config: EncoderConfig) -> np.ndarray:
    """`to_tensor` as a float32 numpy array (C, S, S), touching no PyTorch thread pool."""
    size = config.input_size
    mode = "L" if config.grayscale else "RGB"
    if image.mode != mode:  # convert() copies even when the mode is already right
        image = image.convert(mode)
    image = fit_square(image, config.fit)
    resized = image.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    pixels = np.asarray(resized).reshape(size, size, -1).transpose(2, 0, 1)  # (C, S, S) uint8
    scale, offset = _affine(config)
    out = np.empty(pixels.shape, dtype=np.float32)
    np.multiply(pixels, scale, out=out)  # (x / 255 - mean) / std as one multiply-add
    out -= offset
    return out  # (C, S, S)


def _affine(config: EncoderConfig) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel scale and offset, each (C, 1, 1): x * scale - offset."""
    mean = np.asarray(config.mean[: config.channels], dtype=np.float32)[:, None, None]
    std = np.asarray(config.std[: config.channels], dtype=np.float32)[:, None, None]
    return (1.0 / (255.0 * std)).astype(np.float32), (mean / std).astype(np.float32)
