"""Why do two images match? Their similarity and, for each, an occlusion heatmap.

One explanation embeds each image once and once per blanked grid cell, through the serving
model's embedder whatever runs it (ONNX Runtime or PyTorch): 2 + 2 G² inputs in batches.
The images may be uploads (bytes) or catalog ids (their indexed, hash-checked files), each
optionally a region `box` of it, decoded and cropped as a search by that region does, so the
similarity is the score such a search gives.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from indexer.catalog.indexed_file import read_indexed, stored_file
from indexer.catalog.types import Embeddings
from indexer.encoder.attribution import DEFAULT_GRID, MAX_GRID, occlusion_pair
from indexer.encoder.heatmap import overlay, png_bytes
from indexer.encoder.region import Box, InvalidBoxError, decode_region
from search.deadline import NO_DEADLINE, Deadline
from search.engine import QueryEngine
from search.errors import InvalidGridError

ImageRef = bytes | int  # an uploaded file, or the id of an indexed catalog image
METHOD = "occlusion"


@dataclass(frozen=True)
class ExplainedImage:
    heat: np.ndarray  # (G, G) cosine similarity drop when that cell is blanked, row-major
    overlay_png: bytes  # the heat drawn over the upright image (indexer.encoder.heatmap)
    width: int  # of the overlay
    height: int


@dataclass(frozen=True)
class Explanation:
    similarity: float  # cosine similarity of the pair under the serving model
    first: ExplainedImage
    second: ExplainedImage
    grid: int
    method: str
    model: str
    took_ms: float


def check_grid(grid: int) -> int:
    if isinstance(grid, bool) or not 1 <= grid <= MAX_GRID:
        raise InvalidGridError(f"grid must be between 1 and {MAX_GRID}, got {grid!r}")
    return grid


def explain_pair(
    engine: QueryEngine,
    first: ImageRef,
    second: ImageRef,
    *,
    grid: int = DEFAULT_GRID,
    deadline: Deadline = NO_DEADLINE,
    first_box: Box | None = None,
    second_box: Box | None = None,
) -> Explanation:
    """Explain the serving model's similarity of two images (or of regions `first_box`,
    `second_box` of them) with a `grid` x `grid` occlusion of each; `deadline` is checked
    before each batch of inputs."""
    start = time.perf_counter()
    check_grid(grid)
    serving = engine.serving.current()
    embedder = serving.embedder
    images = [
        _decoded(engine, ref, box, embedder.draft_size, side)
        for ref, box, side in ((first, first_box, "a"), (second, second_box, "b"))
    ]
    a, b = (embedder.prepare(image) for image in images)  # (C, S, S) each

    def embed(arrays: Sequence[np.ndarray]) -> Embeddings:
        deadline.check("explaining the pair")
        return embedder.embed_arrays(arrays)

    found = occlusion_pair(embed, a, b, grid=grid)
    first_shown = _explained(images[0], found.first)
    second_shown = _explained(images[1], found.second)
    took_ms = (time.perf_counter() - start) * 1000
    return Explanation(
        found.similarity, first_shown, second_shown, grid, METHOD, serving.version, took_ms
    )


def _decoded(
    engine: QueryEngine, ref: ImageRef, box: Box | None, draft_size: int | None, side: str
) -> Image.Image:
    """As `QueryEngine.embed_bytes` decodes (the same drafting, the same crop); a box outside
    the image is an InvalidBoxError naming its side ("box_a: ...")."""
    data = ref if isinstance(ref, bytes) else _catalog_bytes(engine, ref)
    try:
        return decode_region(
            data,
            box,
            max_pixels=engine.max_pixels,
            draft_size=draft_size,
            budget=engine.decode_budget,
        )
    except InvalidBoxError as exc:
        raise InvalidBoxError(f"box_{side}: {exc}") from exc


def _catalog_bytes(engine: QueryEngine, image_id: int) -> bytes:
    with engine.sessions() as session:
        stored = stored_file(session, image_id)
    return read_indexed(stored).data  # no session open while the file is read


def _explained(image: Image.Image, heat: np.ndarray) -> ExplainedImage:
    drawn = overlay(image, heat)
    return ExplainedImage(heat, png_bytes(drawn), drawn.width, drawn.height)
