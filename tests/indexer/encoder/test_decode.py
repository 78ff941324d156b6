"""Decoding untrusted bytes: every mode to RGB, EXIF applied, typed errors for bad input."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from indexer.catalog.errors import (
    ImageError,
    ImageTooLargeError,
    NotAnImageError,
    UnsupportedImageError,
)
from indexer.encoder.decode import decode_image, decode_with_size, read_bytes
from tests.conftest import make_image

LIMIT = 10_000_000


def encode(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "CMYK", "I;16", "1", "I", "F"])
def test_every_mode_becomes_rgb(mode: str) -> None:
    base = make_image(1)
    image = (
        base.convert("RGBA").convert(mode)
        if mode not in ("I;16", "I", "F")
        else base.convert("L").convert(mode)
    )
    fmt = "JPEG" if mode == "CMYK" else "TIFF" if mode in ("I", "F") else "PNG"
    if mode == "LA":
        fmt = "PNG"
    decoded = decode_image(encode(image, fmt), max_pixels=LIMIT)
    assert decoded.mode == "RGB"
    assert decoded.size == base.size


def test_sixteen_bit_keeps_contrast() -> None:
    ramp = np.tile(np.arange(0, 65536, 256, dtype=np.uint16), (8, 1))  # (8, 256)
    image = Image.fromarray(ramp.astype(np.int32)).convert("I;16")
    decoded = np.asarray(decode_image(encode(image, "PNG"), max_pixels=LIMIT))
    assert decoded[..., 0].min() == 0 and decoded[..., 0].max() == 255


def test_transparency_is_composited_on_white() -> None:
    image = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    decoded = decode_image(encode(image, "PNG"), max_pixels=LIMIT)
    assert decoded.getpixel((5, 5)) == (255, 255, 255)


def test_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (40, 20), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW when displayed
    decoded = decode_image(encode(image, "JPEG", exif=exif), max_pixels=LIMIT)
    assert decoded.size == (20, 40)


def test_animated_gif_uses_first_frame() -> None:
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0))]
    data = io.BytesIO()
    frames[0].save(data, format="GIF", save_all=True, append_images=frames[1:])
    decoded = decode_image(data.getvalue(), max_pixels=LIMIT)
    assert decoded.getpixel((8, 8))[0] > 200


def test_jpeg_draft_shrinks_large_images() -> None:
    data = encode(make_image(2, size=(1600, 1200)), "JPEG")
    assert decode_image(data, max_pixels=LIMIT, draft_size=300).size[0] < 1600


@pytest.mark.parametrize(("orientation", "upright"), [(1, (1600, 1200)), (6, (1200, 1600))])
def test_the_file_size_is_reported_before_drafting_and_upright(
    orientation: int, upright: tuple[int, int]
) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(make_image(3, size=(1600, 1200)), "JPEG", exif=exif)
    image, pixels = decode_with_size(data, max_pixels=LIMIT, draft_size=224)
    assert pixels == upright
    assert image.size[0] < upright[0] and image.size[1] < upright[1]  # drafted, and
    assert (image.size[0] > image.size[1]) == (upright[0] > upright[1])  # turned upright


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", NotAnImageError),
        (b"this is a text file, not an image", NotAnImageError),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", NotAnImageError),
    ],
)
def test_non_images_are_rejected(data: bytes, error: type[ImageError]) -> None:
    with pytest.raises(error) as info:
        decode_image(data, max_pixels=LIMIT)
    assert info.value.status == 400


def test_truncated_image_is_a_typed_error() -> None:
    data = encode(make_image(3, size=(300, 300)), "PNG")
    with pytest.raises(ImageError, match="corrupt or truncated"):
        decode_image(data[: len(data) // 2], max_pixels=LIMIT)


def test_unsupported_format_is_415() -> None:
    with pytest.raises(UnsupportedImageError) as info:
        decode_image(encode(make_image(4), "PCX"), max_pixels=LIMIT)
    assert info.value.status == 415


def test_pixel_limit_rejects_before_decoding() -> None:
    bomb = encode(Image.new("1", (6000, 6000)), "PNG")  # tiny file, 36 MP
    assert len(bomb) < 100_000
    with pytest.raises(ImageTooLargeError) as info:
        decode_image(bomb, max_pixels=LIMIT)
    assert info.value.status == 413


def test_read_bytes_reports_missing_and_directories(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="file not found"):
        read_bytes(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="is a directory"):
        read_bytes(tmp_path)
