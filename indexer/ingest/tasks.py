"""Celery tasks: thin adapters that take image ids and call the pipeline."""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, Task
from sqlalchemy.exc import OperationalError

from indexer.catalog.settings import Settings
from indexer.encoder import resources
from indexer.ingest import jobs, telemetry
from indexer.ingest.loading import FileLimits
from indexer.ingest.pipeline import BatchReport, embed_for_version, index_pending

log = logging.getLogger(__name__)

TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    # Celery's default (shared=True) would also register these closures on every app created
    # later in the process, where they could win over that app's own and use these settings.
    "shared": False,
    "acks_late": True,
    "autoretry_for": (OperationalError, ConnectionError, TimeoutError),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 8,
}


def register_tasks(app: Celery) -> None:
    """Attach the indexing tasks to `app`, and to no other app."""

    @app.task(name="lookalike.embed_images", **TASK_OPTIONS)
    def embed_images_task(self: Task, image_ids: list[int], job_id: int | None = None) -> dict:
        settings: Settings = self.app.conf.lookalike_settings
        factory = resources.session_factory(settings)
        embedders = resources.active_embedders(settings, factory)
        report = index_pending(
            factory,
            embedders,
            image_ids,
            max_pixels=settings.max_pixels,
            decode_threads=settings.decode_threads,
            limits=FileLimits.from_settings(settings),
        )
        telemetry.count_embedded(report, [e.version for e in embedders])
        if job_id is not None:
            self.app.tasks["lookalike.finish_job"].delay(job_id)  # on the CPU queue
        return _summary(report)

    @app.task(name="lookalike.finish_job", **TASK_OPTIONS)
    def finish_job_task(self: Task, job_id: int) -> bool:
        """Mark the job done once none of its rows is pending (CPU work: no model)."""
        settings: Settings = self.app.conf.lookalike_settings
        with resources.session_factory(settings).begin() as session:
            return jobs.finish_if_complete(session, job_id)

    @app.task(name="lookalike.reindex_images", **TASK_OPTIONS)
    def reindex_images_task(self: Task, image_ids: list[int], version: str) -> dict:
        settings: Settings = self.app.conf.lookalike_settings
        factory = resources.session_factory(settings)
        embedder = resources.embedder_for(settings, factory, version)
        with factory.begin() as session:
            report = embed_for_version(
                session,
                embedder,
                image_ids,
                max_pixels=settings.max_pixels,
                decode_threads=settings.decode_threads,
            )
        telemetry.count_vectors(version, len(report.indexed))
        return _summary(report)


def _summary(report: BatchReport) -> dict[str, int]:
    log.info(
        "embedded %d, duplicates %d, failed %d",
        len(report.indexed),
        len(report.duplicates),
        len(report.failed),
    )
    return {
        "indexed": len(report.indexed),
        "duplicates": len(report.duplicates),
        "failed": len(report.failed),
    }
