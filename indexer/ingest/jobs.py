"""Bulk indexing jobs: creation, progress (counted from the rows that name the job), cancel."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from indexer.catalog.errors import NotFoundError
from indexer.catalog.job_liveness import ACTIVE, owner_here
from indexer.catalog.public_names import public_text, public_uri
from indexer.catalog.schema import Image, ImageStatus, Job, JobKind, JobStatus, utcnow
from indexer.encoder.registry import missing_embeddings
from indexer.ingest.registration import register_files
from indexer.ingest.sources import SourceFile


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
    """Insert a queued job with no rows yet (its files are registered by `fill_job`), owned
    by this process."""
    job = Job(source=source, status=JobStatus.QUEUED, owner=owner_here(), heartbeat_at=utcnow())
    session.add(job)
    session.flush()
    return job


def fill_job(
    session: Session,
    job: Job,
    files: Sequence[Path | SourceFile],
    *,
    lease_s: float = 120.0,
    tally: Counter[str] | None = None,
) -> list[int]:
    """Register the job's files and mark it running (done at once when nothing is new).

    Rows that dead jobs left pending join this one (see `register_files`). A job cancelled
    before its files were registered stays cancelled and gets none.
    """
    session.refresh(job, with_for_update=True)
    if job.status not in ACTIVE:
        return []
    ids, skipped = register_files(session, files, job_id=job.id, lease_s=lease_s, tally=tally)
    job.total, job.skipped = len(ids), skipped
    if not ids:
        job.status, job.finished_at = JobStatus.DONE, utcnow()
    else:
        job.status = JobStatus.RUNNING
    session.flush()
    return ids


def create_job(
    session: Session,
    source: str,
    files: Sequence[Path | SourceFile],
    *,
    lease_s: float = 120.0,
    tally: Counter[str] | None = None,
) -> tuple[Job, list[int]]:
    """Create a job and its pending rows; return the job and the ids to embed."""
    job = open_job(session, source)
    return job, fill_job(session, job, files, lease_s=lease_s, tally=tally)


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
    counts = dict(
        session.execute(
            select(Image.status, func.count()).where(Image.job_id == job_id).group_by(Image.status)
        ).all()
    )
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
        progress.failures, progress.public_failures = _failures(session, job_id)
    return progress


def _timing(job: Job, progress: JobProgress) -> tuple[float, float | None]:
    """(images/s since the job was created, seconds left at that rate)."""
    elapsed = ((job.finished_at or utcnow()) - job.created_at).total_seconds()
    rate = progress.processed / elapsed if elapsed > 0 else 0.0
    if progress.pending == 0:
        return rate, 0.0
    return rate, (progress.pending / rate if rate > 0 else None)


def _failures(session: Session, job_id: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(uri, reason) of the job's failed rows, and the same with public names."""
    rows = session.execute(
        select(Image.uri, Image.path, Image.name, Image.error)
        .where(Image.job_id == job_id, Image.status == ImageStatus.FAILED)
        .order_by(Image.id)
    ).all()
    own = [(row.uri, row.error or "") for row in rows]
    shown = [(public_uri(row), public_text(row, row.error) or "") for row in rows]
    return own, shown


def list_jobs(session: Session, *, status: str | None = None, limit: int = 20) -> list[JobProgress]:
    """The most recent jobs first, optionally only those with `status`."""
    query = select(Job.id).order_by(Job.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Job.status == status)
    return [job_progress(session, job_id) for job_id in session.scalars(query)]


def cancel_job(session: Session, job_id: int) -> bool:
    """Cancel an unfinished job: its pending rows become cancelled, so workers skip them.

    Return whether it was cancelled now (False: it had already finished or was cancelled).
    """
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise NotFoundError(f"job {job_id} not found")
    if job.status not in ACTIVE:
        return False
    session.execute(
        update(Image)
        .where(Image.job_id == job_id, Image.status == ImageStatus.PENDING)
        .values(status=ImageStatus.CANCELLED, error="job cancelled")
    )
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
    pending = session.scalar(
        select(func.count())
        .select_from(Image)
        .where(Image.job_id == job_id, Image.status == ImageStatus.PENDING)
    )
    if pending == 0 and job.status in ACTIVE:
        job.status, job.finished_at = JobStatus.DONE, utcnow()
    elif job.status in ACTIVE:
        job.heartbeat_at = utcnow()  # a chunk was just done: the job is alive
    return pending == 0
