"""POST /api/v1/anomaly: how novel is an uploaded image against the catalog or a gallery?"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from web import serialize
from web.api import float_arg, int_arg, runtime, upload

bp = Blueprint("anomaly", __name__, url_prefix="/api/v1")


@bp.post("/anomaly")
def anomaly() -> Response:
    """Multipart `image`; optional form `gallery`, `k`, `percentile`."""
    rt = runtime()
    result = rt.anomaly.score(
        upload(),
        gallery=request.form.get("gallery") or None,
        k=int_arg(request.form, "k", rt.settings.anomaly_k),
        percentile=float_arg(request.form, "percentile"),
    )
    return jsonify(serialize.anomaly(result))
