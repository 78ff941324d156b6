"""The Celery application: Redis-backed when REDIS_URL is set, in-process (eager) otherwise.

Its tasks travel on the two queues of `indexer.ingest.queues` (model work, bookkeeping).
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from indexer.catalog.settings import Settings
from indexer.ingest.queues import EMBED_QUEUE, ROUTES


def make_celery(settings: Settings) -> Celery:
    """Build the Celery app for these settings and register the indexing tasks on it."""
    app = Celery("lookalike", set_as_current=False)
    if settings.embedded:
        app.conf.update(
            broker_url="memory://",
            task_always_eager=True,
            task_eager_propagates=True,
        )
    else:
        app.conf.update(
            broker_url=settings.redis_url,
            task_acks_late=True,
            task_reject_on_worker_lost=True,
            worker_prefetch_multiplier=1,
            broker_connection_retry_on_startup=True,
            broker_transport_options=transport_options(settings.visibility_timeout_s),
        )
    app.conf.update(
        task_ignore_result=True,
        task_default_queue=EMBED_QUEUE,
        task_routes=ROUTES,
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        worker_send_task_events=True,  # for Flower
        task_send_sent_event=True,
    )
    app.conf.lookalike_settings = settings

    from indexer.ingest.tasks import register_tasks

    register_tasks(app)
    return app


def transport_options(visibility_timeout_s: float) -> dict[str, Any]:
    """Redis options that bring back a dead worker's unacknowledged task.

    A task unacknowledged for `visibility_timeout_s` goes back on its queue, so the timeout
    must exceed the longest chunk. Every live worker scans for such tasks every few seconds
    (kombu's default scans only every ~100 s).
    """
    return {
        "visibility_timeout": visibility_timeout_s,
        "unacked_restore_interval": max(1.0, min(10.0, visibility_timeout_s / 3)),
        "unacked_restore_throttle": 1,
    }
