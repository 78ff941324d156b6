"""The `jobs` rows: bulk index and reindex runs, their progress (counted from the rows that
name the job), cancel, failure, heartbeat and the sweep of jobs whose process died.

The SQL of the table lives here; registering a job's files is `indexer.ingest.jobs`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from indexer.catalog.errors import NotFoundError
from indexer.catalog.images import cancel_pending, count_pending, job_failures, status_counts
from indexer.catalog.job_liveness import ACTIVE, is_alive, owner_here
from indexer.catalog.schema import ImageStatus, Job, JobKind, JobStatus, utcnow
from indexer.catalog.vectors import missing_embeddings


@dataclass
class JobProgress:
    id: int
    status: str
    total: int
    skipped: int
    pending: int
    indexed: int
    duplicates: int
    failed: int
    failures: list[tuple[str, str]] = field(default_factory=list)  # (uri, reason)
    # The same as clients may see them: names under the source, never server paths.
    public_failures: list[tuple[str, str]] = field(default_factory=list)
    cancelled: int = 0
    rate: float = 0.0  # images processed per second since the job was created
    eta_s: float | None = None  # None: unknown yet
    source: str = ""
    error: str | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def processed(self) -> int:
        return self.indexed + self.duplicates + self.failed


def open_job(session: Session, source: str) -> Job:
    """Insert a queued job with no rows yet (its files are registered by
    `indexer.ingest.jobs.fill_job`), owned by this process."""
    job = Job(source=source, status=JobStatus.QUEUED, owner=owner_here(), heartbeat_at=utcnow())
    session.add(job)
    session.flush()
    return job


def lock_unfinished(session: Session, job: Job) -> bool:
    """Lock the job's row until the transaction ends (re-read); whether it is unfinished."""
    session.refresh(job, with_for_update=True)
    return job.status in ACTIVE


def mark_filled(session: Session, job: Job, *, total: int, skipped: int) -> None:
    """Record how many rows the job got and skipped, and mark it running (done when none)."""
    job.total, job.skipped = total, skipped
    if not total:
        job.status, job.finished_at = JobStatus.DONE, utcnow()
    else:
        job.status = JobStatus.RUNNING
    session.flush()


def open_reindex_job(session: Session, *, version: str, source: str, total: int) -> Job:
    """Insert a running job that re-embeds `total` indexed images with model `version`."""
    job = Job(
        kind=JobKind.REINDEX,
        model_version=version,
        source=source,
        status=JobStatus.RUNNING,
        total=total,
    )
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError(f"job {job_id} not found")
    return job


def job_progress(session: Session, job_id: int, *, with_failures: bool = False) -> JobProgress:
    """Counts, rate and ETA of one job; with `with_failures`, its failed uris and reasons."""
    job = get_job(session, job_id)
    if job.kind == JobKind.REINDEX and job.model_version:
        missing = len(missing_embeddings(session, job.model_version))
        return JobProgress(
            job.id, job.status, job.total, 0, missing, max(job.total - missing, 0), 0, 0
        )
    counts = status_counts(session, job_id=job_id)
    progress = JobProgress(
        id=job.id,
        status=job.status,
        total=job.total,
        skipped=job.skipped,
        pending=counts.get(ImageStatus.PENDING, 0),
        indexed=counts.get(ImageStatus.INDEXED, 0),
        duplicates=counts.get(ImageStatus.DUPLICATE, 0),
        failed=counts.get(ImageStatus.FAILED, 0),
        cancelled=counts.get(ImageStatus.CANCELLED, 0),
        source=job.source,
        error=job.error,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )
    progress.rate, progress.eta_s = _timing(job, progress)
    if with_failures:
        progress.failures, progress.public_failures = job_failures(session, job_id)
    return progress


def _timing(job: Job, progress: JobProgress) -> tuple[float, float | None]:
    """(images/s since the job was created, seconds left at that rate)."""
    elapsed = ((job.finished_at or utcnow()) - job.created_at).total_seconds()
    rate = progress.processed / elapsed if elapsed > 0 else 0.0
    if progress.pending == 0:
        return rate, 0.0
    return rate, (progress.pending / rate if rate > 0 else None)


