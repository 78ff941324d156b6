"""Feedback endpoints: users mark a search result right or wrong for their query."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from indexer.catalog.errors import BadRequestError
from indexer.catalog.feedback import feedback_counts
from indexer.ingest.feedback import add_feedback
from web import serialize
from web.api import int_arg, runtime
from web.auth import require_api_key
from web.params import optional_upload

bp = Blueprint("feedback", __name__, url_prefix="/api/v1")
VERDICTS = {"right": True, "wrong": False}


@bp.post("/feedback")
@require_api_key
def add() -> tuple[Response, int]:
    """Form `result_id`, `verdict` (right|wrong) and the query: form `query_id` or file `image`."""
    verdict = request.form.get("verdict", "")
    if verdict not in VERDICTS:
        raise BadRequestError("verdict must be 'right' or 'wrong'")
    rt = runtime()
    mark = add_feedback(
        rt.settings,
        rt.sessions,
        result_id=int_arg(request.form, "result_id", 0),
        same=VERDICTS[verdict],
        query_id=int_arg(request.form, "query_id", 0) or None,
        query_image=optional_upload(),
        model_version=rt.serving.version,
    )
    return jsonify(serialize.feedback(mark)), 201


@bp.get("/feedback")
def summary() -> Response:
    with runtime().sessions() as session:
        counts = feedback_counts(session)
    return jsonify(serialize.feedback_counts(counts))
