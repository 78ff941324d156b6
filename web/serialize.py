"""JSON shapes of the API (plain dicts: no Flask here, the command line prints them too)."""

from __future__ import annotations

import base64
import math
from dataclasses import asdict
from datetime import datetime
from pathlib import PurePath
from typing import Any

from indexer.catalog.feedback import FeedbackCounts
from indexer.catalog.galleries import GallerySummary
from indexer.catalog.jobs import JobProgress
from indexer.catalog.public_names import public_text, public_uri
from indexer.catalog.schema import Feedback, GalleryItem, Image
from search.anomaly import AnomalyResult
from search.batch import BatchAnswer, BatchResult
from search.compare import Comparison
from search.engine import Hit, SearchResult
from search.explain import ExplainedImage, Explanation
from search.gallery import Identification
from search.near_duplicates import DuplicateReport


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


def feedback(mark: Feedback) -> dict[str, Any]:
    """A stored right/wrong mark."""
    return {
        "id": mark.id,
        "result_id": mark.result_image_id,
        "verdict": "right" if mark.same else "wrong",
    }


def feedback_counts(counts: FeedbackCounts) -> dict[str, Any]:
    return {"right": counts.right, "wrong": counts.wrong}


def comparison(result: Comparison) -> dict[str, Any]:
    return {
        "similarity": result.similarity,
        "distance": result.distance,
        "same": result.same,
        "threshold": result.threshold,
        "threshold_source": result.threshold_source,
        "promised_far": result.promised_far,
        "metric": result.distance_kind,
        "model": result.model,
    }


def anomaly(result: AnomalyResult) -> dict[str, Any]:
    """The result; a neighbour's fields that do not apply (None) are left out."""
    body = asdict(result)
    body["neighbours"] = [{k: v for k, v in n.items() if v is not None} for n in body["neighbours"]]
    return body


def duplicates(report: DuplicateReport) -> dict[str, Any]:
    return asdict(report)


def gallery(summary: GallerySummary) -> dict[str, Any]:
    return asdict(summary)


def gallery_item(item: GalleryItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "label": item.label,
        "filename": item.filename,
        "sha256": item.sha256,
        "model_version": item.model_version,
        "created_at": item.created_at.isoformat() + "Z",
    }


def identification(result: Identification) -> dict[str, Any]:
    return asdict(result)


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat() + "Z"


def explanation(result: Explanation) -> dict[str, Any]:
    """The similarity, and per image its heat grid and overlay (a base64 PNG)."""
    return {
        "similarity": result.similarity,
        "method": result.method,
        "grid": result.grid,
        "model": result.model,
        "took_ms": round(result.took_ms, 3),
        "image_a": explained_image(result.first),
        "image_b": explained_image(result.second),
    }


def explained_image(image: ExplainedImage) -> dict[str, Any]:
    return {
        "heat": image.heat.tolist(),
        "overlay_png": base64.b64encode(image.overlay_png).decode("ascii"),
        "width": image.width,
        "height": image.height,
    }
