"""Fitting an image into the square input: stretch, pad, or crop to the ink and pad."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from indexer.encoder.checkpoint import load_checkpoint, save_checkpoint
from indexer.encoder.config import EncoderConfig
from indexer.encoder.fit import fit_square, ink_box, pad_square
from indexer.encoder.model import SiameseEncoder
from indexer.encoder.preprocess import to_array


def signature(
    size: tuple[int, int] = (600, 200), box: tuple[int, int, int, int] = (200, 60, 400, 120)
) -> Image.Image:
    """Off-white paper with a dark scribble filling `box`."""
    image = Image.new("L", size, 235)
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = box
    draw.line(
        [(left, bottom - 1), ((left + right) // 2, top), (right - 1, bottom - 1)], fill=20, width=4
    )
    draw.line([(left, top), (right - 1, top)], fill=30, width=3)
    return image


def test_stretch_leaves_the_image_alone() -> None:
    image = signature()
    assert fit_square(image, "stretch") is image


def test_pad_centres_the_whole_image_on_its_background() -> None:
    image = signature((300, 100))
    padded = pad_square(image)
    assert padded.size == (300, 300)
    pixels = np.asarray(padded)
    assert (pixels[:100] == 235).all() and (pixels[200:] == 235).all()  # paper above and below
    np.testing.assert_array_equal(pixels[100:200], np.asarray(image))


def test_ink_box_surrounds_the_strokes_with_a_small_margin() -> None:
    left, top, right, bottom = ink_box(signature(box=(200, 60, 400, 120))) or (0, 0, 0, 0)
    assert 185 <= left <= 200 and 45 <= top <= 60
    assert 400 <= right <= 415 and 120 <= bottom <= 135


def test_a_speck_of_dust_does_not_widen_the_ink_box() -> None:
    image = signature(box=(200, 60, 400, 120))
    image.putpixel((590, 190), 0)
    box = ink_box(image)
    assert box is not None and box[2] <= 415 and box[3] <= 135


def test_blank_or_flat_images_have_no_ink_and_are_only_padded() -> None:
    flat = Image.new("L", (200, 50), 128)
    assert ink_box(flat) is None
    assert fit_square(flat, "ink").size == (200, 200)


def test_colour_images_pad_with_their_own_background() -> None:
    image = Image.new("RGB", (80, 40), (10, 200, 30))
    padded = fit_square(image, "pad")
    assert padded.size == (80, 80) and padded.getpixel((0, 0)) == (10, 200, 30)


def test_the_model_input_is_the_ink_crop_padded_square() -> None:
    """Oracle: crop and pad by hand, resize, scale; the product path must give the same."""
    image = signature()
    config = EncoderConfig(backbone="small_cnn", embedding_dim=8, input_size=32, grayscale=True,
                           pretrained=False, fit="ink")  # fmt: skip
    box = ink_box(image)
    assert box is not None
    crop = image.crop(box)
    side = max(crop.size)
    canvas = Image.new("L", (side, side), 235)
    canvas.paste(crop, ((side - crop.size[0]) // 2, (side - crop.size[1]) // 2))
    expected = np.asarray(
        canvas.resize((32, 32), Image.Resampling.BILINEAR, reducing_gap=2.0), np.float32
    )
    expected = (expected - 127.0) / 128.0
    np.testing.assert_allclose(to_array(image, config)[0], expected, atol=1e-5)
    stretched = to_array(image, EncoderConfig(**{**config.to_dict(), "fit": "stretch"}))  # type: ignore[arg-type]
    assert np.abs(stretched - to_array(image, config)).max() > 0.5  # the fit changes the input


def test_unknown_fits_are_refused() -> None:
    with pytest.raises(ValueError, match="fit must be one of"):
        EncoderConfig(fit="crop")


def test_configs_saved_before_fit_existed_stretch() -> None:
    data = EncoderConfig().to_dict()
    del data["fit"]
    assert EncoderConfig.from_dict(data).fit == "stretch"


def test_a_checkpoint_serves_with_the_fit_it_was_trained_with(tmp_path: Path) -> None:
    torch.manual_seed(0)
    config = EncoderConfig(backbone="small_cnn", embedding_dim=8, input_size=32, grayscale=True,
                           pretrained=False, fit="ink")  # fmt: skip
    version = save_checkpoint(tmp_path / "m.pt", SiameseEncoder(config))
    loaded = load_checkpoint(tmp_path / "m.pt")
    assert loaded.encoder.config.fit == "ink"
    assert version.endswith("-ink")  # the preprocessing is part of what the vectors mean
