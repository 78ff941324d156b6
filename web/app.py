"""The app factory: the Flask pages and JSON API of one catalog."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.middleware.proxy_fix import ProxyFix

from indexer.catalog.settings import Settings
from search.runtime import Runtime, build_runtime
from web.serialize import finite

log = logging.getLogger(__name__)


class FiniteJSONProvider(DefaultJSONProvider):
    """Flask's JSON, always valid: a NaN or infinity (metadata stored before it was checked,
    a degenerate score) is written as null instead of the bare `NaN` JSON parsers refuse."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        try:
            return super().dumps(obj, **kwargs, allow_nan=False)
        except ValueError:
            log.warning("a response held NaN or infinity; written as null")
            return super().dumps(finite(obj), **kwargs)


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    """Build the web app; the index loads in the background (503 until ready)."""
    from web import (
        api,
        api_anomaly,
        api_batch,
        api_compare,
        api_duplicates,
        api_explain,
        api_feedback,
        api_galleries,
        api_jobs,
        auth,
        errors,
        hosts,
        openapi,
        pages,
        params,
        prometheus,
        rate_limit,
        security,
    )

    if runtime is None:
        runtime = build_runtime(settings or Settings.from_env(), load="background")
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = int(runtime.settings.max_upload_mb * 1024 * 1024)
    app.extensions["lookalike"] = runtime
    app.json = FiniteJSONProvider(app)
    params.init_app(app)  # before the blueprints: bounds every <int:...> route id
    errors.init_app(app)
    prometheus.init_app(app)
    hosts.init_app(app)  # first: a request for another host's name runs nothing else
    for module in (api, api_anomaly, api_compare, api_duplicates, api_feedback, api_galleries):
        app.register_blueprint(module.bp)
    app.register_blueprint(api_jobs.bp)
    app.register_blueprint(api_batch.bp)
    app.register_blueprint(api_explain.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(pages.bp)
    security.init_app(app)
    auth.init_app(app)
    rate_limit.init_app(app)
    if runtime.settings.proxy_hops:
        hops = runtime.settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    return app


__all__ = ["create_app"]
