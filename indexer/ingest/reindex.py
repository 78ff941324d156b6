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

from indexer.catalog.database import SessionFactory
from indexer.catalog.errors import BadRequestError
from indexer.catalog.images import count_indexed
from indexer.catalog.jobs import get_job, mark_done, open_reindex_job
from indexer.catalog.schema import ModelStatus
from indexer.catalog.vectors import missing_embeddings
from indexer.encoder.checkpoint import LoadedModel
from indexer.encoder.registry import register_model, set_serving

RESEND_AFTER_S = 600.0  # a chunk whose vectors have not appeared by then is sent again


def never_worse_warning(loaded: LoadedModel) -> str | None:
    """Why serving `loaded` could make search worse, from its training record; else None.

    `lookalike train` records `beats_baseline: false` when the trained model did not beat
    the untrained one on its held-out validation labels, or not clearly (`clear_win` false:
    a gain that a redraw of those labels could undo, indexer.training.win_confidence).
    """
    if loaded.metadata.get("beats_baseline") is not False:
        return None
    record = loaded.metadata.get("never_worse") or {}
    metric = record.get("metric", "map@r")
    before, after = record.get("starting_model"), record.get("trained")
    if record.get("beats_default_model") is False:
        before, after = record.get("default_model"), record.get("trained_on_default_sample")
    numbers = f": {metric} {before:.4f} -> {after:.4f}" if before is not None else ""
    lost = record.get("beats_starting_model") is False or record.get("beats_default_model") is False
    if record.get("clear_win") is False and not lost:
        return (
            f"model {loaded.version} did not clearly beat the untrained model on its held-out "
            f"validation labels{numbers}, a gain that a redraw of those labels could undo"
        )
    return (
        f"model {loaded.version} did not beat the untrained model on its held-out "
        f"validation labels{numbers}"
    )


def check_never_worse(loaded: LoadedModel, *, force: bool) -> str | None:
    """Refuse a model that lost to the untrained one unless `force`; return the warning."""
    warning = never_worse_warning(loaded)
    if warning is not None and not force:
        raise BadRequestError(f"{warning}; pass --force to serve it anyway")
    return warning


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
        job = open_reindex_job(
            session,
            version=row.version,
            source=str(source or row.source or row.version),
            total=count_indexed(session),
        )
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
        job = get_job(session, job_id)
        assert job.model_version is not None
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
        mark_done(session, job_id)
