"""kill -9 a worker mid-chunk: the job still completes with every image indexed exactly once.

The test run's Redis, two real `lookalike worker` processes, a fresh PostgreSQL database. To
be sure the kill lands mid-chunk, the test holds a row lock on one image of one chunk: the
worker that takes that chunk has read, hashed and embedded it and written (uncommitted) its
first rows when it blocks. The test finds that worker through PostgreSQL (the blocked
backend's client port -> the process owning that socket) and SIGKILLs it.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, func, select, text

from indexer.catalog.database import make_session_factory
from indexer.catalog.schema import Embedding, Image, ImageStatus, IndexChange
from indexer.ingest.celery_app import make_celery
from indexer.ingest.indexing import start_index
from tests.conftest import write_images
from tests.indexer.ingest.workers import (
    REPO,
    Pool,
    drop_tables,
    wait_until_done,
)

IMAGES = 60
CHUNK = 4
VISIBILITY_TIMEOUT_S = 5  # short, so the dead worker's chunk comes back within seconds


@pytest.fixture
def pool(
    tmp_path: Path, tiny_model_path: Path, postgres_url: str, redis_url: str
) -> Iterator[Pool]:
    """Two workers on a short visibility timeout; Redis db and catalog emptied around it."""
    drop_tables(postgres_url, version_table=True)
    broker = redis.Redis.from_url(redis_url)
    broker.flushdb()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOKALIKE_")} | {
        "PYTHONPATH": str(REPO),
        "REDIS_URL": redis_url,
        "DATABASE_URL": postgres_url,
        "LOOKALIKE_MODEL": str(tiny_model_path),
        "LOOKALIKE_HOME": str(tmp_path / "home"),
        "LOOKALIKE_DEVICE": "cpu",
        "LOOKALIKE_VISIBILITY_TIMEOUT_S": str(VISIBILITY_TIMEOUT_S),
    }
    workers = Pool(env)
    try:
        workers.start(tmp_path, 2)
        yield workers
    finally:
        workers.stop()
        print(workers.logs())  # shown by pytest when the test fails
        broker.flushdb()
        broker.close()
        drop_tables(postgres_url, version_table=True)


@contextmanager
def row_lock(url: str, image_id: int) -> Iterator[int]:
    """Hold a FOR UPDATE lock on one image row until the block exits; yield the holder's pid."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn, conn.begin():
            conn.execute(text("SELECT id FROM images WHERE id = :id FOR UPDATE"), {"id": image_id})
            yield int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
    finally:
        engine.dispose()


def blocked_backend_port(url: str, holder: int, timeout_s: float = 60.0) -> int:
    """The client port of the backend waiting on the lock that backend `holder` holds.

    Only that one: workers also wait briefly on each other's row locks, which says nothing
    about the held chunk.
    """
    engine = create_engine(url)
    query = text(
        "SELECT client_port FROM pg_stat_activity WHERE datname = current_database()"
        " AND :holder = ANY(pg_blocking_pids(pid))"
    ).bindparams(holder=holder)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                port = conn.execute(query).scalar()
            if port is not None:
                return int(port)
            time.sleep(0.05)
    finally:
        engine.dispose()
    raise AssertionError("no worker blocked on the held row")


def task_events(log: str, task_id: str) -> list[str]:
    """What a worker's log says about one task: received, succeeded, ..."""
    return re.findall(rf"\[{re.escape(task_id)}\] (\w+)", log)


@pytest.mark.parametrize("victim", ["worker", "child"])
def test_a_worker_killed_mid_chunk_loses_nothing(pool: Pool, tmp_path: Path, victim: str) -> None:
    folder = tmp_path / "catalog"
    write_images(folder, range(300, 300 + IMAGES))
    url = pool.settings.database_url
    sessions = make_session_factory(url)
    run = start_index(sessions, [str(folder)], chunk_size=CHUNK)
    held = run.chunks[2]
    app = make_celery(pool.settings)
    task = app.tasks["lookalike.embed_images"]

    with row_lock(url, held[2]) as holder:  # the chunk's first two rows get written, then it blocks
        task_ids = [task.apply_async(args=[chunk, run.job_id]).id for chunk in run.chunks]
        owner, process = pool.owner_of(blocked_backend_port(url, holder))
        if victim == "worker":
            os.killpg(owner.proc.pid, signal.SIGKILL)  # the whole machine's worker dies
        else:
            assert process.pid != owner.proc.pid, "tasks run in the prefork child"
            process.kill()  # only the pool child; the worker's main process survives
        killed_at = time.monotonic()
    wait_until_done(url, run.job_id)
    recovery_s = time.monotonic() - killed_at
    app.close()
    print(f"{victim} kill: job done {recovery_s:.1f}s after the kill")

    held_task = task_ids[2]
    owner_events = task_events(owner.log_text(), held_task)
    assert owner_events[0] == "received" and owner_events.count("succeeded") <= 1, pool.logs()
    succeeded = [w for w in pool.workers if "succeeded" in task_events(w.log_text(), held_task)]
    assert len(succeeded) == 1, pool.logs()  # redelivered and done once
    if victim == "worker":
        assert owner.proc.wait(timeout=5) == -signal.SIGKILL
        assert owner_events == ["received"], pool.logs()  # it died holding the chunk
        assert succeeded[0] is not owner  # the survivor took the chunk over
    with sessions() as session:
        rows = session.scalars(select(Image).where(Image.job_id == run.job_id)).all()
        vectors = session.execute(select(Embedding.image_id, Embedding.model_version)).all()
        upserts = session.execute(
            select(IndexChange.image_id, func.count()).group_by(IndexChange.image_id)
        ).all()
    sessions.kw["bind"].dispose()
    assert len(rows) == IMAGES
    assert {r.status for r in rows} == {ImageStatus.INDEXED}
    ids = {r.id for r in rows}
    assert sorted(vectors) == sorted((i, "tiny-test-1") for i in ids)  # one vector each
    assert dict(upserts) == dict.fromkeys(ids, 1)  # logged once: the killed write rolled back
    assert recovery_s < 60
