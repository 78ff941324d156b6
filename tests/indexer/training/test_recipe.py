"""The recipe chosen from the data: line art, grayscale scans and colour photos, overrides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from indexer.training.data import LabelledSet
from indexer.training.data_profile import DataProfile, inspect_images
from indexer.training.recipe import LINE_ART, choose_recipe
from tests.conftest import strokes


def scan(seed: int) -> Image.Image:
    """Grey ink on off-white, slightly noisy paper: a signature scan (not line art: its
    strokes have grey edges and shades, about 15% mid-tones)."""
    rng = np.random.default_rng(seed)
    paper = rng.normal(236, 6, (200, 300)).clip(0, 255)
    paper[80:120, 40:260] = rng.normal(110, 30, (40, 220)).clip(0, 255)  # the ink
    return Image.fromarray(paper.astype(np.uint8), "L")


def grey_photo(seed: int) -> Image.Image:
    """A grayscale photo: smooth tones everywhere, few pixels near black or white."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:200, 0:300]
    tones = 128 + 60 * np.sin(x / (20 + seed % 7)) * np.cos(y / 30) + rng.normal(0, 8, y.shape)
    return Image.fromarray(tones.clip(0, 255).astype(np.uint8), "L")


def photo(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


def dataset(make, n_labels: int, per_label: int, *, supervised: bool = True) -> LabelledSet:  # type: ignore[no-untyped-def]
    images = tuple(make(i) for i in range(n_labels * per_label))
    labels = np.repeat(np.arange(n_labels), per_label) if supervised else np.arange(len(images))
    names = tuple(f"l{i}" for i in range(int(labels.max()) + 1))
    rel = tuple(f"{i}.png" for i in range(len(images)))
    sizes = tuple(im.size for im in images)
    return LabelledSet(Path("."), rel, labels, names, images, supervised, sizes)


def test_binary_strokes_are_line_art_and_get_the_line_art_recipe() -> None:
    profile = inspect_images(dataset(strokes, 40, 5))
    assert profile.kind == "line art" and profile.extreme_share > 0.95
    assert (profile.labels, profile.min_per_label, profile.median_side) == (40, 5, 105)
    config, reasons = choose_recipe(profile, device="cpu", budget_s=900)
    assert config.backbone == "small_cnn" and config.grayscale and not config.flip
    assert (config.input_size, config.width) == (LINE_ART["input_size"], LINE_ART["width"])
    assert (config.batch_labels, config.per_label) == (32, 4)  # 32 of 40 labels train
    assert config.split == "labels"
    assert any("backbone" in r and "line art" in r and "ink or paper" in r for r in reasons)


def test_grayscale_scans_get_the_small_cnn_at_a_larger_input() -> None:
    profile = inspect_images(dataset(scan, 12, 3))
    assert profile.kind == "grayscale" and 0.75 <= profile.extreme_share < 0.95
    config, _ = choose_recipe(profile, device="cpu", budget_s=900)
    assert config.backbone == "small_cnn" and config.grayscale
    assert 64 <= config.input_size <= 128 and config.per_label == 3


def test_grayscale_photos_get_the_pretrained_backbone_like_colour_photos() -> None:
    profile = inspect_images(dataset(grey_photo, 12, 3))
    assert profile.kind == "grayscale" and profile.extreme_share < 0.5
    config, reasons = choose_recipe(profile, device="cpu", budget_s=900)
    assert config.backbone == "efficientnet_lite0" and not config.grayscale
    assert config.freeze_backbone
    assert any(r.startswith("backbone") and "grayscale photos" in r for r in reasons)
    given, _ = choose_recipe(profile, device="cpu", budget_s=900, overrides={"grayscale": True})
    assert given.backbone == "small_cnn" and given.grayscale


def test_colour_photos_get_the_pretrained_backbone_head_first() -> None:
    profile = inspect_images(dataset(photo, 5, 4))
    assert profile.kind == "colour"
    config, reasons = choose_recipe(profile, device="cuda", budget_s=3600)
    assert config.backbone == "efficientnet_lite0" and not config.grayscale
    assert config.freeze_backbone and config.input_size == 224 and config.flip
    assert config.split == "images"  # 5 labels: too few to hold whole labels out
    assert any("only 5 labels" in r for r in reasons)


def test_a_short_cpu_budget_shrinks_the_photo_input() -> None:
    profile = DataProfile(5000, 100, True, 10, 50.0, 400.0, 1.0, 0.2, 200)
    big, _ = choose_recipe(profile, device="cpu", budget_s=None)
    small, _ = choose_recipe(profile, device="cpu", budget_s=600)
    assert big.input_size == 224 and small.input_size < 224


def test_unlabelled_folders_train_self_supervised_on_two_views() -> None:
    profile = inspect_images(dataset(strokes, 30, 1, supervised=False))
    config, reasons = choose_recipe(profile, device="cpu", budget_s=900)
    assert not profile.supervised and config.per_label == 2
    assert any("self-supervised" in r for r in reasons)


def test_every_given_option_wins() -> None:
    profile = inspect_images(dataset(strokes, 40, 5))
    given = {"input_size": 64, "batch_labels": 4, "per_label": 3, "miner": "batch-hard"}
    config, reasons = choose_recipe(profile, device="cpu", budget_s=900, overrides=given)
    assert (config.input_size, config.batch_labels, config.per_label) == (64, 4, 3)
    assert config.miner == "batch-hard" and config.backbone == "small_cnn"
    assert any(r.startswith("input_size") and "(given)" in r for r in reasons)
    photos, _ = choose_recipe(
        profile, device="cpu", budget_s=900, overrides={"backbone": "efficientnet_lite0"}
    )
    assert photos.backbone == "efficientnet_lite0" and not photos.grayscale
    colour = inspect_images(dataset(photo, 5, 4))
    gray, _ = choose_recipe(colour, device="cpu", budget_s=900, overrides={"grayscale": True})
    assert gray.backbone == "small_cnn" and gray.grayscale
    with pytest.raises(ValueError, match="small_cnn"):
        choose_recipe(
            colour,
            device="cpu",
            budget_s=900,
            overrides={"grayscale": True, "backbone": "efficientnet_lite0"},
        )
