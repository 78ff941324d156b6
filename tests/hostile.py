"""A corpus of hostile and awkward image files, generated in memory for the tests.

Each case says what the product must do with it: accept it (decode to RGB), or refuse it with
a typed error whose HTTP status and message are given.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

from tests.conftest import make_image
from tests.encoded import encode


@dataclass(frozen=True)
class Case:
    name: str  # also the file name in bulk jobs
    data: bytes
    status: int  # 200: accepted; else the API's status
    reason: str = ""  # a fragment of the error message


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int = 200_000, height: int = 200_000) -> bytes:
    """A 100-byte PNG that claims 40 gigapixels (a decompression bomb's header)."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def gif_bomb(width: int = 8000, height: int = 7000) -> bytes:
    """A ~43 KB one-colour GIF declaring 8000 x 7000 (56 MP, under the pixel limit)."""
    image = Image.new("P", (width, height), 0)
    image.putpalette([0, 0, 0, 255, 255, 255] * 128)
    return encode(image, "GIF")


def _segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of a JPEG's segments, a scan's entropy-coded data included."""
    found, position = [], 2
    while data[position + 1] != 0xD9:
        marker = data[position + 1]
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        end = position + 2 + length
        if marker == 0xDA:
            while data[end] != 0xFF or data[end + 1] == 0 or 0xD0 <= data[end + 1] <= 0xD7:
                end += 1
        found.append((marker, position, end))
        position = end
    return found


def many_scan_jpeg(scans: int = 2000, side: int = 4096) -> bytes:
    """A progressive grey JPEG whose first AC scan (with its Huffman table) is repeated until
    it has `scans` scans: valid for libjpeg, which makes one pass over the image per scan."""
    data = encode(Image.new("L", (side, side), 128), "JPEG", progressive=True, quality=90)
    segments = _segments(data)
    sos = [i for i, (marker, _, _) in enumerate(segments) if marker == 0xDA]
    _, dht_start, _ = segments[sos[1] - 1]  # the DHT in front of the second scan
    _, _, scan_end = segments[sos[1]]
    repeated = data[dht_start:scan_end] * (scans - len(sos))
    return data[:scan_end] + repeated + data[scan_end:]


def float_tiff_with_nan() -> bytes:
    """A 32-bit float grey TIFF (a gradient) with one NaN pixel."""
    values = np.tile(np.linspace(0.0, 1.0, 64, dtype=np.float32), (48, 1))  # (H, W)
    values[0, 0] = np.nan  # first: Pillow's extrema then start from NaN
    return encode(Image.fromarray(values, mode="F"), "TIFF")


def animated(fmt: str) -> bytes:
    frames = [make_image(seed, (64, 48)) for seed in range(3)]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    return encode(make_image(5, (80, 40)), "JPEG", exif=exif.tobytes())


def palette_with_transparency() -> bytes:
    image = make_image(6, (40, 40)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    image.info["transparency"] = 0
    return encode(image, "PNG", transparency=0)


def sixteen_bit_png() -> bytes:
    image = Image.new("I;16", (50, 40))
    image.putdata([(x * 1300) % 65535 for x in range(50 * 40)])
    return encode(image, "PNG")


def corpus() -> list[Case]:
    import pillow_heif  # noqa: F401  (registers the HEIF encoder with Pillow)

    jpeg = encode(make_image(1, (200, 160)), "JPEG", quality=90)
    png = encode(make_image(2, (200, 160)), "PNG")
    return [
        Case("truncated.jpg", jpeg[: len(jpeg) // 3], 400, "corrupt or truncated"),
        Case("truncated.png", png[: len(png) // 2], 400, "corrupt or truncated"),
        Case("empty.jpg", b"", 400, "empty file"),
        Case("text.jpg", b"Dear customer,\nthis is not a photo.\n" * 20, 400, "not a recognised"),
        Case("bomb.png", png_bomb(), 413, "pixels"),
        Case("animated.gif", animated("GIF"), 200),
        Case("animated.webp", animated("WEBP"), 200),
        Case("sixteen-bit.png", sixteen_bit_png(), 200),
        Case("cmyk.jpg", encode(make_image(3, (60, 60)).convert("CMYK"), "JPEG"), 200),
        Case("palette-alpha.png", palette_with_transparency(), 200),
        Case("exif-rotated.jpg", exif_rotated(), 200),
        Case(
            "drawing.svg",
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" '
            b'height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>',
            400,
            "not a recognised",
        ),
        # A valid JPEG with an HTML page appended: decodes as the JPEG, never served as HTML.
        Case("polyglot.jpg", jpeg + b"<html><script>alert(document.cookie)</script></html>", 200),
        # A GIF header in front of a script: not decodable as a GIF.
        Case("polyglot.gif", b"GIF89a/*<script>alert(1)</script>*/=1;", 400, ""),
        Case("many-scans.jpg", many_scan_jpeg(2000), 422, "scans"),
        Case("float-nan.tif", float_tiff_with_nan(), 200),
        Case("grey.pgm", encode(make_image(9, (40, 30)).convert("L"), "PPM"), 200),
        Case("bits.pbm", encode(make_image(10, (40, 30)).convert("1"), "PPM"), 200),
        Case("photo.heic", encode(make_image(11, (64, 48)), "HEIF"), 200),
        Case("photo.avif", encode(make_image(12, (64, 48)), "AVIF"), 200),
        Case("pcx.pcx", encode(make_image(4, (40, 40)), "PCX"), 415, "not supported"),
    ]


ACCEPTED = [c for c in corpus() if c.status == 200]
REFUSED = [c for c in corpus() if c.status != 200]
