"""Redis restarted mid-job (the production configuration: append-only file, as in
docker-compose): the worker reconnects and the job completes, every image indexed once.

The test runs its own redis-server on a free port with its own data folder, so restarting it
touches nothing else; one real `lookalike worker` and a fresh PostgreSQL database.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from indexer.catalog.database import SessionFactory, make_session_factory
from indexer.catalog.schema import Embedding, Image, ImageStatus
from indexer.ingest.celery_app import make_celery
from indexer.ingest.indexing import send_chunks, start_index
from tests.conftest import write_images
from tests.indexer.ingest.workers import REPO, Pool, drop_tables, wait_until_done
from tests.redis_server import RedisServer

IMAGES = 48
CHUNK = 2


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RedisServer]:
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder, appendonly=True)
    server.start()
    yield server
    server.stop()


def test_a_redis_restart_mid_job_loses_nothing(
    broker: RedisServer, tmp_path: Path, tiny_model_path: Path, postgres_url: str
) -> None:
    drop_tables(postgres_url, version_table=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOKALIKE_")} | {
        "PYTHONPATH": str(REPO),  # this checkout, not the one the venv was installed from
        "REDIS_URL": broker.url,
        "DATABASE_URL": postgres_url,
        "LOOKALIKE_MODEL": str(tiny_model_path),
        "LOOKALIKE_HOME": str(tmp_path / "home"),
        "LOOKALIKE_DEVICE": "cpu",
        "LOOKALIKE_VISIBILITY_TIMEOUT_S": "5",
    }
    pool = Pool(env)
    folder = tmp_path / "catalog"
    write_images(folder, range(700, 700 + IMAGES))
    sessions = make_session_factory(postgres_url)
    try:
        pool.start(tmp_path, 1)
        run = start_index(sessions, [str(folder)], chunk_size=CHUNK)
        app = make_celery(pool.settings)
        send_chunks(app, run)
        app.close()
        _wait_for_some_indexed(sessions, run.job_id)
        broker.stop()
        time.sleep(2)  # the worker notices the broker is gone and starts reconnecting
        assert _indexed(sessions, run.job_id) < IMAGES  # the broker is back mid-job
        broker.start()
        wait_until_done(postgres_url, run.job_id)
        with sessions() as session:
            statuses = session.scalars(select(Image.status).where(Image.job_id == run.job_id))
            vectors = session.execute(
                select(Embedding.image_id, func.count()).group_by(Embedding.image_id)
            ).all()
        assert list(statuses) == [ImageStatus.INDEXED] * IMAGES, pool.logs()
        assert len(vectors) == IMAGES and {n for _, n in vectors} == {1}
        assert "Connection to broker lost" in pool.logs() or "reconnect" in pool.logs().lower()
    finally:
        pool.stop()
        print(pool.logs())
        sessions.kw["bind"].dispose()
        drop_tables(postgres_url, version_table=True)


def _indexed(sessions: SessionFactory, job_id: int) -> int:
    with sessions() as session:
        query = select(func.count()).where(
            Image.job_id == job_id, Image.status == ImageStatus.INDEXED
        )
        return int(session.scalar(query) or 0)


def _wait_for_some_indexed(sessions: SessionFactory, job_id: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if 0 < _indexed(sessions, job_id) < IMAGES:
            return
        time.sleep(0.05)
    raise AssertionError("the job did not start")
