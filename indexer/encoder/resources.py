"""Per-process resources (database engines, loaded models), created lazily after any fork."""

from __future__ import annotations

import os
import threading

from indexer.catalog.database import SessionFactory, make_session_factory
from indexer.catalog.settings import Settings
from indexer.encoder.checkpoint import ModelSource
from indexer.encoder.embedder import Embedder, cached_embedder
from indexer.encoder.registry import active_versions, ensure_serving_model, version_source

_LOCK = threading.Lock()
_SESSIONS: dict[tuple[int, str], SessionFactory] = {}


def session_factory(settings: Settings) -> SessionFactory:
    """One engine per process and database URL (engines must not cross a fork)."""
    key = (os.getpid(), settings.database_url)
    with _LOCK:
        if key not in _SESSIONS:
            _SESSIONS[key] = make_session_factory(settings.database_url)
        return _SESSIONS[key]


def embedder_for(settings: Settings, sessions: SessionFactory, version: str) -> Embedder:
    """The embedder of one registered model version, loaded once per process (on ONNX
    Runtime without PyTorch when its export is cached)."""

    def where() -> ModelSource:
        with sessions() as session:
            return version_source(session, settings, version)

    return cached_embedder(settings, version, where)


def active_embedders(settings: Settings, sessions: SessionFactory) -> list[Embedder]:
    """Embedders for the serving model (first) and any model being reindexed."""
    with sessions.begin() as session:
        ensure_serving_model(session, settings)
        versions = active_versions(session)
    return [embedder_for(settings, sessions, v) for v in versions]
