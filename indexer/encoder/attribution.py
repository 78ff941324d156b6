"""Occlusion attribution: which patches of an image drive its similarity to another image.

Pure numpy over prepared model inputs (C, S, S), through any embed function (ONNX Runtime or
PyTorch alike): split the input into a G x G grid of cells, blank one cell at a time with
the neutral input value and measure how much the cosine similarity to the other image drops.
A large positive drop: the cell made the two look alike; negative: it made them differ.

Blanked cells take the value 0, which is what preprocessing maps the normalisation mean to
(mid-grey for the default models): the input the model sees as "nothing in particular".
`deletion_curve` is the faithfulness test of such a map: blank cells cumulatively in a given
order and record the similarity after each step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from indexer.catalog.types import Embeddings

EmbedArrays = Callable[[Sequence[np.ndarray]], Embeddings]  # (C, S, S) inputs -> (n, D)
NEUTRAL = 0.0  # the normalised input of the normalisation mean
DEFAULT_GRID = 7
MAX_GRID = 12  # 2 + 2 * 144 forward passes: the most one explanation may cost
CHUNK = 32  # inputs built and embedded at a time (bounds memory, not the result)


@dataclass(frozen=True)
class PairAttribution:
    similarity: float  # cosine of the two unblanked inputs
    first: np.ndarray  # (G, G) similarity drop when each cell of the first input is blanked
    second: np.ndarray  # (G, G) the same for the second input


def check_grid(grid: int) -> int:
    if not 1 <= grid <= MAX_GRID:
        raise ValueError(f"grid must be between 1 and {MAX_GRID}, got {grid}")
    return grid


def cell_edges(size: int, grid: int) -> np.ndarray:
    """Pixel edges of `grid` near-equal cells along a side of `size`: (grid + 1,) ints."""
    return np.linspace(0, size, grid + 1).round().astype(int)


def blanked(array: np.ndarray, cells: Sequence[int], grid: int) -> np.ndarray:
    """A copy of a (C, S, S) input with the cells numbered row-major in `cells` set neutral."""
    out = array.copy()
    rows, cols = cell_edges(array.shape[1], grid), cell_edges(array.shape[2], grid)
    for cell in cells:
        r, c = divmod(int(cell), grid)
        out[:, rows[r] : rows[r + 1], cols[c] : cols[c + 1]] = NEUTRAL
    return out


def _unit(vectors: Embeddings) -> Embeddings:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _embedded(embed: EmbedArrays, inputs: Iterator[np.ndarray], n: int) -> Embeddings:
    """Embed `n` lazily built inputs CHUNK at a time; (n, D) unit vectors."""
    parts = []
    while len(chunk := [x for _, x in zip(range(CHUNK), inputs, strict=False)]) > 0:
        parts.append(embed(chunk))
    out = _unit(np.concatenate(parts).astype(np.float32, copy=False))
    assert out.shape[0] == n, out.shape
    return out


def occlusion_drops(
    embed: EmbedArrays, image: np.ndarray, other: np.ndarray, grid: int
) -> np.ndarray:
    """(G, G) drop in cosine similarity to the unit vector `other` (D,) per blanked cell."""
    check_grid(grid)
    n = grid * grid
    inputs = (blanked(image, [cell], grid) if cell >= 0 else image for cell in range(-1, n))
    vectors = _embedded(embed, inputs, n + 1)  # (1 + G², D): the image, then each blanked
    scores = vectors @ other  # (1 + G²,)
    return (scores[0] - scores[1:]).reshape(grid, grid).astype(np.float32)


def occlusion_pair(
    embed: EmbedArrays, first: np.ndarray, second: np.ndarray, *, grid: int = DEFAULT_GRID
) -> PairAttribution:
    """Occlusion maps of both inputs of a pair, each against the other's unblanked vector."""
    a, b = _embedded(embed, iter([first, second]), 2)  # (D,), (D,)
    return PairAttribution(
        similarity=float(a @ b),
        first=occlusion_drops(embed, first, b, grid),
        second=occlusion_drops(embed, second, a, grid),
    )


@dataclass(frozen=True)
class DeletionCurve:
    deleted: np.ndarray  # (T,) fraction of the cells blanked, from 0 to 1
    similarity: np.ndarray  # (T,) cosine similarity at each fraction

    def area(self) -> float:
        """Area under the curve over [0, 1] (trapezoids); lower: the similarity fell sooner."""
        x, y = self.deleted.astype(np.float64), self.similarity.astype(np.float64)
        return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))


def deletion_curve(
    embed: EmbedArrays,
    image: np.ndarray,
    other: np.ndarray,
    order: Sequence[int],
    *,
    grid: int,
    step: int = 1,
) -> DeletionCurve:
    """Similarity to the unit vector `other` after blanking the first 0, step, 2 step, ...
    and finally all cells of `order`, cumulatively: ceil(G² / step) + 1 points."""
    check_grid(grid)
    n = grid * grid
    if sorted(int(c) for c in order) != list(range(n)):
        raise ValueError(f"order must be a permutation of the {n} cells")
    counts = [*range(0, n, step), n]
    inputs = (blanked(image, order[:k], grid) for k in counts)
    similarity = _embedded(embed, inputs, len(counts)) @ other  # (T,)
    return DeletionCurve(np.asarray(counts, np.float32) / n, similarity.astype(np.float32))
