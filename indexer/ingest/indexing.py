"""Run a bulk index: collect files, create a job, send its chunks to Celery, follow progress."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from celery import Celery

from indexer.catalog.database import SessionFactory
from indexer.catalog.errors import BrokerUnavailableError
from indexer.catalog.job_liveness import beat
from indexer.catalog.reading import display
from indexer.ingest.jobs import (
    JobProgress,
    create_job,
    fail_job,
    fill_job,
    finish_if_complete,
    get_job,
    job_progress,
    note_job,
    open_job,
)
from indexer.ingest.sources import collect

log = logging.getLogger(__name__)
ProgressCallback = Callable[[JobProgress], None]


@dataclass
class IndexRun:
    job_id: int
    chunks: list[list[int]]
    scan_errors: list[tuple[str, str]]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # unsupported types, ...
    known: Counter[str] = field(default_factory=Counter)  # known files by status; "resumed"


BEAT_S = 10.0  # how often a waiting process renews its job's heartbeat


def check_broker(app: Celery, *, timeout_s: float = 3.0) -> None:
    """Raise BrokerUnavailableError unless the broker accepts connections (eager apps: no
    broker). Called before a job is created, so a dead broker leaves nothing behind."""
    if app.conf.task_always_eager:
        return
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=timeout_s)
    except Exception as exc:  # kombu raises the transport's own errors
        raise BrokerUnavailableError(
            f"the broker at REDIS_URL does not answer ({type(exc).__name__}: {exc}); "
            "nothing was created"
        ) from exc


def start_index(
    sessions: SessionFactory,
    paths: Sequence[str],
    *,
    chunk_size: int = 64,
    roots: Sequence[Path] | None = None,
    max_files: int | None = None,
    lease_s: float = 120.0,
) -> IndexRun:
    """Collect `paths` (files, folders, manifests) and create a job with pending rows,
    taking over the rows that dead jobs left pending."""
    found = collect(paths, roots=roots, max_files=max_files)
    known: Counter[str] = Counter()
    source = " ".join(display(p) for p in paths)
    with sessions.begin() as session:
        job, ids = create_job(session, source, found.files, lease_s=lease_s, tally=known)
        note_job(session, job.id, found.errors + found.skipped)
        job_id = job.id
    chunks = _chunks(ids, chunk_size)
    return IndexRun(job_id, chunks, found.errors, skipped=found.skipped, known=known)


def submit_index(
    app: Celery,
    sessions: SessionFactory,
    source: str,
    *,
    roots: Sequence[Path] | None = None,
    chunk_size: int = 64,
    max_files: int | None = None,
) -> int:
    """Create a job for `source` and start it without waiting for it; return its id.

    With a broker the chunks are enqueued before returning; an eager (in-process) app
    collects and embeds in a background thread, so the caller returns at once.
    """
    if not app.conf.task_always_eager:
        check_broker(app)
        run = start_index(
            sessions, [source], chunk_size=chunk_size, roots=roots, max_files=max_files
        )
        send_or_fail(app, sessions, run)
        return run.job_id
    with sessions.begin() as session:
        job_id = open_job(session, source).id
    args = (app, sessions, job_id, source, roots, chunk_size, max_files)
    threading.Thread(target=_run_in_thread, args=args, name=f"job-{job_id}", daemon=True).start()
    return job_id


def _run_in_thread(
    app: Celery,
    sessions: SessionFactory,
    job_id: int,
    source: str,
    roots: Sequence[Path] | None,
    chunk_size: int,
    max_files: int | None,
) -> None:
    try:
        found = collect([source], roots=roots, max_files=max_files)
        with sessions.begin() as session:
            job = get_job(session, job_id)
            ids = fill_job(session, job, found.files)
            note_job(session, job_id, found.errors + found.skipped)
        send_chunks(app, IndexRun(job_id, _chunks(ids, chunk_size), found.errors))
        with sessions.begin() as session:
            finish_if_complete(session, job_id)
    except Exception as exc:  # the job reports it; nobody else is waiting on this thread
        log.exception("job %d failed", job_id)
        with sessions.begin() as session:
            fail_job(session, job_id, f"{type(exc).__name__}: {exc}")


def send_or_fail(app: Celery, sessions: SessionFactory, run: IndexRun) -> None:
    """`send_chunks`; when the broker fails meanwhile, mark the job failed (its pending rows
    are resumed by the next run over the same files) and raise BrokerUnavailableError."""
    try:
        send_chunks(app, run)
    except Exception as exc:
        if app.conf.task_always_eager:
            raise
        reason = f"the broker failed while chunks were sent ({type(exc).__name__}: {exc})"
        with sessions.begin() as session:
            fail_job(session, run.job_id, reason + "; run the same index again to resume")
        raise BrokerUnavailableError(reason) from exc


def send_chunks(app: Celery, run: IndexRun, on_progress: Callable[[], None] | None = None) -> None:
    """Send every chunk of `run` to the embedding task (eager apps run each inline)."""
    task = app.tasks["lookalike.embed_images"]
    for chunk in run.chunks:
        task.apply_async(args=[chunk, run.job_id])
        if on_progress is not None:
            on_progress()


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
    report = None
    if app.conf.task_always_eager and on_progress is not None:
        callback = on_progress

        def report() -> None:
            callback(_progress(sessions, run.job_id))

    if app.conf.task_always_eager:
        send_chunks(app, run, report)
    else:
        send_or_fail(app, sessions, run)
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
    last_beat = time.monotonic()
    while True:
        if time.monotonic() - last_beat > BEAT_S:  # this process still follows the job
            with sessions.begin() as session:
                beat(session, job_id)
            last_beat = time.monotonic()
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


def _chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _progress(sessions: SessionFactory, job_id: int, *, with_failures: bool = False) -> JobProgress:
    with sessions() as session:
        return job_progress(session, job_id, with_failures=with_failures)
