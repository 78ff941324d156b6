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
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
import redis
from sqlalchemy import create_engine, func, select, text

from indexer.catalog.database import make_session_factory
from indexer.catalog.schema import Base, Embedding, Image, ImageStatus, IndexChange, Job, JobStatus
from indexer.catalog.settings import Settings
from indexer.ingest.celery_app import make_celery
from indexer.ingest.indexing import start_index
from tests.conftest import write_images
from tests.indexer.ingest.test_celery_worker import LOOKALIKE, REPO, WORKER_READY_S, WORKER_STOP_S

IMAGES = 60
CHUNK = 4
VISIBILITY_TIMEOUT_S = 5  # short, so the dead worker's chunk comes back within seconds
JOB_TIMEOUT_S = 90.0


@dataclass
class Worker:
    """One `lookalike worker` process group (main process + prefork child)."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def processes(self) -> list[psutil.Process]:
        main = psutil.Process(self.proc.pid)
        return [main, *main.children(recursive=True)]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Pool:
    env: dict[str, str] = field(repr=False)
    workers: list[Worker] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    def start(self, log_dir: Path, count: int) -> None:
        tag = uuid.uuid4().hex[:6]
        for n in range(count):
            name = f"fault{n}-{tag}@lookalike-test"
            log = log_dir / f"worker-{n}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    [str(LOOKALIKE), "worker", "--concurrency", "1", "--hostname", name],
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # a process group of its own: killpg hits it all
                )
            self.workers.append(Worker(name, proc, log))
        self._wait_ready()

    def _wait_ready(self) -> None:
        app = make_celery(self.settings)
        names = {w.name for w in self.workers}
        deadline = time.monotonic() + WORKER_READY_S
        try:
            while time.monotonic() < deadline:
                assert all(w.proc.poll() is None for w in self.workers), self.logs()
                replies = app.control.ping(destination=list(names), timeout=1.0)
                if names <= {name for reply in replies for name in reply}:
                    return
            raise AssertionError(f"workers not ready after {WORKER_READY_S}s:\n{self.logs()}")
        finally:
            app.close()

    def stop(self) -> None:
        for worker in self.workers:
            if worker.proc.poll() is None:
                worker.proc.terminate()
        for worker in self.workers:
            try:
                worker.proc.wait(timeout=WORKER_STOP_S)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(worker.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            worker.proc.wait(timeout=WORKER_STOP_S)

    def logs(self) -> str:
        return "\n".join(f"----- {w.name} -----\n{w.log_text()}" for w in self.workers)

    def owner_of(self, port: int) -> tuple[Worker, psutil.Process]:
        """The worker, and its process, whose TCP socket has local port `port`."""
        for worker in self.workers:
            for process in worker.processes():
                if any(c.laddr and c.laddr.port == port for c in process.net_connections("tcp")):
                    return worker, process
        raise AssertionError(f"no worker process owns local port {port}")


def _drop_tables(url: str) -> None:
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


@pytest.fixture
def pool(
    tmp_path: Path, tiny_model_path: Path, postgres_url: str, redis_url: str
) -> Iterator[Pool]:
    """Two workers on a short visibility timeout; Redis db and catalog emptied around it."""
    _drop_tables(postgres_url)
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
        _drop_tables(postgres_url)


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


def wait_until_done(url: str, job_id: int) -> None:
    """Poll until a worker (the CPU queue's finish task) marks the job done."""
    sessions = make_session_factory(url)
    deadline = time.monotonic() + JOB_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            with sessions() as session:
                if session.scalar(select(Job.status).where(Job.id == job_id)) == JobStatus.DONE:
                    return
            time.sleep(0.2)
    finally:
        sessions.kw["bind"].dispose()
    raise AssertionError(f"job {job_id} not done after {JOB_TIMEOUT_S}s")


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
