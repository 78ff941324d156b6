"""Perceptual-hash baselines: imagehash's pHash, dHash and wHash (64 bits), linked by Hamming
distance and grouped by the same star rule as Lookalike (search.duplicate_groups).

A pair at Hamming distance d gets score 1 - d / 64, so "distance <= t" is "score >=
1 - t / 64". The commonly used cut-off is t = 10 (imagededup's `max_distance_threshold`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image

from search.duplicate_groups import Links

BITS = 64
COMMON_DISTANCE = 10
HASHES: dict[str, Callable[[Image.Image], imagehash.ImageHash]] = {
    "pHash": imagehash.phash,
    "dHash": imagehash.dhash,
    "wHash": imagehash.whash,
}


def hash_bits(name: str, paths: Sequence[Path]) -> tuple[np.ndarray, float]:
    """The (n, 64) bool hashes of the images, and the seconds it took (decode included)."""
    started = time.perf_counter()
    rows = []
    for path in paths:
        with Image.open(path) as image:
            rows.append(np.asarray(HASHES[name](image.convert("RGB")).hash, dtype=bool).ravel())
    return np.stack(rows), time.perf_counter() - started


def hash_links(bits: np.ndarray, max_distance: int) -> Links:
    """Links between every pair of images within `max_distance` bits (all pairs compared)."""
    ones = bits.astype(np.int32)  # (n, 64)
    distance = ones @ (1 - ones).T + (1 - ones) @ ones.T  # (n, n) Hamming
    links = Links()
    for a, b in zip(*np.nonzero(np.triu(distance <= max_distance, k=1)), strict=True):
        links.add(int(a), int(b), 1.0 - distance[a, b] / BITS)
    return links


def score_threshold(max_distance: int) -> float:
    """The link score that a Hamming distance of `max_distance` bits maps to."""
    return 1.0 - max_distance / BITS
