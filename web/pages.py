"""The browser page: upload or drop a query image, see the nearest catalog images."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> str:
    runtime = current_app.extensions["lookalike"]
    return render_template(
        "index.html",
        max_upload_mb=runtime.settings.max_upload_mb,
        max_k=runtime.settings.max_k,
        key_required=bool(runtime.settings.api_key),
        key_for_reads=runtime.settings.api_key_reads,
    )
