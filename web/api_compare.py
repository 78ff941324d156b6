"""POST /api/v1/compare: are two uploaded images the same thing?"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from search.compare import compare_images
from web import serialize
from web.api import float_arg, runtime, upload

bp = Blueprint("compare", __name__, url_prefix="/api/v1")


@bp.post("/compare")
def compare() -> Response:
    """Multipart `image_a`, `image_b`; optional form `threshold` (a score) and `distance`."""
    result = compare_images(
        runtime().engine,
        upload("image_a"),
        upload("image_b"),
        distance=request.form.get("distance") or None,
        threshold=float_arg(request.form, "threshold"),
    )
    return jsonify(serialize.comparison(result))
