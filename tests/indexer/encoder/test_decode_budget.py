"""The decode budget (memory, time, JPEG scans), finite-value scaling and the added formats."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from indexer.catalog.errors import DecodeBudgetError
from indexer.encoder.decode import ALLOWED_FORMATS, decode_image, decode_with_size
from indexer.encoder.decode_budget import DecodeBudget, check_jpeg_scans
from tests.conftest import make_image
from tests.hostile import encode, float_tiff_with_nan, gif_bomb, many_scan_jpeg

LIMIT = 64_000_000


def test_a_jpeg_with_thousands_of_scans_is_refused_before_decoding() -> None:
    data = many_scan_jpeg(2000)
    with pytest.raises(DecodeBudgetError, match="more than 100 scans") as info:
        decode_image(data, max_pixels=LIMIT, draft_size=224)
    assert info.value.status == 422


def test_an_ordinary_progressive_jpeg_is_within_the_scan_limit() -> None:
    data = encode(make_image(1, (300, 200)), "JPEG", progressive=True)
    check_jpeg_scans(data, 100)
    assert decode_image(data, max_pixels=LIMIT).size == (300, 200)


def test_decoding_stops_at_the_deadline() -> None:
    slow = many_scan_jpeg(400)  # allowed by a raised scan limit, but slow
    budget = DecodeBudget(max_seconds=0.05, max_jpeg_scans=1000)
    with pytest.raises(DecodeBudgetError, match="longer than 0.05 s") as info:
        decode_image(slow, max_pixels=LIMIT, draft_size=224, budget=budget)
    assert info.value.status == 422


def test_a_gif_declaring_56_megapixels_decodes_small_or_is_refused_by_memory() -> None:
    data = gif_bomb()
    assert len(data) < 50_000
    image, size = decode_with_size(data, max_pixels=LIMIT, draft_size=224)
    assert size == (8000, 7000)
    assert max(image.size) <= 4 * 224 * 2  # shrunk before the RGB conversion
    with pytest.raises(DecodeBudgetError, match="MB"):
        decode_image(data, max_pixels=LIMIT, budget=DecodeBudget(max_memory_bytes=32 << 20))


def test_memory_estimate_refuses_a_full_size_alpha_conversion() -> None:
    data = encode(Image.new("RGBA", (5000, 5000), (1, 2, 3, 4)), "PNG")
    with pytest.raises(DecodeBudgetError):
        decode_image(data, max_pixels=LIMIT)  # 100 MB decoded + 400 MB of conversions
    assert decode_image(data, max_pixels=LIMIT, draft_size=224).size[0] < 5000


def test_a_nan_pixel_does_not_turn_a_float_tiff_black() -> None:
    image = decode_image(float_tiff_with_nan(), max_pixels=LIMIT)
    grey = np.asarray(image.convert("L"))
    assert grey[0, 0] == 0  # the NaN pixel
    assert grey[5, -1] == 255 and grey[5, 1] < 10  # the gradient kept its range
    assert grey.max() == 255


def test_shrinking_keeps_the_exif_orientation() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(make_image(3, (2000, 1000)).convert("L"), "PNG", exif=exif.tobytes())
    image, size = decode_with_size(data, max_pixels=LIMIT, draft_size=100)
    assert size == (1000, 2000)
    assert image.size[0] < image.size[1]


@pytest.mark.parametrize(
    ("mode", "suffix"),
    [("1", "pbm"), ("L", "pgm"), ("RGB", "ppm"), ("I;16", "pgm")],
)
def test_netpbm_files_decode(mode: str, suffix: str) -> None:
    source = make_image(7, (60, 40)).convert("L")
    image = source.convert(mode) if mode != "I;16" else source.point(lambda v: v * 200, "I")
    if mode == "I;16":
        image = image.convert("I;16")
    data = encode(image, "PPM")
    assert decode_image(data, max_pixels=LIMIT).size == (60, 40)


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_heif_and_avif_written_by_their_encoders_decode(fmt: str) -> None:
    assert fmt in ALLOWED_FORMATS
    source = make_image(8, (96, 64))
    decoded = decode_image(encode(source, fmt, quality=95), max_pixels=LIMIT)
    assert decoded.size == (96, 64)
    error = np.abs(np.asarray(decoded, dtype=float) - np.asarray(source, dtype=float)).mean()
    assert error < 20  # lossy, but the same picture


def test_netpbm_reads_the_real_magic_numbers() -> None:
    data = b"P5\n3 2\n255\n" + bytes([0, 128, 255, 10, 20, 30])
    assert Image.open(io.BytesIO(data)).format == "PPM"
    assert decode_image(data, max_pixels=LIMIT).size == (3, 2)
