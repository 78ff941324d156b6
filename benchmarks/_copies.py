"""Seeded near-duplicate copies of an image: the edits people make to a picture they re-post.

Each transform takes an RGB image and a seeded generator and returns the edited copy; `save`
writes it as a JPEG at quality 90, except `jpeg` (the unchanged image) at LOW_QUALITY.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

Transform = Callable[[Image.Image, np.random.Generator], Image.Image]
SMALL = 128  # sides under this are enlarged x2 by `resize` (a 32 px image has no half to lose)
LOW_QUALITY = 20  # JPEG quality of `jpeg`


def resize(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Half the size (twice, for images under SMALL px), bicubic."""
    factor = 2.0 if min(image.size) < SMALL else 0.5
    w, h = image.size
    return image.resize(
        (max(1, round(w * factor)), max(1, round(h * factor))), Image.Resampling.BICUBIC
    )


def jpeg(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Unchanged: `save` recompresses it at JPEG quality LOW_QUALITY."""
    return image


def crop(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A crop keeping 80-90% of each side, at a random offset."""
    w, h = image.size
    keep = rng.uniform(0.8, 0.9)
    cw, ch = max(1, round(w * keep)), max(1, round(h * keep))
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return image.crop((x, y, x + cw, y + ch))


def flip(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Mirrored left to right."""
    return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def rotate(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Turned a quarter, clockwise or counter-clockwise (seeded)."""
    turn = Image.Transpose.ROTATE_90 if rng.random() < 0.5 else Image.Transpose.ROTATE_270
    return image.transpose(turn)


def tone(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Brightness and contrast each changed by 20-40%, up or down."""
    for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast):
        change = rng.uniform(0.2, 0.4) * (1 if rng.random() < 0.5 else -1)
        image = enhancer(image).enhance(1.0 + change)
    return image


def caption(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A semi-transparent white caption with a dark outline across the lower part."""
    w, h = image.size
    size = max(6, round(h * 0.12))
    font = ImageFont.load_default(size=size)
    text = "© lookalike " + str(int(rng.integers(2000, 2030)))
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = max(0, (w - (right - left)) // 2)
    y = round(h * rng.uniform(0.7, 0.8)) - (bottom - top) // 2
    outline = max(1, size // 12)
    draw.text((x, y), text, font=font, fill=(255, 255, 255, 190), stroke_width=outline,
              stroke_fill=(0, 0, 0, 190))  # fmt: skip
    return Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")


TRANSFORMS: dict[str, Transform] = {
    "resize": resize,
    "jpeg": jpeg,
    "crop": crop,
    "flip": flip,
    "rotate": rotate,
    "tone": tone,
    "caption": caption,
}


def save(copy: Image.Image, transform: str, path: Path) -> None:
    """Write a copy as its transform prescribes (see the module doc)."""
    copy.save(path, format="JPEG", quality=LOW_QUALITY if transform == "jpeg" else 90)
