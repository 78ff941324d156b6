"""Composition root: build the database, serving model, index and engine from one Settings."""

from __future__ import annotations

from dataclasses import dataclass

from indexer.catalog.database import SessionFactory, make_session_factory
from indexer.catalog.settings import Settings
from indexer.encoder.embedder import Embedder
from search.anomaly import AnomalyScorer
from search.engine import QueryEngine
from search.gallery import GalleryService
from search.serving import ServingState
from search.sync import IndexSync


@dataclass
class Runtime:
    settings: Settings
    sessions: SessionFactory
    serving: ServingState
    engine: QueryEngine
    galleries: GalleryService
    anomaly: AnomalyScorer

    @property
    def embedder(self) -> Embedder:
        return self.serving.current().embedder

    @property
    def index_sync(self) -> IndexSync:
        return self.serving.current().index_sync


def build_runtime(settings: Settings, *, load: str = "now") -> Runtime:
    """Wire everything; `load` is "now" (block until the index is ready), "background" or "lazy"."""
    sessions = make_session_factory(settings.database_url)
    serving = ServingState(settings, sessions, load=load)
    engine = QueryEngine(
        serving,
        sessions,
        max_k=settings.max_k,
        max_pixels=settings.max_pixels,
        distance=settings.distance,
        request_timeout_s=settings.request_timeout_s,
        decode_budget=settings.decode_budget,
    )
    galleries = GalleryService(engine)
    anomaly = AnomalyScorer(
        engine, galleries, k=settings.anomaly_k, percentile=settings.anomaly_percentile
    )
    return Runtime(settings, sessions, serving, engine, galleries, anomaly)
