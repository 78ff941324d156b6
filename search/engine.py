"""The query engine: embed a query image, search the index, join hits with catalog rows."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select

from indexer.catalog import get_image
from indexer.db import SessionFactory
from indexer.decode import decode_image
from indexer.embedder import Embedder
from indexer.models import Image, ImageStatus
from indexer.types import Embeddings
from search.errors import InvalidKError, NotIndexedError
from search.sync import IndexSync


@dataclass(frozen=True)
class Hit:
    id: int
    uri: str
    score: float  # cosine similarity, higher is closer
    distance: float  # 1 - score
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    took_ms: float


class QueryEngine:
    """Answers "which catalog images look like this one?"."""

    def __init__(
        self,
        embedder: Embedder,
        sessions: SessionFactory,
        index_sync: IndexSync,
        *,
        max_k: int = 1000,
        max_pixels: int = 64_000_000,
    ) -> None:
        self.embedder = embedder
        self.sessions = sessions
        self.index_sync = index_sync
        self.max_k = max_k
        self.max_pixels = max_pixels

    def check_k(self, k: int) -> int:
        if not 1 <= k <= self.max_k:
            raise InvalidKError(f"k must be between 1 and {self.max_k}, got {k}")
        return k

    def embed_bytes(self, data: bytes) -> Embeddings:
        image = decode_image(data, max_pixels=self.max_pixels, draft_size=self.embedder.draft_size)
        return self.embedder.embed([image])  # (1, D)

    def search_image(self, data: bytes, *, k: int = 10) -> SearchResult:
        """Search by the bytes of an uploaded image."""
        start = time.perf_counter()
        self.check_k(k)
        vector = self.embed_bytes(data)
        hits = self.search_vectors(vector, k=k)[0]
        return SearchResult(hits, _ms_since(start))

    def similar(self, image_id: int, *, k: int = 10) -> SearchResult:
        """Search by an indexed catalog image, leaving the image itself out."""
        start = time.perf_counter()
        self.check_k(k)
        vector = self.stored_vector(image_id)
        hits = [hit for hit in self.search_vectors(vector, k=k + 1)[0] if hit.id != image_id]
        return SearchResult(hits[:k], _ms_since(start))

    def stored_vector(self, image_id: int) -> Embeddings:
        with self.sessions() as session:
            row = get_image(session, image_id)
            if row.status != ImageStatus.INDEXED or row.vector is None:
                raise NotIndexedError(f"image {image_id} is {row.status}, not indexed")
            if row.model_version != self.embedder.version:
                raise NotIndexedError(
                    f"image {image_id} was embedded by {row.model_version}, "
                    f"not the serving model {self.embedder.version}"
                )
            return np.frombuffer(row.vector, dtype=np.float32)[None, :]  # (1, D)

    def search_vectors(self, vectors: Embeddings, *, k: int) -> list[list[Hit]]:
        """Nearest catalog rows for each query vector (n, D), best first."""
        index = self.index_sync.require_ready()
        scores, ids = index.search(vectors, k)  # (n, k), (n, k)
        rows = self._rows({int(i) for i in ids.ravel() if i >= 0})
        return [
            [
                _hit(rows[int(i)], float(s))
                for s, i in zip(score_row, id_row, strict=True)
                if int(i) in rows
            ]
            for score_row, id_row in zip(scores, ids, strict=True)
        ]

    def _rows(self, ids: set[int]) -> dict[int, Image]:
        if not ids:
            return {}
        with self.sessions() as session:
            found = session.scalars(select(Image).where(Image.id.in_(ids))).all()
            return {row.id: row for row in found}


def _hit(row: Image, score: float) -> Hit:
    return Hit(id=row.id, uri=row.uri, score=score, distance=1.0 - score, metadata=row.meta or {})


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
