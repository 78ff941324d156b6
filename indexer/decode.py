"""Decode untrusted bytes into an upright RGB Pillow image, or raise a typed ImageError."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import cast

from PIL import Image, ImageOps, UnidentifiedImageError

from indexer.errors import ImageError, ImageTooLargeError, NotAnImageError, UnsupportedImageError

ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "MPO"})
ORIENTATION_TAG = 0x0112
_QUARTER_TURNS = frozenset({5, 6, 7, 8})  # EXIF orientations that swap width and height
_HIGH_BIT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


def read_bytes(path: Path, *, max_bytes: int | None = None) -> bytes:
    """Read a file, mapping OS errors to ImageError with the reason."""
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise ImageTooLargeError(f"{path}: {size} bytes exceeds the limit of {max_bytes}")
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise ImageError(f"{path}: file not found") from exc
    except IsADirectoryError as exc:
        raise ImageError(f"{path}: is a directory") from exc
    except PermissionError as exc:
        raise ImageError(f"{path}: permission denied") from exc
    except OSError as exc:
        raise ImageError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def decode_image(data: bytes, *, max_pixels: int, draft_size: int | None = None) -> Image.Image:
    """Decode image bytes to RGB with EXIF orientation applied.

    `draft_size` lets JPEG decoding use DCT scaling down to no less than that side.
    """
    return decode_with_size(data, max_pixels=max_pixels, draft_size=draft_size)[0]


def decode_with_size(
    data: bytes, *, max_pixels: int, draft_size: int | None = None
) -> tuple[Image.Image, tuple[int, int]]:
    """`decode_image`, and the upright (width, height) of the file itself, before drafting."""
    if not data:
        raise NotAnImageError("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # e.g. corrupt EXIF: decode anyway
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            _check_format(image)
            _check_pixels(image, max_pixels)
            width, height = image.size
            if image.getexif().get(ORIENTATION_TAG) in _QUARTER_TURNS:
                width, height = height, width
            if draft_size is not None and image.format == "JPEG":
                image.draft("RGB", (draft_size, draft_size))
            image.seek(0)
            image.load()
            return to_rgb(ImageOps.exif_transpose(image) or image), (width, height)
    except ImageError:
        raise
    except UnidentifiedImageError as exc:
        raise NotAnImageError("not a recognised image file") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(f"image too large to decode safely: {exc}") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"corrupt or truncated image: {exc}") from exc


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
    """Scale a 16-bit or float single-channel image into 8-bit grey by its own range."""
    as_float = image.convert("F")
    low, high = cast(tuple[float, float], as_float.getextrema())
    span = (high - low) or 1.0
    return as_float.point(lambda v: (v - low) * 255.0 / span).convert("L")


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
