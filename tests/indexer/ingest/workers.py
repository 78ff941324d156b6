"""Support for the distributed-path tests: `lookalike worker` subprocesses and their CLI.

Fixtures built from these live in `tests/indexer/conftest.py`; test modules import from here,
never from each other.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from sqlalchemy import create_engine, select, text

from indexer.catalog.database import make_session_factory
from indexer.catalog.schema import Base, Job, JobStatus
from indexer.catalog.settings import Settings
from indexer.ingest.celery_app import make_celery

LOOKALIKE = Path(sys.executable).with_name("lookalike")
# The checkout under test, first on the subprocesses' path: the `lookalike` script alone
# would import whichever checkout the virtual environment was installed from.
REPO = Path(__file__).resolve().parents[3]
WORKER_READY_S = 60.0
WORKER_STOP_S = 10.0
JOB_TIMEOUT_S = 90.0
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


def drop_tables(url: str, *, version_table: bool = False) -> None:
    """Drop the catalog's tables; with `version_table` also Alembic's, so it migrates anew."""
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    if version_table:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


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
