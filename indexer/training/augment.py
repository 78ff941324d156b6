"""Random views of an image for training: affine distortion, resized crop, flip, colour jitter.

Pillow only, every random draw from the `torch.Generator` passed in, so a seeded generator
gives the same views on every run. Grayscale images stay grayscale ("L") and skip the
colour jitter; the output is always a square `size` x `size` image in the model's mode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageEnhance


@dataclass(frozen=True)
class AugmentConfig:
    """Strengths of each augmentation; zero (or False) switches one off."""

    size: int = 224
    grayscale: bool = False
    flip: bool = True  # off for characters and signatures, whose mirror image differs
    crop_scale: tuple[float, float] = (0.6, 1.0)  # fraction of the area kept
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    jitter: float = 0.3  # brightness, contrast, saturation factors in [1 - j, 1 + j]
    rotation: float = 10.0  # degrees
    shear: float = 8.0  # degrees
    scale: tuple[float, float] = (0.9, 1.1)
    translate: float = 0.05  # fraction of the side


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand(1, generator=generator))


class Augment:
    """Callable `(image, generator) -> image` making one random training view."""

    def __init__(self, config: AugmentConfig) -> None:
        self.config = config

    @property
    def mode(self) -> str:
        return "L" if self.config.grayscale else "RGB"

    def __call__(self, image: Image.Image, generator: torch.Generator) -> Image.Image:
        image = image.convert(self.mode)
        image = self.affine(image, generator)
        image = self.resized_crop(image, generator)
        if self.config.flip and _uniform(generator, 0.0, 1.0) < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        if not self.config.grayscale and self.config.jitter > 0:
            image = self.colour_jitter(image, generator)
        return image

    def resized_crop(self, image: Image.Image, generator: torch.Generator) -> Image.Image:
        """Crop a random box of `crop_scale` area and `crop_ratio` aspect, resize to `size`."""
        width, height = image.size
        c = self.config
        for _ in range(10):
            area = width * height * _uniform(generator, *c.crop_scale)
            log_ratio = _uniform(generator, math.log(c.crop_ratio[0]), math.log(c.crop_ratio[1]))
            w = round(math.sqrt(area * math.exp(log_ratio)))
            h = round(math.sqrt(area / math.exp(log_ratio)))
            if 0 < w <= width and 0 < h <= height:
                left = int(_uniform(generator, 0, width - w + 1))
                top = int(_uniform(generator, 0, height - h + 1))
                box = (left, top, min(left + w, width), min(top + h, height))
                return image.resize((c.size, c.size), Image.Resampling.BILINEAR, box=box)
        return image.resize((c.size, c.size), Image.Resampling.BILINEAR)

    def affine(self, image: Image.Image, generator: torch.Generator) -> Image.Image:
        """Rotate, shear, scale and translate about the centre; fill with the border colour."""
        c = self.config
        if not (c.rotation or c.shear or c.translate or c.scale != (1.0, 1.0)):
            return image
        width, height = image.size
        angle = math.radians(_uniform(generator, -c.rotation, c.rotation))
        shear = math.radians(_uniform(generator, -c.shear, c.shear))
        scale = _uniform(generator, *c.scale)
        tx = _uniform(generator, -c.translate, c.translate) * width
        ty = _uniform(generator, -c.translate, c.translate) * height
        forward = _affine_matrix(width / 2, height / 2, angle, shear, scale, tx, ty)
        inverse = np.linalg.inv(forward)[:2].reshape(-1)  # PIL maps output -> input
        return image.transform(
            image.size,
            Image.Transform.AFFINE,
            data=tuple(float(v) for v in inverse),
            resample=Image.Resampling.BILINEAR,
            fillcolor=_border_colour(image),
        )

    def colour_jitter(self, image: Image.Image, generator: torch.Generator) -> Image.Image:
        """Scale brightness, contrast and saturation by random factors, in a random order."""
        j = self.config.jitter
        enhancers = (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color)
        for k in torch.randperm(3, generator=generator).tolist():
            image = enhancers[k](image).enhance(_uniform(generator, 1 - j, 1 + j))
        return image


def _affine_matrix(
    cx: float, cy: float, angle: float, shear: float, scale: float, tx: float, ty: float
) -> np.ndarray:
    """(3, 3) map from input to output pixels: scale, shear, rotate about (cx, cy), shift."""
    cos, sin = math.cos(angle), math.sin(angle)
    rot = np.array([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]])
    shr = np.array([[1, math.tan(shear), 0], [0, 1, 0], [0, 0, 1]])
    centre = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]])
    back = np.array([[1, 0, cx + tx], [0, 1, cy + ty], [0, 0, 1]])
    return back @ rot @ shr @ np.diag([scale, scale, 1.0]) @ centre


def _border_colour(image: Image.Image) -> int | tuple[int, ...]:
    """The mean colour of the four corners (the background, for most catalog photos)."""
    w, h = image.size
    corners = np.asarray(
        [image.getpixel(xy) for xy in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1))]
    )
    mean = corners.mean(axis=0).round().astype(int)
    return int(mean) if mean.ndim == 0 else tuple(int(v) for v in mean)
