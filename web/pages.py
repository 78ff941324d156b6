"""The browser page: upload or drop a query image, see the nearest catalog images."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, send_from_directory

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


@bp.get("/favicon.ico")
def favicon() -> Response:
    """The page's icon where browsers and crawlers look for it (an SVG)."""
    response = send_from_directory(
        current_app.static_folder or "static", "favicon.svg", mimetype="image/svg+xml"
    )
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
