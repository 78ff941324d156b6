"""Flask pages and JSON API for Lookalike."""

from __future__ import annotations

from flask import Flask

from indexer.settings import Settings
from search.runtime import Runtime, build_runtime


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    """Build the web app; the index loads in the background (503 until ready)."""
    from web import (
        api,
        api_anomaly,
        api_compare,
        api_duplicates,
        api_feedback,
        api_galleries,
        api_jobs,
        errors,
        metrics,
        pages,
    )

    if runtime is None:
        runtime = build_runtime(settings or Settings.from_env(), load="background")
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = int(runtime.settings.max_upload_mb * 1024 * 1024)
    app.extensions["lookalike"] = runtime
    errors.init_app(app)
    metrics.init_app(app)
    for module in (api, api_anomaly, api_compare, api_duplicates, api_feedback, api_galleries):
        app.register_blueprint(module.bp)
    app.register_blueprint(api_jobs.bp)
    app.register_blueprint(pages.bp)

    @app.after_request
    def _security_headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return app


__all__ = ["create_app"]
