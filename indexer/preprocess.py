"""Turn decoded RGB images into the normalised tensors the encoder expects."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from indexer.encoder import EncoderConfig


def to_tensor(image: Image.Image, config: EncoderConfig) -> torch.Tensor:
    """Resize to the model input (whole image, no crop) and normalise; returns (C, S, S)."""
    return torch.from_numpy(to_array(image, config))


def to_array(image: Image.Image, config: EncoderConfig) -> np.ndarray:
    """`to_tensor` as a float32 numpy array (C, S, S), touching no PyTorch thread pool."""
    size = config.input_size
    mode = "L" if config.grayscale else "RGB"
    resized = image.convert(mode).resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    array = np.asarray(resized, dtype=np.float32) / 255.0  # (S, S) or (S, S, 3)
    if array.ndim == 2:
        array = array[:, :, None]
    mean = np.asarray(config.mean[: config.channels], dtype=np.float32)
    std = np.asarray(config.std[: config.channels], dtype=np.float32)
    array = (array - mean) / std
    return np.ascontiguousarray(array.transpose(2, 0, 1))  # (C, S, S)
