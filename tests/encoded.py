"""Image files encoded in memory for the tests: a generated picture as PNG bytes, and one
valid file of each common format (the seeds that property tests mutate)."""

from __future__ import annotations

import io

from PIL import Image

from tests.conftest import make_image


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png(seed: int, size: tuple[int, int] = (96, 80)) -> bytes:
    """The picture `make_image(seed, size)` as a PNG file."""
    return encode(make_image(seed, size), "PNG")


SEEDS = [
    encode(make_image(11, (64, 48)), fmt) for fmt in ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
]
