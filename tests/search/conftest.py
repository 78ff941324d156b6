"""Fixtures of the search tests: a catalog database (SQLite and PostgreSQL) and the tiny
encoder on the CPU."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.catalog.database import SessionFactory, dispose, make_session_factory
from indexer.encoder.checkpoint import load_checkpoint
from indexer.encoder.embedder import Embedder


@pytest.fixture
def sessions(database_url: str) -> Iterator[SessionFactory]:
    factory = make_session_factory(database_url)
    yield factory
    dispose(factory)


@pytest.fixture
def embedder(tiny_model_path: Path) -> Embedder:
    return Embedder(load_checkpoint(tiny_model_path), device="cpu")
