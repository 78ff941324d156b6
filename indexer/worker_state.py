"""Per-process resources of a worker, created lazily on first use (after the fork)."""

from __future__ import annotations

import os
import threading

from indexer.db import SessionFactory, make_session_factory
from indexer.embedder import Embedder, get_embedder
from indexer.settings import Settings

_LOCK = threading.Lock()
_SESSIONS: dict[tuple[int, str], SessionFactory] = {}


def session_factory(settings: Settings) -> SessionFactory:
    """One engine per process and database URL (engines must not cross a fork)."""
    key = (os.getpid(), settings.database_url)
    with _LOCK:
        if key not in _SESSIONS:
            _SESSIONS[key] = make_session_factory(settings.database_url)
        return _SESSIONS[key]


def embedder(settings: Settings) -> Embedder:
    return get_embedder(settings)
