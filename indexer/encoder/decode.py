"""Decode untrusted bytes into an upright RGB Pillow image, or raise a typed ImageError.

Decoding has a budget besides the pixel limit (see `decode_budget`): the estimated peak
memory and the JPEG scan count are checked from the header before decoding, and the decoder
gets its bytes through a reader that stops at the deadline.
"""

from __future__ import annotations

import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from indexer.catalog.errors import (
    ImageError,
    ImageTooLargeError,
    NotAnImageError,
    UnsupportedImageError,
)
from indexer.catalog.reading import read_bytes
from indexer.encoder.decode_budget import (
    DEFAULT_BUDGET,
    SLICE,
    DeadlineReader,
    DecodeBudget,
    check_jpeg_scans,
    check_memory,
    estimate_peak_bytes,
    shrink_factor,
)

__all__ = ["ALLOWED_FORMATS", "decode_image", "decode_with_size", "read_bytes", "to_rgb"]

# The file suffixes of the formats `decode_image` reads (folders are scanned for these).
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".mpo"}
    | {".pbm", ".pgm", ".ppm", ".pnm", ".heic", ".heif", ".avif"}
)


def _heif_formats() -> frozenset[str]:
    """HEIC/HEIF through pillow-heif, when it is installed."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return frozenset()
    register_heif_opener()
    return frozenset({"HEIF"})


# PPM is Pillow's name for the whole Netpbm family: PBM, PGM and PPM.
ALLOWED_FORMATS = frozenset(
    {"JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "MPO", "PPM", "AVIF"} | _heif_formats()
)
ORIENTATION_TAG = 0x0112
_QUARTER_TURNS = frozenset({5, 6, 7, 8})  # EXIF orientations that swap width and height
_HIGH_BIT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_AVERAGED_MODES = frozenset({"L", "LA", "RGB", "RGBA", "CMYK", "I", "F"})  # Image.reduce works


def decode_image(
    data: bytes,
    *,
    max_pixels: int,
    draft_size: int | None = None,
    budget: DecodeBudget = DEFAULT_BUDGET,
) -> Image.Image:
    """Decode image bytes to RGB with EXIF orientation applied.

    `draft_size` lets decoding shrink the image (JPEG DCT scaling, then averaging) down to no
    less than twice that side, before any colour conversion.
    """
    return decode_with_size(data, max_pixels=max_pixels, draft_size=draft_size, budget=budget)[0]


def decode_with_size(
    data: bytes,
    *,
    max_pixels: int,
    draft_size: int | None = None,
    budget: DecodeBudget = DEFAULT_BUDGET,
) -> tuple[Image.Image, tuple[int, int]]:
    """`decode_image`, and the upright (width, height) of the file itself, before drafting."""
    if not data:
        raise NotAnImageError("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # e.g. corrupt EXIF: decode anyway
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            check_jpeg_scans(data, budget.max_jpeg_scans)
            reader = DeadlineReader(data)
            image = Image.open(reader)
            _check_format(image)
            _check_pixels(image, max_pixels)
            full_size = image.size
            orientation = image.getexif().get(ORIENTATION_TAG)
            width, height = full_size[::-1] if orientation in _QUARTER_TURNS else full_size
            if draft_size is not None and image.format == "JPEG":
                image.draft("RGB", (draft_size, draft_size))
            estimate = estimate_peak_bytes(image, full_size=full_size, shrink_to=draft_size)
            check_memory(estimate, budget)
            reader.start(budget.max_seconds)
            image.decodermaxblock = SLICE  # type: ignore[attr-defined]
            image.seek(0)
            image.load()
            rgb = to_rgb(_shrink(image, draft_size))
            return _upright(rgb, orientation), (width, height)
    except ImageError:
        raise
    except UnidentifiedImageError as exc:
        raise NotAnImageError("not a recognised image file") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(f"image too large to decode safely: {exc}") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"corrupt or truncated image: {exc}") from exc


def _shrink(image: Image.Image, draft_size: int | None) -> Image.Image:
    """Reduce a decoded image to about twice `draft_size` before converting it (cheaper)."""
    factor = shrink_factor(image.size, draft_size)
    if factor <= 1:
        return image
    if image.mode in _AVERAGED_MODES:
        return image.reduce(factor)
    # Palettes cannot be averaged: sample at twice the target; the model's resize averages.
    width, height = image.size
    size = (-(-width // factor) * 2, -(-height // factor) * 2)
    return image.resize(size, Image.Resampling.NEAREST)


def _upright(image: Image.Image, orientation: object) -> Image.Image:
    """Apply an EXIF orientation read before decoding (the shrunk copy has no EXIF)."""
    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation if isinstance(orientation, int) else 0)
    return image if method is None else image.transpose(method)


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB, compositing transparency onto white."""
    if image.mode in _HIGH_BIT_MODES:
        image = _to_8bit(image)
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB") if image.mode != "RGB" else image


def _to_8bit(image: Image.Image) -> Image.Image:
    """Scale a 16-bit or float single-channel image into 8-bit grey by the range of its
    finite values; NaN and infinities become black instead of turning the image black."""
    values = np.asarray(image.convert("F"), dtype=np.float32)  # (H, W)
    finite = np.isfinite(values)
    if not finite.any():
        return Image.new("L", image.size, 0)
    low, high = float(values[finite].min()), float(values[finite].max())
    span = (high - low) or 1.0
    scaled = np.where(finite, (values - low) * (255.0 / span), 0.0)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), mode="L")


def _check_format(image: Image.Image) -> None:
    if image.format not in ALLOWED_FORMATS:
        allowed = ", ".join(sorted(ALLOWED_FORMATS))
        raise UnsupportedImageError(f"image format {image.format} is not supported ({allowed})")


def _check_pixels(image: Image.Image, max_pixels: int) -> None:
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageError(f"image has invalid dimensions {width}x{height}")
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"image is {width}x{height} = {width * height} pixels, over the limit of {max_pixels}"
        )
