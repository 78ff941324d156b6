"""The write path: sources, loading, the embedding pipeline, jobs and Celery tasks."""
