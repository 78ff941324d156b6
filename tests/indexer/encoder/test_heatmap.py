"""Heatmap overlays: the grid stretched over the upright image, red for alike, blue for not."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from indexer.encoder.heatmap import overlay, png_bytes


def grey(size: tuple[int, int]) -> Image.Image:
    return Image.new("RGB", size, (128, 128, 128))


def test_the_overlay_keeps_the_aspect_and_fits_the_side() -> None:
    drawn = overlay(grey((400, 100)), np.zeros((7, 7)), max_side=200)
    assert drawn.size == (200, 50) and drawn.mode == "RGB"
    assert overlay(grey((30, 60)), np.zeros((2, 2)), max_side=120).size == (60, 120)


def test_positive_cells_turn_red_negative_blue_zero_unchanged() -> None:
    heat = np.array([[1.0, 0.0], [0.0, -0.5]])
    pixels = np.asarray(overlay(grey((100, 100)), heat, max_side=100)).astype(int)
    top_left, top_right, bottom_right = pixels[5, 5], pixels[5, 95], pixels[95, 95]
    assert top_left[0] > 180 and top_left[2] < 100  # strongest: red
    assert bottom_right[2] > 150 and bottom_right[0] < 110  # half as strong, blue
    assert np.abs(top_right - 128).max() <= 2  # nothing: the image as it was


def test_an_all_zero_grid_draws_the_plain_image() -> None:
    image = grey((50, 40))
    assert np.array_equal(
        np.asarray(overlay(image, np.zeros((3, 3)), max_side=50)), np.asarray(image)
    )


def test_png_bytes_decode_to_the_same_pixels() -> None:
    drawn = overlay(grey((64, 64)), np.eye(4), max_side=64)
    with Image.open(io.BytesIO(png_bytes(drawn))) as back:
        assert back.format == "PNG" and np.array_equal(np.asarray(back), np.asarray(drawn))
