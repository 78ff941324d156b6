"""Interrupted runs resume: kill -9 or Ctrl-C of `lookalike index`, a dead broker, and a dead
job's rows taken over by a new run on real Celery workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from indexer.catalog.database import make_session_factory
from indexer.catalog.schema import Image, ImageStatus, Job, JobStatus
from indexer.catalog.settings import Settings
from indexer.ingest.celery_app import make_celery
from indexer.ingest.indexing import start_index
from search.runtime import build_runtime
from tests.conftest import write_images
from tests.indexer.ingest.workers import Workers, describe, run_cli
from web import create_app

REPO = Path(__file__).resolve().parents[3]
DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def cli_env(settings: Settings, model: Path, **extra: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("LOOKALIKE_")}
    inherited.pop("REDIS_URL", None)
    inherited.pop("DATABASE_URL", None)
    return (
        inherited
        | {
            "LOOKALIKE_HOME": str(settings.home),
            "LOOKALIKE_MODEL": str(model),
            "LOOKALIKE_DEVICE": "cpu",
            "PYTHONPATH": str(REPO),
        }
        | extra
    )


def index_command(folder: Path) -> list[str]:
    return [sys.executable, "-m", "web.cli.main", "index", str(folder), "--no-progress"]


def counts(settings: Settings) -> dict[str, int]:
    sessions = make_session_factory(settings.database_url)
    try:
        with sessions() as session:
            query = select(Image.status, func.count()).group_by(Image.status)
            return dict(session.execute(query).all())  # type: ignore[arg-type]
    finally:
        sessions.kw["bind"].dispose()


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_an_interrupted_index_resumes_when_run_again(
    settings: Settings, tiny_model_path: Path, tmp_path: Path, stop: signal.Signals
) -> None:
    folder = tmp_path / "catalog"
    write_images(folder, range(300))
    env = cli_env(settings, tiny_model_path)
    command = index_command(folder) + ["--chunk-size", "2"]
    first = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while counts(settings).get(ImageStatus.INDEXED, 0) < 6:  # mid-run
        assert first.poll() is None and time.monotonic() < deadline, "the run ended too soon"
        time.sleep(0.05)
    first.send_signal(stop)
    first.communicate(timeout=60)
    stranded = counts(settings)
    indexed_before = stranded.get(ImageStatus.INDEXED, 0)
    assert stranded.get(ImageStatus.PENDING, 0) > 0  # what used to stay pending forever

    again = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)

    assert again.returncode == 0, describe(again)
    assert f"({300 - indexed_before} resumed from interrupted runs)" in again.stderr
    assert f"added {300 - indexed_before}, " in again.stdout, describe(again)
    assert f"already indexed {indexed_before}, failed 0" in again.stdout, describe(again)
    assert counts(settings) == {ImageStatus.INDEXED: 300}
    runtime = build_runtime(settings, load="now")
    try:
        assert runtime.index_sync.status().size == 300  # all searchable
        with runtime.sessions() as session:
            jobs = session.scalars(select(Job).order_by(Job.id)).all()
    finally:
        runtime.sessions.kw["bind"].dispose()
    assert [j.status for j in jobs] == [JobStatus.FAILED, JobStatus.DONE]
    assert "interrupted" in (jobs[0].error or "")
    if stop == signal.SIGINT:
        assert first.returncode == 130


def test_a_dead_broker_creates_nothing(
    settings: Settings, tiny_model_path: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "catalog"
    write_images(folder, range(5))
    env = cli_env(settings, tiny_model_path, REDIS_URL=DEAD_BROKER)

    result = subprocess.run(
        index_command(folder), env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 2, describe(result)
    assert "does not answer" in result.stderr and "nothing was created" in result.stderr
    sessions = make_session_factory(settings.database_url)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
        assert session.scalar(select(func.count()).select_from(Image)) == 0


def test_the_jobs_api_answers_503_on_a_dead_broker(settings: Settings, tmp_path: Path) -> None:
    root = (tmp_path / "srv").resolve()
    write_images(root, range(3))
    runtime = build_runtime(replace(settings, source_roots=(root,)), load="now")
    app = create_app(runtime=runtime)
    dead = make_celery(replace(runtime.settings, redis_url=DEAD_BROKER))  # only the broker
    app.extensions["lookalike_celery"] = dead
    client = app.test_client()

    response = client.post("/api/v1/jobs", json={"source": str(root)})

    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"]["code"] == "broker_unavailable"
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
    runtime.sessions.kw["bind"].dispose()


def test_a_dead_jobs_rows_are_requeued_to_real_workers(
    workers: Workers, image_folder: Path
) -> None:
    sessions = make_session_factory(workers.settings.database_url)
    run = start_index(sessions, [str(image_folder)])  # rows created, chunks never sent
    with sessions.begin() as session:
        job = session.get(Job, run.job_id)
        assert job is not None
        job.owner = f"{os.uname().nodename}:{_dead_pid()}"  # as after kill -9
    workers.start(1)

    result = run_cli(workers.env, "index", str(image_folder), "--no-progress")

    assert result.returncode == 0, describe(result)
    assert "added 12, duplicates skipped 0, already indexed 0, failed 0" in result.stdout
    with sessions() as session:
        statuses = session.scalars(select(Image.status)).all()
        dead = session.get(Job, run.job_id)
        assert dead is not None and dead.status == JobStatus.FAILED
    sessions.kw["bind"].dispose()
    assert statuses == [ImageStatus.INDEXED] * 12


def _dead_pid() -> int:
    """A process id that no longer runs."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid
