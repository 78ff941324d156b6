"""Batched augmentation of model-ready tensors: random affine distortion and quarter turns.

The line-art counterpart of `augment.Augment` (which works on one PIL image at a time):
images are decoded once, resized to the model input and kept as one (N, C, S, S) tensor;
each batch is distorted in a few torch ops (`affine_grid` + `grid_sample`), so training
costs little beyond the network itself. Every random draw comes from the generator passed
in, so a seeded generator gives the same batch on every run. The border pixels are repeated
into the area an affine map uncovers: for scans and drawings that is the background.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

DISTORTIONS = ("photo", "affine", "none")


@dataclass(frozen=True)
class Distortion:
    """Ranges of the random affine map (Koch et al. 2015 for Omniglot, at 105 px).

    `translate` is a fraction of the side (2 px of 105 by default); `shear` is the
    tangent of the shear angle.
    """

    rotation: float = 10.0  # degrees, uniform in [-rotation, rotation]
    shear: float = 0.3
    scale: tuple[float, float] = (0.8, 1.2)
    translate: float = 2.0 / 105.0

    @property
    def is_identity(self) -> bool:
        return not (self.rotation or self.shear or self.translate) and self.scale == (1.0, 1.0)


def distortion_for(name: str) -> Distortion | None:
    """The tensor-path distortion a `TrainConfig.distortion` names; None for "photo" (PIL)."""
    if name == "photo":
        return None
    if name == "affine":
        return Distortion()
    if name == "none":
        return Distortion(rotation=0.0, shear=0.0, scale=(1.0, 1.0), translate=0.0)
    raise ValueError(f"distortion must be one of {DISTORTIONS}, got {name!r}")


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)  # (n,)


def affine_thetas(n: int, distortion: Distortion, generator: torch.Generator) -> torch.Tensor:
    """(n, 2, 3) output -> input maps in `affine_grid`'s normalised coordinates."""
    d = distortion
    angle = torch.deg2rad(_uniform(n, -d.rotation, d.rotation, generator))
    shear_x = _uniform(n, -d.shear, d.shear, generator)
    shear_y = _uniform(n, -d.shear, d.shear, generator)
    scale = _uniform(n, *d.scale, generator)
    shift = _uniform(2 * n, -2 * d.translate, 2 * d.translate, generator).view(n, 2)
    cos, sin = torch.cos(angle), torch.sin(angle)
    rot = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)  # (n, 2, 2)
    shr = torch.stack(
        [torch.stack([torch.ones(n), shear_x], 1), torch.stack([shear_y, torch.ones(n)], 1)], 1
    )  # (n, 2, 2)
    forward = rot @ shr * scale[:, None, None]  # (n, 2, 2) input -> output
    inverse = torch.linalg.inv(forward)  # grid_sample samples the input at each output pixel
    offset = -(inverse @ shift[:, :, None])  # (n, 2, 1)
    return torch.cat([inverse, offset], dim=2)  # (n, 2, 3)


def distort(
    images: torch.Tensor, distortion: Distortion, generator: torch.Generator
) -> torch.Tensor:
    """A random affine view of each image: (B, C, S, S) float -> (B, C, S, S)."""
    if distortion.is_identity or len(images) == 0:
        return images
    theta = affine_thetas(len(images), distortion, generator).to(images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)  # (B, S, S, 2)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def quarter_turns(images: torch.Tensor, turns: torch.Tensor) -> torch.Tensor:
    """Rotate image i by 90 degrees x turns[i] (counter-clockwise): (B, C, S, S) -> same."""
    out = images.clone()
    for k in (1, 2, 3):
        chosen = turns == k
        if chosen.any():
            out[chosen] = torch.rot90(images[chosen], k, dims=(2, 3))
    return out
