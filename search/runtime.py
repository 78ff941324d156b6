"""Composition root: build the database, encoder, index and engine from one Settings."""

from __future__ import annotations

from dataclasses import dataclass

from celery import Celery

from indexer.celery_app import make_celery
from indexer.db import SessionFactory, make_session_factory
from indexer.embedder import Embedder, get_embedder
from indexer.settings import Settings
from search.engine import QueryEngine
from search.sync import IndexSync


@dataclass
class Runtime:
    settings: Settings
    sessions: SessionFactory
    embedder: Embedder
    index_sync: IndexSync
    engine: QueryEngine
    celery: Celery


def build_runtime(
    settings: Settings, *, embedder: Embedder | None = None, load: str = "now"
) -> Runtime:
    """Wire everything; `load` is "now" (block until the index is ready), "background" or "lazy"."""
    sessions = make_session_factory(settings.database_url)
    embedder = embedder or get_embedder(settings)
    index_sync = IndexSync(
        sessions,
        dim=embedder.dim,
        model_version=embedder.version,
        snapshot_path=settings.index_path,
        interval_s=settings.sync_interval_s,
        use_gpu=embedder.device.type == "cuda",
    )
    if load == "now":
        index_sync.ensure_ready()
    elif load == "background":
        index_sync.start_background()
    engine = QueryEngine(
        embedder, sessions, index_sync, max_k=settings.max_k, max_pixels=settings.max_pixels
    )
    return Runtime(settings, sessions, embedder, index_sync, engine, make_celery(settings))
