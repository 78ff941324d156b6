"""Indexing: decoding, the Siamese encoder, the catalog database and Celery tasks."""

from indexer.settings import Settings

__all__ = ["Settings"]
