"""Browser-facing protections: refuse cross-site writes (CSRF) and set security headers.

The API authenticates with a header (`X-API-Key`), never a cookie, but a deployment without a
key would still let any web site make a visitor's browser POST to it. Every state-changing
request that a browser marks as coming from another site (`Sec-Fetch-Site: cross-site`, or an
`Origin` whose host is not this server's) is refused with 403; clients that are not browsers
(curl, SDKs) send neither header and are unaffected.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request

from indexer.catalog.errors import ForbiddenError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; "
        "style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
}


class CrossSiteError(ForbiddenError):
    code = "cross_site_request"


def check_same_site() -> None:
    """Raise CrossSiteError for a browser's state-changing request from another site."""
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        raise CrossSiteError("cross-site requests may not change this catalog")
    origin = request.headers.get("Origin")
    if origin == "null":
        raise CrossSiteError("requests from an opaque origin may not change this catalog")
    if origin and urlsplit(origin).netloc != request.host:
        raise CrossSiteError(f"requests from {origin} may not change this catalog")


def add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    app.before_request(check_same_site)
    app.after_request(add_headers)
