"""What a training folder looks like: colour or grayscale, line art or tones, size, labels.

`inspect_images` measures a fixed, evenly spaced sample of the decoded images (at most
`SAMPLE` of them, each thumbnailed with nearest-neighbour so no new grey levels appear):

- colour: an image is colour when more than 5% of its pixels have channels more than
  `COLOUR_SPREAD` apart; the folder is colour when at least 10% of its sample is.
- line art: pixels within `EXTREME` of black or white are ink or paper; a grayscale folder is
  line art when at least `LINE_ART_SHARE` of its pixels are, so mid-tones are rare (binary
  strokes such as handwritten characters, not scans of ink on paper with their grey shades).
- size: the median of each image's longer side, as decoded (before any cache downscaling).
- labels: how many, and the fewest / median images per label; unlabelled folders train
  self-supervised.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from PIL import Image

from indexer.training.data import LabelledSet
from indexer.training.verification_pairs import forgery_suffix_in

SAMPLE = 200
THUMB_SIDE = 128
COLOUR_SPREAD = 24  # of 255: channel spread that counts as colour, above JPEG noise
EXTREME = 48  # of 255: how close to black or white counts as ink or paper
LINE_ART_SHARE = 0.95


@dataclass(frozen=True)
class DataProfile:
    """The measured facts the recipe is chosen from."""

    images: int
    labels: int
    supervised: bool
    min_per_label: int
    median_per_label: float
    median_side: float
    colour_share: float  # fraction of sampled images in colour
    extreme_share: float  # fraction of sampled pixels that are near black or near white
    sampled: int
    forgery_suffix: str | None = None  # labels W + suffix are skilled forgeries of W

    @property
    def colour(self) -> bool:
        return self.colour_share >= 0.1

    @property
    def line_art(self) -> bool:
        return not self.colour and self.extreme_share >= LINE_ART_SHARE

    @property
    def kind(self) -> str:
        if self.colour:
            return "colour"
        return "line art" if self.line_art else "grayscale"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"kind": self.kind}


def inspect_images(data: LabelledSet) -> DataProfile:
    """Measure `data` (decoded images, labels and, when known, original sizes)."""
    step = max(1, len(data) // SAMPLE)
    sample = [data.images[i] for i in range(0, len(data), step)][:SAMPLE]
    colour = [_is_colour(im) for im in sample]
    extreme = [_extreme_share(im) for im in sample]
    sizes = data.sizes or tuple(im.size for im in data.images)
    counts = np.bincount(data.labels) if len(data) else np.zeros(1, dtype=np.int64)
    counts = counts[counts > 0]
    return DataProfile(
        images=len(data),
        labels=data.num_labels,
        supervised=data.supervised,
        min_per_label=int(counts.min()),
        median_per_label=float(np.median(counts)),
        median_side=float(np.median([max(size) for size in sizes])),
        colour_share=float(np.mean(colour)),
        extreme_share=float(np.mean(extreme)),
        sampled=len(sample),
        forgery_suffix=forgery_suffix_in([data.label_names[c] for c in np.unique(data.labels)])
        if data.supervised
        else None,
    )


def _thumb(image: Image.Image, mode: str) -> np.ndarray:
    if max(image.size) > THUMB_SIDE:
        image = image.copy()
        image.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.NEAREST)
    return np.asarray(image.convert(mode), dtype=np.int16)


def _is_colour(image: Image.Image) -> bool:
    if image.mode in ("L", "1", "LA", "I", "I;16", "F"):
        return False
    rgb = _thumb(image, "RGB")  # (H, W, 3)
    spread = rgb.max(axis=2) - rgb.min(axis=2)  # (H, W)
    return bool((spread > COLOUR_SPREAD).mean() > 0.05)


def _extreme_share(image: Image.Image) -> float:
    gray = _thumb(image, "L")  # (H, W)
    return float(((gray <= EXTREME) | (gray >= 255 - EXTREME)).mean())
