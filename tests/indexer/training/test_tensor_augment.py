"""Batched line-art distortion: deterministic under a seed, identity when off, exact turns."""

from __future__ import annotations

import torch

from indexer.training.tensor_augment import (
    Distortion,
    affine_thetas,
    distort,
    distortion_for,
    quarter_turns,
)


def glyphs(n: int = 6, size: int = 24) -> torch.Tensor:
    """White squares with a dark off-centre stroke: (n, 1, size, size)."""
    images = torch.ones(n, 1, size, size)
    for i in range(n):
        images[i, 0, 3 + i : 9 + i, 4:7] = -1.0
    return images


def test_same_seed_same_batch_other_seed_other_batch() -> None:
    images, d = glyphs(), Distortion()
    first = distort(images, d, torch.Generator().manual_seed(3))
    again = distort(images, d, torch.Generator().manual_seed(3))
    other = distort(images, d, torch.Generator().manual_seed(4))
    assert first.shape == images.shape
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    assert not torch.equal(first, images)


def test_no_distortion_returns_the_images() -> None:
    images = glyphs()
    none = distortion_for("none")
    assert none is not None and none.is_identity
    assert torch.equal(distort(images, none, torch.Generator().manual_seed(0)), images)
    assert distortion_for("photo") is None


def test_zero_ranges_give_the_identity_map() -> None:
    flat = Distortion(rotation=0.0, shear=0.0, scale=(1.0, 1.0), translate=0.0)
    theta = affine_thetas(5, flat, torch.Generator().manual_seed(0))
    identity = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]).expand(5, 2, 3)
    assert torch.allclose(theta, identity)


def test_uncovered_area_is_filled_with_the_background() -> None:
    images = glyphs(4)
    small = Distortion(rotation=0.0, shear=0.0, scale=(0.5, 0.5), translate=0.0)
    out = distort(images, small, torch.Generator().manual_seed(0))
    assert torch.allclose(out[:, :, 0, :], torch.ones_like(out[:, :, 0, :]))  # border = white


def test_quarter_turns_match_rot90() -> None:
    images = glyphs(4)
    turns = torch.tensor([0, 1, 2, 3])
    out = quarter_turns(images, turns)
    for i in range(4):
        assert torch.equal(out[i], torch.rot90(images[i], i, dims=(1, 2)))
