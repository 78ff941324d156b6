"""Extra labelled pairs for training, such as users' right/wrong marks on search results.

`FeedbackPair(query_path, result_path, same)` comes from `indexer.catalog.feedback.feedback_pairs`;
this module decodes the images once and draws augmented pair batches for the pair term.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from PIL import Image

from indexer.catalog.errors import ImageError
from indexer.encoder.decode import decode_image, read_bytes

logger = logging.getLogger(__name__)


class PairLike(Protocol):
    """What a feedback pair offers (matches `indexer.catalog.feedback.FeedbackPair`)."""

    @property
    def query_path(self) -> str: ...
    @property
    def result_path(self) -> str: ...
    @property
    def same(self) -> bool: ...


@dataclass(frozen=True)
class PairSet:
    """Decoded pairs: first[i] and second[i] show the same thing when same[i]."""

    first: tuple[Image.Image, ...]
    second: tuple[Image.Image, ...]
    same: np.ndarray  # (p,) bool

    def __len__(self) -> int:
        return len(self.same)

    def sample(self, size: int, generator: torch.Generator) -> np.ndarray:
        """Indices of up to `size` pairs drawn without replacement: (min(size, p),)."""
        order = torch.randperm(len(self), generator=generator).numpy()
        return order[: min(size, len(self))]


def _path(raw: str) -> Path:
    return Path(raw.removeprefix("file://")).expanduser()


def load_pairs(
    pairs: Sequence[PairLike], *, max_pixels: int = 64_000_000, cache_side: int | None = None
) -> PairSet:
    """Decode both images of every pair; pairs with a missing or bad image are skipped."""
    first: list[Image.Image] = []
    second: list[Image.Image] = []
    same: list[bool] = []
    for pair in pairs:
        try:
            a, b = (
                decode_image(read_bytes(_path(p)), max_pixels=max_pixels)
                for p in (pair.query_path, pair.result_path)
            )
        except ImageError as exc:
            logger.warning("skipping feedback pair %s: %s", pair, exc.message)
            continue
        if cache_side is not None:
            a.thumbnail((cache_side, cache_side))
            b.thumbnail((cache_side, cache_side))
        first.append(a)
        second.append(b)
        same.append(bool(pair.same))
    return PairSet(tuple(first), tuple(second), np.asarray(same, dtype=bool))
