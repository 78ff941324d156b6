"""JSON shapes of the API."""

from __future__ import annotations

import logging
import math
from datetime import datetime
from pathlib import PurePath
from typing import Any

from flask.json.provider import DefaultJSONProvider

from indexer.catalog.public_names import public_text, public_uri
from indexer.catalog.schema import Image
from indexer.ingest.jobs import JobProgress
from search.batch import BatchAnswer, BatchResult
from search.engine import Hit, SearchResult

log = logging.getLogger(__name__)


class FiniteJSONProvider(DefaultJSONProvider):
    """Flask's JSON, always valid: a NaN or infinity (metadata stored before it was checked,
    a degenerate score) is written as null instead of the bare `NaN` JSON parsers refuse."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        try:
            return super().dumps(obj, **kwargs, allow_nan=False)
        except ValueError:
            log.warning("a response held NaN or infinity; written as null")
            return super().dumps(finite(obj), **kwargs)


def finite(value: Any) -> Any:
    """`value` with every NaN and infinity inside it replaced by None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def hit(found: Hit) -> dict[str, Any]:
    return {
        "id": found.id,
        "uri": found.public_uri,
        "score": found.score,
        "distance": found.distance,
        "metadata": found.metadata,
        "match": found.match,
    }


def search_result(result: SearchResult) -> dict[str, Any]:
    return {"results": [hit(h) for h in result.hits], "took_ms": round(result.took_ms, 3)}


def batch_result(result: BatchResult) -> dict[str, Any]:
    return {
        "queries": [batch_answer(answer) for answer in result.answers],
        "took_ms": round(result.took_ms, 3),
    }


def batch_answer(answer: BatchAnswer) -> dict[str, Any]:
    """`{"image": name}` or `{"id": n}`, then `"results"` or `"error"`."""
    query = answer.query
    body: dict[str, Any] = (
        {"id": query.image_id} if query.image_id is not None else {"image": query.name}
    )
    if answer.error is not None:
        return body | {"error": {"code": answer.error.code, "message": answer.error.message}}
    return body | {"results": [hit(h) for h in answer.hits or []]}


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


def job(progress: JobProgress, *, owner: bool = False) -> dict[str, Any]:
    """A job's state; its source folder and failed files as server paths only for the `owner`
    (the API key holder), otherwise the source's last name and the files' public names."""
    failures = progress.failures if owner else progress.public_failures
    source = progress.source if owner or not progress.source else PurePath(progress.source).name
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
        "source": source,
        "error": progress.error,
        "created_at": _timestamp(progress.created_at),
        "finished_at": _timestamp(progress.finished_at),
        "failures": [{"uri": uri, "reason": reason} for uri, reason in failures],
    }


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat() + "Z"
