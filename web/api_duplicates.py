"""GET /api/v1/duplicates: groups of near-identical catalog images, and of identical files."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Response, jsonify, request

from search.deadline import Deadline
from search.near_duplicates import find_duplicates
from web.api import float_arg, int_arg, runtime

DEFAULT_THRESHOLD = 0.95

bp = Blueprint("duplicates", __name__, url_prefix="/api/v1")


@bp.get("/duplicates")
def duplicates() -> Response:
    """Query `threshold` (a score, default 0.95) and `neighbours` (links per image, 10)."""
    threshold = float_arg(request.args, "threshold")
    rt = runtime()
    report = find_duplicates(
        rt.engine,
        deadline=Deadline(rt.settings.request_timeout_s),
        threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
        neighbours=int_arg(request.args, "neighbours", 10),
    )
    return jsonify(asdict(report))
