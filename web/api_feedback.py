"""Feedback endpoints: users mark a search result right or wrong for their query."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import func, select

from indexer.catalog.errors import BadRequestError
from indexer.catalog.feedback import record_feedback
from indexer.catalog.schema import Feedback
from indexer.encoder.decode import decode_image
from indexer.ingest.storage import store_bytes
from web.api import int_arg, runtime
from web.auth import require_api_key

bp = Blueprint("feedback", __name__, url_prefix="/api/v1")
VERDICTS = {"right": True, "wrong": False}


@bp.post("/feedback")
@require_api_key
def add() -> tuple[Response, int]:
    """Form `result_id`, `verdict` (right|wrong) and the query: form `query_id` or file `image`."""
    rt = runtime()
    verdict = request.form.get("verdict", "")
    if verdict not in VERDICTS:
        raise BadRequestError("verdict must be 'right' or 'wrong'")
    result_id = int_arg(request.form, "result_id", 0)
    query_id = int_arg(request.form, "query_id", 0) or None
    query_path = None
    upload = request.files.get("image")
    if upload is not None:
        data = upload.read()
        decode_image(data, max_pixels=rt.settings.max_pixels)  # only images are kept
        query_path = str(store_bytes(rt.settings.feedback_dir, data))
    with rt.sessions.begin() as session:
        row = record_feedback(
            session,
            result_id=result_id,
            same=VERDICTS[verdict],
            query_image_id=query_id,
            query_path=query_path,
            model_version=rt.serving.version,
        )
        body = {"id": row.id, "result_id": result_id, "verdict": verdict}
    return jsonify(body), 201


@bp.get("/feedback")
def summary() -> Response:
    with runtime().sessions() as session:
        query = select(Feedback.same, func.count()).group_by(Feedback.same)
        counts = {bool(same): n for same, n in session.execute(query).all()}
    return jsonify({"right": counts.get(True, 0), "wrong": counts.get(False, 0)})
