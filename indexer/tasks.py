"""Celery tasks: thin adapters that take image ids and call the pipeline."""

from __future__ import annotations

import logging

from celery import Celery, Task
from sqlalchemy.exc import OperationalError

from indexer import jobs, worker_state
from indexer.pipeline import embed_images
from indexer.settings import Settings

log = logging.getLogger(__name__)


def register_tasks(app: Celery) -> None:
    """Attach the indexing tasks to `app`, and to no other app.

    `shared=False`: Celery's default would also register this closure on every app created
    later in the process, where it could win over that app's own and run with these settings.
    """

    @app.task(
        name="lookalike.embed_images",
        bind=True,
        shared=False,
        acks_late=True,
        autoretry_for=(OperationalError, ConnectionError, TimeoutError),
        retry_backoff=True,
        retry_backoff_max=60,
        max_retries=8,
    )
    def embed_images_task(self: Task, image_ids: list[int], job_id: int | None = None) -> dict:
        settings: Settings = self.app.conf.lookalike_settings
        factory = worker_state.session_factory(settings)
        embedder = worker_state.embedder(settings)
        with factory.begin() as session:
            report = embed_images(session, embedder, image_ids, max_pixels=settings.max_pixels)
        if job_id is not None:
            with factory.begin() as session:
                jobs.finish_if_complete(session, job_id)
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
