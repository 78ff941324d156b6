"""Bulk indexing jobs over the JSON API: start one on a server-side source, follow, cancel."""

from __future__ import annotations

from typing import Any

from celery import Celery
from flask import Blueprint, Response, current_app, jsonify, request, url_for

from indexer.catalog.errors import BadRequestError
from indexer.catalog.schema import JobStatus
from indexer.ingest.celery_app import make_celery
from indexer.ingest.indexing import submit_index
from indexer.ingest.jobs import cancel_job, job_progress, list_jobs
from indexer.ingest.sources import check_source
from search.runtime import Runtime
from web import serialize
from web.api import int_arg, key_given
from web.auth import require_api_key
from web.params import json_object, text_arg

bp = Blueprint("api_jobs", __name__, url_prefix="/api/v1")
MAX_LIST = 100
MAX_CHUNK = 10_000  # images per task
MAX_SOURCE = 4096  # characters of a source path


def runtime() -> Runtime:
    return current_app.extensions["lookalike"]


def celery_app() -> Celery:
    """The app's Celery client, made once (eager, in-process, when REDIS_URL is unset)."""
    app = current_app.extensions.get("lookalike_celery")
    if app is None:
        app = current_app.extensions["lookalike_celery"] = make_celery(runtime().settings)
    return app


@bp.post("/jobs")
@require_api_key
def create() -> tuple[Response, int, dict[str, str]]:
    body = json_object()
    raw_source = text_arg(body, "source", max_length=MAX_SOURCE)
    if raw_source is None:
        raise BadRequestError('send JSON {"source": "<server-side folder or manifest>"}')
    chunk_size = int_arg(body, "chunk_size", 64)
    if not 1 <= chunk_size <= MAX_CHUNK:
        raise BadRequestError(f"chunk_size must be between 1 and {MAX_CHUNK}, got {chunk_size}")
    rt = runtime()
    roots = rt.settings.source_roots
    source = check_source(raw_source, roots)
    job_id = submit_index(
        celery_app(),
        rt.sessions,
        str(source),
        roots=roots,
        chunk_size=chunk_size,
        max_files=rt.settings.max_job_files,
    )
    location = url_for("api_jobs.show", job_id=job_id)
    return jsonify(_job_json(job_id)), 202, {"Location": location}


@bp.get("/jobs")
def index() -> Response:
    status = request.args.get("status") or None
    if status is not None and status not in set(JobStatus):
        raise BadRequestError(f"status must be one of {', '.join(JobStatus)}, got {status!r}")
    limit = min(max(int_arg(request.args, "limit", 20), 1), MAX_LIST)
    with runtime().sessions() as session:
        jobs = list_jobs(session, status=status, limit=limit)
        owner = key_given()
        return jsonify({"jobs": [serialize.job(p, owner=owner) for p in jobs]})


@bp.get("/jobs/<int:job_id>")
def show(job_id: int) -> Response:
    return jsonify(_job_json(job_id))


@bp.post("/jobs/<int:job_id>/cancel")
@require_api_key
def cancel(job_id: int) -> Response:
    with runtime().sessions.begin() as session:
        cancelled = cancel_job(session, job_id)
    return jsonify(_job_json(job_id) | {"cancelled_now": cancelled})


def _job_json(job_id: int) -> dict[str, Any]:
    with runtime().sessions() as session:
        progress = job_progress(session, job_id, with_failures=True)
    return serialize.job(progress, owner=key_given())
