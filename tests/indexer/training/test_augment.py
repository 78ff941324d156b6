"""Augmentations keep size and mode, are deterministic under a seed, and respect grayscale."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from indexer.training.augment import Augment, AugmentConfig
from tests.conftest import make_image


def views(augment: Augment, image: Image.Image, seed: int, n: int = 4) -> list[np.ndarray]:
    generator = torch.Generator().manual_seed(seed)
    return [np.asarray(augment(image, generator)) for _ in range(n)]


@pytest.mark.parametrize("grayscale", [False, True])
def test_views_are_square_in_the_model_mode(grayscale: bool) -> None:
    augment = Augment(AugmentConfig(size=40, grayscale=grayscale))
    out = augment(make_image(1, size=(120, 70)), torch.Generator().manual_seed(0))
    assert out.size == (40, 40)
    assert out.mode == ("L" if grayscale else "RGB")


def test_same_seed_same_views_other_seed_other_views() -> None:
    augment = Augment(AugmentConfig(size=48))
    image = make_image(2)
    first, again, other = (
        views(augment, image, 7),
        views(augment, image, 7),
        views(augment, image, 8),
    )
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))
    assert not np.array_equal(first[0], first[1])  # successive views differ


def test_all_off_is_a_plain_resize() -> None:
    config = AugmentConfig(
        size=32,
        flip=False,
        crop_scale=(1.0, 1.0),
        crop_ratio=(1.0, 1.0),
        jitter=0.0,
        rotation=0.0,
        shear=0.0,
        scale=(1.0, 1.0),
        translate=0.0,
    )
    image = make_image(3, size=(64, 64))
    out = Augment(config)(image, torch.Generator().manual_seed(0))
    expected = image.resize((32, 32), Image.Resampling.BILINEAR)
    assert np.array_equal(np.asarray(out), np.asarray(expected))


def test_flip_only_mirrors_when_enabled() -> None:
    config = AugmentConfig(
        size=32,
        flip=True,
        crop_scale=(1.0, 1.0),
        crop_ratio=(1.0, 1.0),
        jitter=0.0,
        rotation=0.0,
        shear=0.0,
        scale=(1.0, 1.0),
        translate=0.0,
    )
    image = make_image(4, size=(32, 32))
    plain, mirrored = np.asarray(image), np.asarray(image)[:, ::-1]
    outs = views(Augment(config), image, 0, n=20)
    assert any(np.array_equal(o, mirrored) for o in outs)
    assert any(np.array_equal(o, plain) for o in outs)
    assert all(np.array_equal(o, mirrored) or np.array_equal(o, plain) for o in outs)
    no_flip = views(Augment(AugmentConfig(**{**config.__dict__, "flip": False})), image, 0, n=20)
    assert all(np.array_equal(o, plain) for o in no_flip)


def test_grayscale_skips_colour_jitter() -> None:
    # Only jitter on: a grayscale view must equal the resized gray image, an RGB one must not.
    base = dict(
        size=32,
        flip=False,
        crop_scale=(1.0, 1.0),
        crop_ratio=(1.0, 1.0),
        jitter=0.5,
        rotation=0.0,
        shear=0.0,
        scale=(1.0, 1.0),
        translate=0.0,
    )
    image = make_image(5, size=(32, 32))
    gray = Augment(AugmentConfig(**base, grayscale=True))(image, torch.Generator().manual_seed(1))
    assert np.array_equal(np.asarray(gray), np.asarray(image.convert("L")))
    rgb = Augment(AugmentConfig(**base))(image, torch.Generator().manual_seed(1))
    assert not np.array_equal(np.asarray(rgb), np.asarray(image))


def test_affine_fills_corners_with_the_background() -> None:
    # A white page with a black square: rotated views must not gain black corners.
    image = Image.new("L", (64, 64), 255)
    image.paste(0, (24, 24, 40, 40))
    config = AugmentConfig(
        size=64,
        grayscale=True,
        flip=False,
        crop_scale=(1.0, 1.0),
        crop_ratio=(1.0, 1.0),
        rotation=30.0,
        shear=10.0,
    )
    for view in views(Augment(config), image, 3, n=5):
        assert view[0, 0] == 255 and view[-1, -1] == 255 and view[0, -1] == 255
        assert view.min() < 50  # the square is still there
