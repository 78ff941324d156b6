"""The Celery application: Redis-backed when REDIS_URL is set, in-process (eager) otherwise."""

from __future__ import annotations

from celery import Celery

from indexer.settings import Settings

QUEUE = "lookalike.embed"


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
            broker_transport_options={"visibility_timeout": 3600},
        )
    app.conf.update(
        task_ignore_result=True,
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
    )
    app.conf.lookalike_settings = settings

    from indexer.tasks import register_tasks

    register_tasks(app)
    return app
