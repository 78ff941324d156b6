"""The query engine: embed a query image, search the index, join hits with catalog rows."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from indexer.catalog.database import SessionFactory
from indexer.catalog.images import get_image, rows_by_id
from indexer.catalog.indexed_file import read_indexed, stored_file
from indexer.catalog.public_names import public_uri
from indexer.catalog.schema import Image, ImageStatus
from indexer.catalog.types import Embeddings
from indexer.catalog.vectors import stored_vector
from indexer.encoder.calibration import Calibration
from indexer.encoder.decode_budget import DEFAULT_BUDGET, DecodeBudget
from indexer.encoder.distances import check_distance
from indexer.encoder.region import Box, decode_region
from search.deadline import NO_DEADLINE, Deadline
from search.errors import InvalidKError, NotIndexedError
from search.filters import MetadataFilter
from search.rerank import rerank
from search.scores import Scores, from_cosine
from search.serving import Serving, ServingState

OVERFETCH = 4  # first ask the index for k * OVERFETCH neighbours when a filter is set


@dataclass(frozen=True)
class Hit:
    id: int
    uri: str
    score: float  # higher is closer; its meaning depends on the distance (search.scores)
    distance: float  # lower is closer
    metadata: dict[str, Any] = field(default_factory=dict)
    match: bool | None = None  # same thing per the model's calibrated threshold; None: uncalibrated
    public_uri: str = (
        ""  # the uri clients may see: never a server path (indexer.catalog.public_names)
    )


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    took_ms: float


class QueryEngine:
    """Answers "which catalog images look like this one?"."""

    def __init__(
        self,
        serving: ServingState,
        sessions: SessionFactory,
        *,
        max_k: int = 1000,
        max_pixels: int = 64_000_000,
        distance: str = "cosine",
        request_timeout_s: float | None = None,
        decode_budget: DecodeBudget = DEFAULT_BUDGET,
    ) -> None:
        self.serving = serving
        self.sessions = sessions
        self.max_k = max_k
        self.max_pixels = max_pixels
        self.decode_budget = decode_budget
        self.distance = check_distance(distance)
        self.request_timeout_s = request_timeout_s

    def check_k(self, k: int) -> int:
        if not 1 <= k <= self.max_k:
            raise InvalidKError(f"k must be between 1 and {self.max_k}, got {k}")
        return k

    def embed_bytes(
        self, data: bytes, serving: Serving | None = None, *, box: Box | None = None
    ) -> Embeddings:
        """The vector (1, D) of an image's bytes, or of the region `box` of it."""
        embedder = (serving or self.serving.current()).embedder
        image = decode_region(
            data,
            box,
            max_pixels=self.max_pixels,
            draft_size=embedder.draft_size,
            budget=self.decode_budget,
        )
        return embedder.embed([image])  # (1, D)

    def search_image(
        self,
        data: bytes,
        *,
        k: int = 10,
        where: MetadataFilter | None = None,
        box: Box | None = None,
    ) -> SearchResult:
        """Search by the bytes of an uploaded image (or its region `box`), among rows
        matching `where`."""
        start = time.perf_counter()
        self.check_k(k)
        serving = self.serving.current()  # one model for both the query and the index
        vector = self.embed_bytes(data, serving, box=box)
        deadline = Deadline(self.request_timeout_s)
        hits = self.search_vectors(vector, k=k, serving=serving, where=where, deadline=deadline)[0]
        return SearchResult(hits, _ms_since(start))

    def similar(
        self,
        image_id: int,
        *,
        k: int = 10,
        where: MetadataFilter | None = None,
        box: Box | None = None,
    ) -> SearchResult:
        """Search by an indexed catalog image (or its region `box`), leaving the image itself
        out."""
        start = time.perf_counter()
        self.check_k(k)
        serving = self.serving.current()
        vector = self.example_vector(image_id, serving, box=box)
        deadline = Deadline(self.request_timeout_s)
        hits = self.search_vectors(
            vector, k=k + 1, serving=serving, where=where, deadline=deadline
        )[0]
        return SearchResult([h for h in hits if h.id != image_id][:k], _ms_since(start))

    def example_vector(
        self, image_id: int, serving: Serving, *, box: Box | None = None
    ) -> Embeddings:
        """A catalog image's stored vector (1, D); with `box`, its region's, embedded from the
        indexed file (read only if it still hashes to what was indexed)."""
        vector = self.stored_vector(image_id, serving.version)  # 404 / 409 as without a box
        if box is None:
            return vector
        with self.sessions() as session:
            stored = stored_file(session, image_id)
        return self.embed_bytes(read_indexed(stored).data, serving, box=box)

    def stored_vector(self, image_id: int, version: str) -> Embeddings:
        """The catalog's vector of an indexed image under `version`, shape (1, D)."""
        with self.sessions() as session:
            row = get_image(session, image_id)
            if row.status != ImageStatus.INDEXED:
                raise NotIndexedError(f"image {image_id} is {row.status}, not indexed")
            vector = stored_vector(session, image_id, version)  # (1, D)
            if vector is None:
                raise NotIndexedError(f"image {image_id} has no vector of model {version} yet")
            return vector

    def search_vectors(
        self,
        vectors: Embeddings,
        *,
        k: int,
        serving: Serving | None = None,
        where: MetadataFilter | None = None,
        deadline: Deadline = NO_DEADLINE,
    ) -> list[list[Hit]]:
        """The k nearest catalog rows matching `where` for each query vector (n, D), best first.

        Under a filter the index is asked for more neighbours than k (k * OVERFETCH, then
        doubling) and the rows are filtered by their metadata, until every query has k
        matches or the whole index was searched: the exact top-k among matching rows.
        """
        serving = serving or self.serving.current()
        index = serving.index_sync.require_ready()
        calibration = serving.calibrations.get(self.distance)
        where = where or MetadataFilter()
        # Manhattan ranks differently from the cosine index: re-rank a wider candidate set.
        widen = OVERFETCH if self.distance == "manhattan" else 1
        fetch = min(k * (OVERFETCH if where else 1) * widen, max(index.ntotal, 1))
        rows: dict[int, Image | None] = {}
        while True:
            deadline.check("a filtered search")
            cosine, ids = index.search(vectors, fetch)  # (n, fetch), (n, fetch)
            scores, ids = self.rescore(vectors, cosine, ids, serving)
            rows.update(self._rows({int(i) for i in ids.ravel() if i >= 0} - rows.keys()))
            hits = [
                [
                    _hit(row, float(s), float(d), calibration)
                    for s, d, i in zip(score_row, dist_row, id_row, strict=True)
                    if (row := rows.get(int(i))) is not None and where.matches(row.meta)
                ][:k]
                for score_row, dist_row, id_row in zip(
                    scores.score, scores.distance, ids, strict=True
                )
            ]
            if all(len(h) >= k for h in hits) or fetch >= index.ntotal:
                return hits
            fetch = min(fetch * 2, index.ntotal)

    def rescore(
        self, queries: Embeddings, cosine: np.ndarray, ids: np.ndarray, serving: Serving
    ) -> tuple[Scores, np.ndarray]:
        """Scores (n, c) of the index's candidates (cosines `cosine`, ids `ids`) under the
        engine's distance, best first: converted from the cosines when the distance follows
        from them, else re-ranked exactly (`search.rerank`), which drops candidates without a
        stored vector (id -1)."""
        converted = from_cosine(cosine, self.distance)
        if converted is not None:
            return converted, ids
        exact = serving.index_sync.exact_vectors
        return rerank(queries, ids, exact, ids.shape[1], distance=self.distance)

    def _rows(self, ids: set[int]) -> dict[int, Image | None]:
        """The catalog rows of `ids`; None for ids no longer in the catalog."""
        if not ids:
            return {}
        with self.sessions() as session:
            return rows_by_id(session, ids)


def _hit(row: Image, score: float, distance: float, calibration: Calibration | None) -> Hit:
    match = calibration.decide(score) if calibration is not None else None
    return Hit(row.id, row.uri, score, distance, row.meta or {}, match, public_uri(row))


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
