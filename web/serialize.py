"""JSON shapes of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from indexer.jobs import JobProgress
from indexer.models import Image
from indexer.public_names import public_text, public_uri
from search.engine import SearchResult


def search_result(result: SearchResult) -> dict[str, Any]:
    return {
        "results": [
            {
                "id": hit.id,
                "uri": hit.public_uri,
                "score": hit.score,
                "distance": hit.distance,
                "metadata": hit.metadata,
                "match": hit.match,
            }
            for hit in result.hits
        ],
        "took_ms": round(result.took_ms, 3),
    }


def image(row: Image, model_versions: list[str], *, owner: bool = False) -> dict[str, Any]:
    """An image's record; the server's path of its file only for the `owner` (key holder)."""
    body = {
        "id": row.id,
        "uri": public_uri(row),
        "sha256": row.sha256,
        "size_bytes": row.size_bytes,
        "width": row.width,
        "height": row.height,
        "status": row.status,
        "error": public_text(row, row.error),
        "metadata": row.meta or {},
        "model_versions": model_versions,
        "duplicate_of": row.duplicate_of,
        "created_at": row.created_at.isoformat() + "Z",
    }
    return body | {"path": row.path} if owner else body


def job(progress: JobProgress) -> dict[str, Any]:
    return {
        "id": progress.id,
        "status": progress.status,
        "total": progress.total,
        "skipped": progress.skipped,
        "pending": progress.pending,
        "indexed": progress.indexed,
        "duplicates": progress.duplicates,
        "failed": progress.failed,
        "cancelled": progress.cancelled,
        "processed": progress.processed,
        "rate": round(progress.rate, 3),
        "eta_s": None if progress.eta_s is None else round(progress.eta_s, 1),
        "source": progress.source,
        "error": progress.error,
        "created_at": _timestamp(progress.created_at),
        "finished_at": _timestamp(progress.finished_at),
        "failures": [{"uri": uri, "reason": reason} for uri, reason in progress.failures],
    }


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat() + "Z"
