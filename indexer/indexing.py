"""Run a bulk index: scan paths, create a job, send its chunks to Celery, follow progress."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from celery import Celery

from indexer.db import SessionFactory
from indexer.jobs import JobProgress, create_job, finish_if_complete, job_progress
from indexer.scan import scan_paths

ProgressCallback = Callable[[JobProgress], None]


@dataclass
class IndexRun:
    job_id: int
    chunks: list[list[int]]
    scan_errors: list[tuple[str, str]]


def start_index(
    sessions: SessionFactory, paths: Sequence[str], *, chunk_size: int = 64
) -> IndexRun:
    """Scan `paths` and create a job with pending rows, split into chunks of image ids."""
    scan = scan_paths(paths)
    with sessions.begin() as session:
        job, ids = create_job(session, source=" ".join(map(str, paths)), files=scan.files)
        job_id = job.id
    chunks = [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]
    return IndexRun(job_id=job_id, chunks=chunks, scan_errors=scan.errors)


def run_index(
    app: Celery,
    sessions: SessionFactory,
    run: IndexRun,
    *,
    on_progress: ProgressCallback | None = None,
    poll_s: float = 0.5,
    timeout_s: float | None = None,
) -> JobProgress:
    """Send every chunk, then wait for the job to finish; eager apps run chunks inline."""
    task = app.tasks["lookalike.embed_images"]
    for chunk in run.chunks:
        task.apply_async(args=[chunk, run.job_id])
        if app.conf.task_always_eager and on_progress:
            on_progress(_progress(sessions, run.job_id))
    return wait_for_job(sessions, run.job_id, on_progress, poll_s=poll_s, timeout_s=timeout_s)


def wait_for_job(
    sessions: SessionFactory,
    job_id: int,
    on_progress: ProgressCallback | None = None,
    *,
    poll_s: float = 0.5,
    timeout_s: float | None = None,
) -> JobProgress:
    """Poll the database until the job has no pending rows; return its final progress.

    The job is marked done here too: a worker does that in a transaction after its last
    batch commits, so without it the caller could see the job still "running".
    """
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        progress = _progress(sessions, job_id)
        if on_progress:
            on_progress(progress)
        if progress.pending == 0:
            with sessions.begin() as session:
                finish_if_complete(session, job_id)
            return _progress(sessions, job_id, with_failures=True)
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still has {progress.pending} pending images")
        time.sleep(poll_s)


def _progress(sessions: SessionFactory, job_id: int, *, with_failures: bool = False) -> JobProgress:
    with sessions() as session:
        return job_progress(session, job_id, with_failures=with_failures)
