"""Boxes: strict parsing, inside-the-image checks, crops of the upright image at full size."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from indexer.encoder.region import MIN_SIDE, Box, InvalidBoxError, decode_region

LIMIT = 64_000_000


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def quadrants(size: tuple[int, int]) -> Image.Image:
    """Red top-left, green top-right, blue bottom-left, white bottom-right."""
    width, height = size
    image = Image.new("RGB", size, (255, 255, 255))
    image.paste((255, 0, 0), (0, 0, width // 2, height // 2))
    image.paste((0, 255, 0), (width // 2, 0, width, height // 2))
    image.paste((0, 0, 255), (0, height // 2, width // 2, height))
    return image


def test_a_box_parses_integers_and_fractions() -> None:
    assert Box.parse("0,0,10,20") == Box(0, 0, 10, 20)
    assert Box.parse(" 1.5, 2 ,20.25,30 ") == Box(1.5, 2, 20.25, 30)
    assert str(Box.parse("1.5,2,20.25,30")) == "1.5,2,20.25,30"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "1,2,3",
        "1,2,3,4,5",
        "a,b,c,d",
        "0,0,nan,10",
        "0,0,inf,10",
        "-1,0,10,10",
        "10,0,0,10",  # left > right
        "0,10,10,0",  # top > bottom
        "0,0,7,100",  # narrower than MIN_SIDE
        "0,0,100,7.9",
        "0,0," + "9" * 400 + ",10",
        "0x10,0,20,20",
    ],
)
def test_bad_boxes_are_refused_with_a_typed_400(raw: str) -> None:
    with pytest.raises(InvalidBoxError) as caught:
        Box.parse(raw)
    assert caught.value.status == 400 and caught.value.code == "invalid_box"
    assert "box" in caught.value.message


def test_a_box_must_lie_inside_the_image() -> None:
    data = encode(quadrants((40, 30)), "PNG")
    decode_region(data, Box(0, 0, 40, 30), max_pixels=LIMIT)  # the whole image is fine
    with pytest.raises(InvalidBoxError, match="40x30"):
        decode_region(data, Box(0, 0, 41, 30), max_pixels=LIMIT)
    with pytest.raises(InvalidBoxError):
        decode_region(data, Box(35, 0, 35 + MIN_SIDE, 30), max_pixels=LIMIT)


def test_a_tiny_image_cannot_hold_a_box() -> None:
    data = encode(Image.new("RGB", (6, 6), (0, 0, 0)), "PNG")
    with pytest.raises(InvalidBoxError):
        decode_region(data, Box(0, 0, MIN_SIDE, MIN_SIDE), max_pixels=LIMIT)


@pytest.mark.parametrize(
    ("box", "colour"),
    [
        (Box(0, 0, 50, 40), (255, 0, 0)),
        (Box(50, 0, 100, 40), (0, 255, 0)),
        (Box(0, 40, 50, 80), (0, 0, 255)),
        (Box(50, 40, 100, 80), (255, 255, 255)),
    ],
)
def test_the_crop_is_the_boxed_pixels(box: Box, colour: tuple[int, int, int]) -> None:
    crop = decode_region(encode(quadrants((100, 80)), "PNG"), box, max_pixels=LIMIT)
    assert crop.size == (50, 40)
    assert crop.getextrema() == tuple((c, c) for c in colour)


def test_boxes_are_in_pixels_of_the_upright_image() -> None:
    """A JPEG stored sideways with EXIF orientation 6 is 80x100 when shown: boxes say so."""
    stored = quadrants((100, 80)).transpose(Image.Transpose.ROTATE_90)  # (80, 100) -> stored
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise: upright again
    data = encode(stored, "JPEG", exif=exif, quality=95)
    crop = decode_region(data, Box(0, 0, 50, 40), max_pixels=LIMIT)
    red, green, blue = crop.resize((1, 1)).getpixel((0, 0))
    assert red > 200 and green < 60 and blue < 60
    with pytest.raises(InvalidBoxError, match="100x80"):
        decode_region(data, Box(0, 0, 100, 90), max_pixels=LIMIT)


def test_a_large_jpeg_is_cropped_at_full_detail() -> None:
    """Drafting would shrink a 1600 px JPEG; the box's region keeps its own pixels."""
    data = encode(quadrants((1600, 1200)), "JPEG", quality=95)
    crop = decode_region(data, Box(700, 500, 900, 700), max_pixels=LIMIT, draft_size=32)
    assert crop.size == (200, 200)
    without = decode_region(data, None, max_pixels=LIMIT, draft_size=32)
    assert without.size[0] < 1600
