"""How an image is fitted into the encoder's square input before it is resized.

- "stretch": the whole image squashed to a square (the original behaviour; photos).
- "pad": the whole image, aspect ratio kept, centred on a square of its background colour.
- "ink": cropped to the ink (the dark strokes on lighter paper: signatures, handwriting, scans)
  with a small margin, then padded like "pad". A signature scanned on a wide page keeps its
  strokes' shape and fills the input instead of being a thin squashed line in a sea of paper.

Search, indexing, galleries and training all reach it through `preprocess.to_array`, so a model
trained with one fit is always served with the same one (it is part of the `EncoderConfig`).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

MIN_CONTRAST = 40  # grey levels between paper and ink below which there is no ink to crop to
SPECK_SHARE = 0.002  # ink of the outermost 0.2% rows/columns is dust, not strokes
MARGIN = 0.04  # of the ink box's longer side, kept around the strokes
SAMPLE = 65536  # pixels enough to estimate the paper and ink levels or the background


def fit_square(image: Image.Image, fit: str) -> Image.Image:
    """The image as the encoder should see it before resizing (see the module docstring)."""
    if fit == "stretch":
        return image
    if fit == "ink":
        box = ink_box(image)
        if box is not None:
            image = image.crop(box)
    return pad_square(image)


def ink_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) around the dark strokes plus a margin; None when the image
    has no ink to speak of (too little contrast between paper and the darkest pixels)."""
    gray = np.asarray(image.convert("L"), dtype=np.uint8)  # (H, W)
    step = max(1, int(np.sqrt(gray.size / SAMPLE)))
    paper, darkest = np.percentile(gray[::step, ::step], [50, 0.5])
    if paper - darkest < MIN_CONTRAST:
        return None
    ink = gray < (paper + darkest) / 2.0  # (H, W) bool
    rows, cols = _span(ink.sum(axis=1)), _span(ink.sum(axis=0))
    if rows is None or cols is None:
        return None
    height, width = gray.shape
    margin = int(round(MARGIN * max(rows[1] - rows[0], cols[1] - cols[0])))
    left, right = max(0, cols[0] - margin), min(width, cols[1] + margin)
    top, bottom = max(0, rows[0] - margin), min(height, rows[1] + margin)
    return left, top, right, bottom


def _span(counts: np.ndarray) -> tuple[int, int] | None:
    """First and one-past-last index holding the inner (1 - 2 * SPECK_SHARE) of the ink."""
    total = int(counts.sum())
    if total == 0:
        return None
    cumulative = np.cumsum(counts)
    trim = SPECK_SHARE * total
    first = int(np.searchsorted(cumulative, trim, side="right"))
    last = int(np.searchsorted(cumulative, total - trim, side="left"))
    return first, max(first + 1, last + 1)


def pad_square(image: Image.Image) -> Image.Image:
    """The image centred on a square canvas filled with its background (its median colour)."""
    width, height = image.size
    if width == height:
        return image
    side = max(width, height)
    pixels = np.asarray(image)
    step = max(1, int(np.sqrt(width * height / SAMPLE)))
    sample = pixels[::step, ::step]
    background = np.median(sample.reshape(-1, pixels.shape[-1] if pixels.ndim == 3 else 1), 0)
    fill = tuple(int(v) for v in background) if pixels.ndim == 3 else int(background[0])
    canvas = Image.new(image.mode, (side, side), fill)  # type: ignore[arg-type]
    canvas.paste(image, ((side - width) // 2, (side - height) // 2))
    return canvas
