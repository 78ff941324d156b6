"""Re-embed the catalog with a new model through Celery, then make it the serving model.

Search keeps serving the old model meanwhile: vectors of the new version are stored beside
the old ones, and every search process swaps to the new index once the catalog names the
new version as serving. Re-running a reindex resumes it (only missing vectors are made).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from celery import Celery
from sqlalchemy import func, select

from indexer.catalog.database import SessionFactory
from indexer.catalog.errors import BadRequestError
from indexer.catalog.schema import Image, ImageStatus, Job, JobKind, JobStatus, ModelStatus, utcnow
from indexer.encoder.checkpoint import LoadedModel
from indexer.encoder.registry import missing_embeddings, register_model, set_serving

RESEND_AFTER_S = 600.0  # a chunk whose vectors have not appeared by then is sent again


@dataclass
class ReindexProgress:
    job_id: int
    version: str
    total: int
    missing: int

    @property
    def done(self) -> int:
        return self.total - self.missing


def start_reindex(sessions: SessionFactory, loaded: LoadedModel, *, source: Path | None) -> int:
    """Register the model as building and create the reindex job; return the job id."""
    with sessions.begin() as session:
        row = register_model(
            session, loaded, source=str(source) if source else None, status=ModelStatus.BUILDING
        )
        if row.status == ModelStatus.SERVING:
            raise BadRequestError(f"model {row.version} is already serving")
        row.status = ModelStatus.BUILDING
        total = session.scalar(
            select(func.count()).select_from(Image).where(Image.status == ImageStatus.INDEXED)
        )
        job = Job(
            kind=JobKind.REINDEX,
            model_version=row.version,
            source=str(source or row.source or row.version),
            status=JobStatus.RUNNING,
            total=total or 0,
        )
        session.add(job)
        session.flush()
        return job.id


def drive_reindex(
    app: Celery,
    sessions: SessionFactory,
    job_id: int,
    *,
    chunk_size: int = 64,
    poll_s: float = 0.5,
    on_progress: Callable[[ReindexProgress], None] | None = None,
) -> ReindexProgress:
    """Send chunks for every image still missing a vector, until none is; then swap."""
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.model_version is not None
        version, total = job.model_version, job.total
    task = app.tasks["lookalike.reindex_images"]
    sent: dict[int, float] = {}
    while True:
        with sessions() as session:
            missing = missing_embeddings(session, version)
        progress = ReindexProgress(job_id, version, max(total, len(missing)), len(missing))
        if on_progress:
            on_progress(progress)
        if not missing:
            _finish(sessions, job_id, version)
            return progress
        now = time.monotonic()
        due = [i for i in missing if now - sent.get(i, -RESEND_AFTER_S) >= RESEND_AFTER_S]
        for start in range(0, len(due), chunk_size):
            chunk = due[start : start + chunk_size]
            task.apply_async(args=[chunk, version])
            sent.update(dict.fromkeys(chunk, now))
        if not due:
            time.sleep(poll_s)


def _finish(sessions: SessionFactory, job_id: int, version: str) -> None:
    with sessions.begin() as session:
        set_serving(session, version)
        job = session.get(Job, job_id)
        if job is not None:
            job.status, job.finished_at = JobStatus.DONE, utcnow()
