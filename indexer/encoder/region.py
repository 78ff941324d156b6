"""A region of a query image: a box in pixels of the upright image, checked, then cropped.

A box is `left,top,right,bottom` in pixels of the image as it is shown (EXIF orientation
applied) at its full size, whatever size decoding shrank it to; the crop is taken from the
decoded image before the model's one preprocessing path (`preprocess.to_array`) sees it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image

from indexer.catalog.errors import BadRequestError
from indexer.encoder.decode import decode_with_size
from indexer.encoder.decode_budget import DEFAULT_BUDGET, DecodeBudget

MIN_SIDE = 8  # pixels: a smaller box holds too little to search by
MAX_TEXT = 200  # characters of a box field; a longer one is not four numbers


class InvalidBoxError(BadRequestError):
    code = "invalid_box"


@dataclass(frozen=True)
class Box:
    """left < right, top < bottom, in pixels of the upright image; fractions allowed."""

    left: float
    top: float
    right: float
    bottom: float

    @classmethod
    def parse(cls, raw: str) -> Box:
        """`"left,top,right,bottom"`: four finite numbers with left < right, top < bottom and
        sides of at least MIN_SIDE pixels; InvalidBoxError otherwise."""
        text = raw.strip() if isinstance(raw, str) else ""
        parts = text.split(",") if 0 < len(text) <= MAX_TEXT else []
        if len(parts) != 4:
            raise InvalidBoxError(
                f"box must be four numbers left,top,right,bottom in pixels, got {_shown(raw)}"
            )
        try:
            numbers = [float(part) for part in parts]
        except ValueError as exc:
            raise InvalidBoxError(f"box must be four numbers, got {_shown(raw)}") from exc
        if not all(math.isfinite(n) for n in numbers):
            raise InvalidBoxError(f"box must be four finite numbers, got {_shown(raw)}")
        box = cls(*numbers)
        if box.left < 0 or box.top < 0:
            raise InvalidBoxError(f"box {box} starts outside the image (negative)")
        if box.width < MIN_SIDE or box.height < MIN_SIDE:
            raise InvalidBoxError(
                f"box {box} must have left < right and top < bottom, "
                f"each side at least {MIN_SIDE} pixels"
            )
        return box

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def __str__(self) -> str:
        return ",".join(f"{n:g}" for n in (self.left, self.top, self.right, self.bottom))

    def check_inside(self, size: tuple[int, int]) -> None:
        """InvalidBoxError unless the box lies within an upright image of `size` (w, h)."""
        width, height = size
        if self.right > width or self.bottom > height:
            raise InvalidBoxError(
                f"box {self} is not inside the image, which is {width}x{height} pixels "
                "(upright: EXIF orientation applied)"
            )

    def crop(self, image: Image.Image, full_size: tuple[int, int]) -> Image.Image:
        """The box's pixels from `image`, a decoded copy of an upright image of `full_size`
        (possibly shrunk by decoding): the box is scaled to the decoded size."""
        self.check_inside(full_size)
        sx, sy = image.width / full_size[0], image.height / full_size[1]
        left, top = math.floor(self.left * sx), math.floor(self.top * sy)
        right = max(math.ceil(self.right * sx), left + 1)
        bottom = max(math.ceil(self.bottom * sy), top + 1)
        return image.crop((left, top, min(right, image.width), min(bottom, image.height)))


def parse_field(raw: str, field: str) -> Box:
    """`Box.parse` of the value of option or form field `field`, its errors naming the field
    when it is not the plain `box`."""
    try:
        return Box.parse(raw)
    except InvalidBoxError as exc:
        if field == "box":
            raise
        raise InvalidBoxError(f"{field}: {exc}") from exc


def decode_region(
    data: bytes,
    box: Box | None,
    *,
    max_pixels: int,
    draft_size: int | None = None,
    budget: DecodeBudget = DEFAULT_BUDGET,
) -> Image.Image:
    """Decode untrusted bytes (as `decode.decode_image`) and crop to `box` when one is given.

    A box is decoded without JPEG drafting, so a small region keeps its detail.
    """
    shrink = draft_size if box is None else None
    image, full_size = decode_with_size(
        data, max_pixels=max_pixels, draft_size=shrink, budget=budget
    )
    return image if box is None else box.crop(image, full_size)


def _shown(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= 40 else text[:40] + "..."
