"""POST /api/v1/explain: why do two images match? Similarity and a heatmap of each."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from indexer.encoder.attribution import DEFAULT_GRID
from search.deadline import Deadline
from search.explain import explain_pair
from web import serialize
from web.api import int_arg, runtime
from web.example_params import box_arg
from web.params import upload_or_id

bp = Blueprint("explain", __name__, url_prefix="/api/v1")


@bp.post("/explain")
def explain() -> Response:
    """Multipart `image_a` or form `id_a`, and `image_b` or `id_b`; optional form `grid`,
    `box_a` and `box_b` (a region of that image, as `box` of a search)."""
    grid = int_arg(request.form, "grid", DEFAULT_GRID)
    rt = runtime()
    deadline = Deadline(rt.settings.request_timeout_s)
    result = explain_pair(
        rt.engine,
        upload_or_id("image_a", "id_a"),
        upload_or_id("image_b", "id_b"),
        grid=grid,
        deadline=deadline,
        first_box=box_arg(request.form, "box_a"),
        second_box=box_arg(request.form, "box_b"),
    )
    return jsonify(serialize.explanation(result))
