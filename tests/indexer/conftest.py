"""Fixtures shared by the distributed-path tests: the worker pool over Redis and PostgreSQL."""

from tests.indexer.ingest.test_celery_worker import catalog_url, worker_env, workers

__all__ = ["catalog_url", "worker_env", "workers"]
