"""What one decode may cost: memory, time and JPEG scans, checked before and while decoding.

The pixel limit alone lets a 36 KB GIF declaring 8000 x 7000 cost a gigabyte, and a 156 KB
progressive JPEG with 2,000 scans cost seconds of CPU per search. The header tells the mode
and size, so the peak memory of decoding and converting is estimated before anything is
decoded; a JPEG's scans are counted from its markers; and the bytes reach the decoder in
small slices through a reader that stops at the deadline.
"""

from __future__ import annotations

import io
import struct
import time

from PIL import Image

from indexer.catalog.errors import DecodeBudgetError
from indexer.catalog.settings import MB, DecodeBudget

SLICE = 16 * 1024  # bytes handed to the decoder between two deadline checks
# Bytes per pixel Pillow keeps for each mode (RGB is stored as 4).
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
# Bytes per output pixel that converting a mode to RGB allocates on top of the decoded image
# (alpha: an RGBA copy, a white background, the composite and the RGB result).
_CONVERSION_BYTES = {"RGB": 0, "P": 16, "PA": 16, "LA": 16, "RGBA": 16, "RGBa": 16, "La": 16}
_OTHER_CONVERSION_BYTES = 10  # one RGB copy, and for high-bit modes a float copy and an L
_SOF_PROGRESSIVE = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # markers without a length


DEFAULT_BUDGET = DecodeBudget()


def check_jpeg_scans(data: bytes, limit: int) -> None:
    """Count a JPEG's scans (SOS markers) and refuse more than `limit`."""
    if data[:2] != b"\xff\xd8":
        return
    scans = 0
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return  # not a marker where one must be: let the decoder report it
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xD9:
            return
        if marker in _STANDALONE:
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        position += 2 + length
        if marker != 0xDA:
            continue
        scans += 1
        if scans > limit:
            raise DecodeBudgetError(
                f"JPEG with more than {limit} scans: too costly to decode "
                "(each scan is one more pass over the image)"
            )
        position = _after_entropy_data(data, position)


def _after_entropy_data(data: bytes, position: int) -> int:
    """The offset of the first marker after a scan's entropy-coded data."""
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= len(data):
            return len(data)
        following = data[position + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            position += 1 if following == 0xFF else 2
            continue
        return position


def estimate_peak_bytes(
    image: Image.Image, *, full_size: tuple[int, int], shrink_to: int | None
) -> int:
    """Peak memory of decoding `image` (header read, draft applied) and converting it to RGB.

    `shrink_to`: the image is reduced to about this side before converting (see decode).
    """
    width, height = image.size
    decoded = width * height * _BYTES_PER_PIXEL.get(image.mode, 4)
    if image.format == "JPEG" and _progressive(image):
        # libjpeg keeps every DCT coefficient of the full image: 2 bytes per sample.
        decoded += full_size[0] * full_size[1] * len(image.getbands()) * 2
    out_pixels = width * height
    factor = shrink_factor((width, height), shrink_to)
    if factor > 1:  # sampled at twice the target before converting, when not averaged
        out_pixels = -(-width // factor) * -(-height // factor) * 4
    per_pixel = _CONVERSION_BYTES.get(image.mode, _OTHER_CONVERSION_BYTES)
    return decoded + out_pixels * per_pixel


def shrink_factor(size: tuple[int, int], shrink_to: int | None) -> int:
    """By how much a decoded image may shrink before conversion and still have twice
    `shrink_to` pixels on its short side (1: not at all)."""
    if shrink_to is None:
        return 1
    return max(1, min(size) // (2 * shrink_to))


def check_memory(estimate: int, budget: DecodeBudget) -> None:
    if estimate > budget.max_memory_bytes:
        raise DecodeBudgetError(
            f"decoding would need about {estimate // MB} MB, over the budget of "
            f"{budget.max_memory_bytes // MB} MB per image (LOOKALIKE_DECODE_MEMORY_MB)"
        )


def _progressive(image: Image.Image) -> bool:
    return bool(image.info.get("progressive") or image.info.get("progression"))


class DeadlineReader(io.BytesIO):
    """Image bytes for Pillow; once `start` is called, every read checks the deadline.

    The decoder asks for `decodermaxblock` bytes at a time; `decode` lowers it to `SLICE`,
    so the checks come often (the reads themselves are never cut short: some plugins count
    what they asked for, not what they got).
    """

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.deadline: float | None = None
        self.seconds = 0.0

    def start(self, seconds: float) -> None:
        self.seconds, self.deadline = seconds, time.monotonic() + seconds

    def read(self, size: int | None = -1, /) -> bytes:
        if self.deadline is not None:
            if time.monotonic() > self.deadline:
                raise DecodeBudgetError(
                    f"decoding took longer than {self.seconds:g} s (LOOKALIKE_DECODE_TIMEOUT_S)"
                )
        return super().read(size)
