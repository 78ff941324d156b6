"""GET /api/v1/duplicates: groups of near-identical catalog images, and of identical files."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from search.deadline import Deadline
from search.near_duplicates import DEFAULT_THRESHOLD, find_duplicates
from web import serialize
from web.api import float_arg, int_arg, runtime

bp = Blueprint("duplicates", __name__, url_prefix="/api/v1")


@bp.get("/duplicates")
def duplicates() -> Response:
    """Query `threshold` (a copy score, default DEFAULT_THRESHOLD) and `neighbours`
    (embedding candidates per image, 10)."""
    threshold = float_arg(request.args, "threshold")
    rt = runtime()
    report = find_duplicates(
        rt.engine,
        deadline=Deadline(rt.settings.request_timeout_s),
        threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
        neighbours=int_arg(request.args, "neighbours", 10),
    )
    return jsonify(serialize.duplicates(report))
