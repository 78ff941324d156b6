"""Bulk indexing jobs: creation and progress, counted from the rows that name the job."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from indexer.catalog import register_files
from indexer.errors import NotFoundError
from indexer.model_registry import missing_embeddings
from indexer.models import Image, ImageStatus, Job, JobKind, JobStatus, utcnow


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

    @property
    def processed(self) -> int:
        return self.indexed + self.duplicates + self.failed


def create_job(session: Session, source: str, files: list[Path]) -> tuple[Job, list[int]]:
    """Create a job and its pending rows; return the job and the ids to embed."""
    job = Job(source=source, status=JobStatus.QUEUED)
    session.add(job)
    session.flush()
    ids, skipped = register_files(session, files, job_id=job.id)
    job.total, job.skipped = len(ids), skipped
    if not ids:
        job.status, job.finished_at = JobStatus.DONE, utcnow()
    else:
        job.status = JobStatus.RUNNING
    session.flush()
    return job, ids


def job_progress(session: Session, job_id: int, *, with_failures: bool = False) -> JobProgress:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError(f"job {job_id} not found")
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
    )
    if with_failures:
        rows = session.execute(
            select(Image.uri, Image.error)
            .where(Image.job_id == job_id, Image.status == ImageStatus.FAILED)
            .order_by(Image.id)
        ).all()
        progress.failures = [(uri, error or "") for uri, error in rows]
    return progress


def finish_if_complete(session: Session, job_id: int) -> bool:
    """Mark the job done once none of its rows is pending; return whether it is done."""
    job = session.get(Job, job_id)
    if job is None:
        return False
    pending = session.scalar(
        select(func.count())
        .select_from(Image)
        .where(Image.job_id == job_id, Image.status == ImageStatus.PENDING)
    )
    if pending == 0 and job.status != JobStatus.DONE:
        job.status, job.finished_at = JobStatus.DONE, utcnow()
    return pending == 0
