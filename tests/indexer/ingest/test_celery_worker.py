"""The distributed indexing path, end to end: real Redis, `lookalike worker` processes, PostgreSQL.

Nothing is faked: the CLI and the workers are subprocesses, tasks travel through the test
run's own Redis, rows land in a fresh PostgreSQL database. Worker logs are printed at
teardown, so pytest shows them with any failure.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import redis
from sqlalchemy import create_engine, func, select

from indexer.catalog.database import make_session_factory
from indexer.catalog.schema import Base, Embedding, Image, ImageStatus, IndexChange, Job, JobStatus
from indexer.catalog.settings import Settings
from indexer.ingest.celery_app import make_celery
from search.runtime import build_runtime
from tests.conftest import index_folder, write_images

LOOKALIKE = Path(sys.executable).with_name("lookalike")
# The checkout under test, first on the subprocesses' path: the `lookalike` script alone
# would import whichever checkout the virtual environment was installed from.
REPO = Path(__file__).resolve().parents[3]
WORKER_READY_S = 60.0
WORKER_STOP_S = 10.0
CLI_TIMEOUT_S = 120.0
OWN_ENV = ("DATABASE_URL", "REDIS_URL")


@dataclass
class Workers:
    """`lookalike worker` subprocesses sharing one environment, with a log file each."""

    env: dict[str, str] = field(repr=False)  # keep the environment out of failure reports
    log_dir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    def start(self, count: int) -> None:
        """Start `count` more workers and wait until every one of them answers a ping."""
        for _ in range(count):
            log = self.log_dir / f"worker-{len(self.procs)}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    [str(LOOKALIKE), "worker", "--concurrency", "1"],
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group, pool children included
                )
            self.procs.append(proc)
            self.logs.append(log)
        self._wait_ready()

    def _wait_ready(self) -> None:
        app = make_celery(self.settings)
        deadline = time.monotonic() + WORKER_READY_S
        try:
            while time.monotonic() < deadline:
                dead = [p.pid for p in self.procs if p.poll() is not None]
                assert not dead, f"workers {dead} exited early:\n{self.read_logs()}"
                replies = app.control.ping(timeout=1.0, limit=len(self.procs))
                if len(replies) >= len(self.procs):
                    return
            raise AssertionError(f"workers not ready after {WORKER_READY_S}s:\n{self.read_logs()}")
        finally:
            app.close()

    def stop(self) -> None:
        """SIGTERM each worker (warm shutdown), then SIGKILL whatever is left of its group."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=WORKER_STOP_S)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=WORKER_STOP_S)

    def read_logs(self) -> str:
        return "\n".join(
            f"----- {log.name} -----\n{log.read_text(errors='replace')}" for log in self.logs
        )

    def count_in_logs(self, text: str) -> list[int]:
        """How often `text` occurs in each worker's log."""
        return [log.read_text(errors="replace").count(text) for log in self.logs]


@pytest.fixture
def catalog_url(postgres_url: str) -> Iterator[str]:
    """The session's PostgreSQL database, emptied before and after the test."""
    _drop_tables(postgres_url)
    yield postgres_url
    _drop_tables(postgres_url)


def _drop_tables(url: str) -> None:
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    engine.dispose()


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


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run `lookalike ARGS` as a subprocess and capture its output."""
    return subprocess.run(
        [str(LOOKALIKE), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def describe(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_cli_enqueues_on_redis_and_a_worker_indexes_every_image(
    workers: Workers, image_folder: Path
) -> None:
    workers.start(1)

    result = run_cli(workers.env, "index", str(image_folder), "--no-progress")

    assert result.returncode == 0, describe(result)
    assert "added 12," in result.stdout, describe(result)
    assert "on Redis queue lookalike.embed" in result.stderr, describe(result)
    assert sum(workers.count_in_logs("lookalike.embed_images[")) > 0, "no task reached the worker"
    runtime = build_runtime(workers.settings, load="now")
    try:
        assert runtime.index_sync.status().size == 12
        for path in image_files(image_folder):
            hits = runtime.engine.search_image(path.read_bytes(), k=1).hits
            assert hits[0].uri == str(path.resolve())
            assert hits[0].score == pytest.approx(1.0, abs=1e-4)
    finally:
        runtime.sessions.kw["bind"].dispose()


def write_messy_folder(folder: Path) -> tuple[list[Path], Path, Path, Path]:
    """38 distinct images, a byte-identical copy of one of them and a corrupt .png."""
    originals = write_images(folder, range(100, 138))
    copy = folder / "zz" / "copy_of_img_0103.png"
    copy.parent.mkdir()
    copy.write_bytes(originals[3].read_bytes())
    corrupt = folder / "zz" / "corrupt.png"
    corrupt.write_bytes(np.random.default_rng(0).bytes(2048))
    return originals, originals[3], copy, corrupt


def test_two_workers_index_each_content_once(workers: Workers, tmp_path: Path) -> None:
    folder = tmp_path / "messy"
    originals, original, copy, corrupt = write_messy_folder(folder)
    contents = {hashlib.sha256(p.read_bytes()).hexdigest() for p in [*originals, copy]}
    workers.start(2)

    job_id = index_folder(workers.settings, folder)

    sessions = make_session_factory(workers.settings.database_url)
    try:
        with sessions() as session:
            job = session.get(Job, job_id)
            assert job is not None
            assert (job.status, job.total) == (JobStatus.DONE, 40)
            assert job.finished_at is not None
            rows = {r.uri: r for r in session.scalars(select(Image).where(Image.job_id == job_id))}
            versions = set(session.execute(select(Embedding.image_id, Embedding.model_version)))
            upserts = dict(
                session.execute(
                    select(IndexChange.image_id, func.count()).group_by(IndexChange.image_id)
                ).all()
            )
    finally:
        sessions.kw["bind"].dispose()

    assert len(rows) == 40
    indexed = [r for r in rows.values() if r.status == ImageStatus.INDEXED]
    assert len(indexed) == len(contents) == 38
    assert {r.content_key for r in indexed} == contents  # one vector per distinct content
    assert versions == {(r.id, "tiny-test-1") for r in indexed}
    assert all(upserts.get(r.id) == 1 for r in indexed)  # embedded exactly once
    pair = sorted([rows[str(original)], rows[str(copy)]], key=lambda r: r.status)
    assert [r.status for r in pair] == [ImageStatus.DUPLICATE, ImageStatus.INDEXED]
    assert pair[0].duplicate_of == pair[1].id and pair[0].content_key is None
    broken = rows[str(corrupt)]
    assert broken.status == ImageStatus.FAILED and broken.error
    assert all(n > 0 for n in workers.count_in_logs("succeeded")), "a worker did no work"


def test_reindexing_the_same_folder_adds_nothing(workers: Workers, image_folder: Path) -> None:
    workers.start(1)
    first = run_cli(workers.env, "index", str(image_folder), "--no-progress")
    assert first.returncode == 0 and "added 12," in first.stdout, describe(first)
    received = workers.count_in_logs("received")

    again = run_cli(workers.env, "index", str(image_folder), "--no-progress")

    assert again.returncode == 0, describe(again)
    assert "added 0," in again.stdout, describe(again)
    assert "already indexed 12," in again.stdout, describe(again)
    assert workers.count_in_logs("received") == received  # nothing was sent to the queue
    sessions = make_session_factory(workers.settings.database_url)
    try:
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Image)) == 12
            last = session.scalars(select(Job).order_by(Job.id.desc())).first()
            assert last is not None
            assert (last.status, last.total, last.skipped) == (JobStatus.DONE, 0, 12)
    finally:
        sessions.kw["bind"].dispose()
