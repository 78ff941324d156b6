"""The query engine: embed a query image, search the index, join hits with catalog rows."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select

from indexer.catalog.database import SessionFactory
from indexer.catalog.images import get_image
from indexer.catalog.public_names import public_uri
from indexer.catalog.schema import Embedding, Image, ImageStatus
from indexer.catalog.types import Embeddings
from indexer.encoder.calibration import Calibration
from indexer.encoder.decode import decode_image
from indexer.encoder.decode_budget import DEFAULT_BUDGET, DecodeBudget
from indexer.encoder.distances import check_distance
from search.deadline import NO_DEADLINE, Deadline
from search.errors import InvalidKError, NotIndexedError
from search.filters import MetadataFilter
from search.scores import Scores, from_cosine, scores_between
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

    def embed_bytes(self, data: bytes, serving: Serving | None = None) -> Embeddings:
        embedder = (serving or self.serving.current()).embedder
        image = decode_image(
            data,
            max_pixels=self.max_pixels,
            draft_size=embedder.draft_size,
            budget=self.decode_budget,
        )
        return embedder.embed([image])  # (1, D)

    def search_image(
        self, data: bytes, *, k: int = 10, where: MetadataFilter | None = None
    ) -> SearchResult:
        """Search by the bytes of an uploaded image, among rows matching `where`."""
        start = time.perf_counter()
        self.check_k(k)
        serving = self.serving.current()  # one model for both the query and the index
        vector = self.embed_bytes(data, serving)
        deadline = Deadline(self.request_timeout_s)
        hits = self.search_vectors(vector, k=k, serving=serving, where=where, deadline=deadline)[0]
        return SearchResult(hits, _ms_since(start))

    def similar(
        self, image_id: int, *, k: int = 10, where: MetadataFilter | None = None
    ) -> SearchResult:
        """Search by an indexed catalog image, leaving the image itself out."""
        start = time.perf_counter()
        self.check_k(k)
        serving = self.serving.current()
        vector = self.stored_vector(image_id, serving.version)
        deadline = Deadline(self.request_timeout_s)
        hits = self.search_vectors(
            vector, k=k + 1, serving=serving, where=where, deadline=deadline
        )[0]
        return SearchResult([h for h in hits if h.id != image_id][:k], _ms_since(start))

    def stored_vector(self, image_id: int, version: str) -> Embeddings:
        """The catalog's vector of an indexed image under `version`, shape (1, D)."""
        with self.sessions() as session:
            row = get_image(session, image_id)
            if row.status != ImageStatus.INDEXED:
                raise NotIndexedError(f"image {image_id} is {row.status}, not indexed")
            embedding = session.get(Embedding, (image_id, version))
            if embedding is None:
                raise NotIndexedError(f"image {image_id} has no vector of model {version} yet")
            return np.frombuffer(embedding.vector, dtype=np.float32)[None, :]  # (1, D)

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
        """Scores (n, c) of the candidates under the engine's distance, ids re-ordered to match."""
        converted = from_cosine(cosine, self.distance)
        if converted is not None:
            return converted, ids
        found, vectors = serving.index_sync.exact_vectors(np.unique(ids[ids >= 0]))
        row_of = {int(i): r for r, i in enumerate(found)}
        score = np.full(ids.shape, -np.inf, dtype=np.float32)
        distance = np.full(ids.shape, np.inf, dtype=np.float32)
        for q in range(len(queries)):
            rows = [row_of.get(int(i), -1) for i in ids[q]]
            known = np.flatnonzero(np.asarray(rows) >= 0)
            if len(known):
                exact = scores_between(
                    queries[q : q + 1], vectors[[rows[j] for j in known]], self.distance
                )
                score[q, known], distance[q, known] = exact.score[0], exact.distance[0]
            order = np.argsort(distance[q], kind="stable")
            score[q], distance[q], ids[q] = score[q, order], distance[q, order], ids[q, order]
        return Scores(score, distance), ids

    def _rows(self, ids: set[int]) -> dict[int, Image | None]:
        """The catalog rows of `ids`; None for ids no longer in the catalog."""
        if not ids:
            return {}
        with self.sessions() as session:
            found = session.scalars(select(Image).where(Image.id.in_(ids))).all()
            return {i: None for i in ids} | {row.id: row for row in found}


def _hit(row: Image, score: float, distance: float, calibration: Calibration | None) -> Hit:
    match = calibration.decide(score) if calibration is not None else None
    return Hit(row.id, row.uri, score, distance, row.meta or {}, match, public_uri(row))


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
