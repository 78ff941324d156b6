"""Draw an attribution grid over its image: the heatmap overlay PNG of an explanation.

The model sees the whole image squeezed to a square (no crop), so grid cell (r, c) covers the
same fraction of the upright image: the grid is stretched over the image as it is shown.
Red marks cells that made the pair look alike (blanking them lowers the similarity), blue
cells that made them differ; the opacity follows the size of the value, scaled to the
largest in the grid, so every overlay uses its full range.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

MAX_SIDE = 384  # the overlay's longest side in pixels
ALPHA = 0.65  # opacity of the strongest cell
WARM = np.array([230, 40, 30], dtype=np.float32)  # raised the similarity
COOL = np.array([40, 90, 230], dtype=np.float32)  # lowered it


def overlay(image: Image.Image, heat: np.ndarray, *, max_side: int = MAX_SIDE) -> Image.Image:
    """`image` (upright) scaled to a longest side of `max_side`, tinted by the (G, G) `heat`."""
    fit = max_side / max(image.size)
    width, height = (max(1, round(side * fit)) for side in image.size)
    base = image.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
    grid = np.asarray(heat, dtype=np.float32)
    scale = float(np.abs(grid).max())
    norm = grid / scale if scale > 0 else np.zeros_like(grid)  # (G, G) in [-1, 1]
    smooth = Image.fromarray(norm.astype(np.float32)).resize(
        (width, height), Image.Resampling.BILINEAR
    )
    values = np.asarray(smooth, dtype=np.float32)[..., None]  # (H, W, 1)
    colour = np.where(values >= 0, WARM, COOL)  # (H, W, 3)
    alpha = ALPHA * np.clip(np.abs(values), 0, 1)
    pixels = np.asarray(base, dtype=np.float32)  # (H, W, 3)
    mixed = pixels * (1 - alpha) + colour * alpha
    return Image.fromarray(mixed.round().astype(np.uint8))


def png_bytes(image: Image.Image) -> bytes:
    """`image` encoded as a PNG file."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
