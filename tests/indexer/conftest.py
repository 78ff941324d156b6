"""Fixtures shared by the distributed-path tests: the worker pool over Redis and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.indexer.ingest.workers import OWN_ENV, REPO, Workers, drop_tables


@pytest.fixture
def catalog_url(postgres_url: str) -> Iterator[str]:
    """The session's PostgreSQL database, emptied before and after the test."""
    drop_tables(postgres_url)
    yield postgres_url
    drop_tables(postgres_url)


@pytest.fixture
def worker_env(
    tmp_path: Path, tiny_model_path: Path, catalog_url: str, redis_url: str
) -> dict[str, str]:
    """The environment shared by the CLI and the workers; no LOOKALIKE_* leaks in from ours."""
    inherited = {
        k: v for k, v in os.environ.items() if not k.startswith("LOOKALIKE_") and k not in OWN_ENV
    }
    return inherited | {
        "PYTHONPATH": str(REPO),
        "REDIS_URL": redis_url,
        "DATABASE_URL": catalog_url,
        "LOOKALIKE_MODEL": str(tiny_model_path),
        "LOOKALIKE_HOME": str(tmp_path / "home"),
        "LOOKALIKE_DEVICE": "cpu",
    }


@pytest.fixture
def workers(worker_env: dict[str, str], tmp_path: Path) -> Iterator[Workers]:
    """A worker pool to start; the run's Redis database is flushed before and after."""
    broker = redis.Redis.from_url(worker_env["REDIS_URL"])
    broker.flushdb()
    pool = Workers(env=worker_env, log_dir=tmp_path)
    try:
        yield pool
    finally:
        pool.stop()
        print(pool.read_logs())  # pytest shows captured output only when the test fails
        broker.flushdb()
        broker.close()
