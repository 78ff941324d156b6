"""Property tests of the decode path: any bytes either decode to RGB or raise ImageError."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from indexer.catalog.errors import ImageError
from indexer.encoder.decode import decode_image
from tests.conftest import make_image

LIMIT = 4_000_000
FUZZ = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


def encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    make_image(11, (64, 48)).save(buffer, format=fmt)
    return buffer.getvalue()


SEEDS = [encoded(fmt) for fmt in ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")]


def check(data: bytes) -> None:
    try:
        image = decode_image(data, max_pixels=LIMIT)
    except ImageError as exc:
        assert exc.status in (400, 413, 415) and exc.message
        return
    assert isinstance(image, Image.Image) and image.mode == "RGB"
    assert image.width * image.height <= LIMIT


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(data: bytes) -> None:
    check(data)


@FUZZ
@given(
    seed=st.sampled_from(SEEDS),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=12),
    cut=st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_mutated_real_images(seed: bytes, edits: list[tuple[int, int]], cut: int | None) -> None:
    data = bytearray(seed)
    for position, value in edits:
        data[position % len(data)] = value  # flip bytes in headers and payload alike
    check(bytes(data[:cut] if cut is not None else data))


@FUZZ
@given(prefix=st.sampled_from([s[:16] for s in SEEDS]), tail=st.binary(max_size=2048))
def test_valid_magic_numbers_with_garbage_after(prefix: bytes, tail: bytes) -> None:
    check(prefix + tail)