def recent_job_ids(
    session: Session, *, statuses: Iterable[str] | None = None, limit: int = 20
) -> list[int]:
    """Ids of the most recent jobs first, optionally only those in one of `statuses`."""
    query = select(Job.id).order_by(Job.id.desc()).limit(limit)
    if statuses is not None:
        query = query.where(Job.status.in_(list(statuses)))
    return list(session.scalars(query))


def list_jobs(session: Session, *, status: str | None = None, limit: int = 20) -> list[JobProgress]:
    """The most recent jobs first, optionally only those with `status`."""
    ids = recent_job_ids(session, statuses=None if status is None else [status], limit=limit)
    return [job_progress(session, job_id) for job_id in ids]


def cancel_job(session: Session, job_id: int) -> bool:
    """Cancel an unfinished job: its pending rows become cancelled, so workers skip them.

    Return whether it was cancelled now (False: it had already finished or was cancelled).
    """
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise NotFoundError(f"job {job_id} not found")
    if job.status not in ACTIVE:
        return False
    cancel_pending(session, job_id)
    job.status, job.finished_at = JobStatus.CANCELLED, utcnow()
    session.flush()
    return True


def fail_job(session: Session, job_id: int, reason: str) -> None:
    """Mark an unfinished job failed with `reason` (its rows keep their state)."""
    job = session.get(Job, job_id)
    if job is not None and job.status in ACTIVE:
        job.status, job.error, job.finished_at = JobStatus.FAILED, reason, utcnow()


def note_job(session: Session, job_id: int, notes: list[tuple[str, str]], limit: int = 50) -> None:
    """Record problems met while collecting a job's files (on `Job.error`, one per line)."""
    if not notes:
        return
    lines = [f"{where}: {reason}" for where, reason in notes[:limit]]
    if len(notes) > limit:
        lines.append(f"... and {len(notes) - limit} more")
    get_job(session, job_id).error = f"{len(notes)} entries skipped:\n" + "\n".join(lines)


def finish_if_complete(session: Session, job_id: int) -> bool:
    """Mark the job done once none of its rows is pending; return whether none is."""
    job = session.get(Job, job_id)
    if job is None:
        return False
    pending = count_pending(session, job_id)
    if pending == 0 and job.status in ACTIVE:
        job.status, job.finished_at = JobStatus.DONE, utcnow()
    elif job.status in ACTIVE:
        job.heartbeat_at = utcnow()  # a chunk was just done: the job is alive
    return pending == 0


def mark_done(session: Session, job_id: int) -> None:
    """Mark the job done (a reindex whose every vector is stored); a deleted job is left be."""
    job = session.get(Job, job_id)
    if job is not None:
        job.status, job.finished_at = JobStatus.DONE, utcnow()


def beat(session: Session, job_id: int) -> None:
    """Renew the job's heartbeat (`indexer.catalog.job_liveness`)."""
    job = session.get(Job, job_id)
    if job is not None and job.status in ACTIVE:
        job.heartbeat_at = utcnow()


def retire_dead_jobs(
    session: Session, job_ids: Iterable[int | None], *, lease_s: float
) -> set[int]:
    """Of `job_ids`, the ones no process works on any more; unfinished ones are marked failed."""
    ids = {job_id for job_id in job_ids if job_id is not None}
    if not ids:
        return set()
    jobs = session.scalars(select(Job).where(Job.id.in_(ids))).all()
    dead = ids - {job.id for job in jobs}  # deleted jobs
    for job in jobs:
        if is_alive(job, lease_s=lease_s):
            continue
        dead.add(job.id)
        if job.status in ACTIVE:
            job.status, job.finished_at = JobStatus.FAILED, utcnow()
            job.error = "interrupted: its process stopped; a later run re-queued its pending images"
    return dead
