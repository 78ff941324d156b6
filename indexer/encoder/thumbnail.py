"""Small JPEG previews of catalog images for the results grid."""

from __future__ import annotations

import io

from indexer.encoder.decode import decode_image


def make_thumbnail(data: bytes, *, size: int, max_pixels: int) -> bytes:
    """Decode (DCT-scaled for JPEG) and shrink to fit `size` x `size`; returns JPEG bytes."""
    image = decode_image(data, max_pixels=max_pixels, draft_size=size)
    image.thumbnail((size, size), reducing_gap=2.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()
