"""POST /api/v1/explain: why do two images match? Similarity and a heatmap of each."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from indexer.catalog.errors import BadRequestError
from indexer.encoder.attribution import DEFAULT_GRID
from search.deadline import Deadline
from search.explain import ImageRef, explain_pair
from web import serialize
from web.api import int_arg, runtime
from web.params import catalog_id, optional_upload

bp = Blueprint("explain", __name__, url_prefix="/api/v1")


@bp.post("/explain")
def explain() -> Response:
    """Multipart `image_a` or form `id_a`, and `image_b` or `id_b`; optional form `grid`."""
    grid = int_arg(request.form, "grid", DEFAULT_GRID)
    rt = runtime()
    deadline = Deadline(rt.settings.request_timeout_s)
    result = explain_pair(rt.engine, _image("a"), _image("b"), grid=grid, deadline=deadline)
    return jsonify(serialize.explanation(result))


def _image(side: str) -> ImageRef:
    """The upload `image_<side>` or the catalog id `id_<side>`: exactly one of them."""
    data = optional_upload(f"image_{side}")
    raw_id = request.form.get(f"id_{side}", "")
    if (data is None) == (raw_id == ""):
        raise BadRequestError(f"send either the file image_{side} or the catalog id id_{side}")
    return data if data is not None else catalog_id(raw_id)
