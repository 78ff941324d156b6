"""API-key protection: always for the endpoints that change the catalog, and for every other
API endpoint too when LOOKALIKE_API_KEY_READS is set (health and metrics stay open)."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Flask, current_app, request

from indexer.catalog.errors import LookalikeError

HEADER = "X-API-Key"
P = ParamSpec("P")
R = TypeVar("R")


class AuthError(LookalikeError):
    status = 401
    code = "unauthorized"


def require_api_key(view: Callable[P, R]) -> Callable[P, R]:
    """Reject the request unless it carries the configured key (no-op when none is set)."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        check_key()
        return view(*args, **kwargs)

    return wrapper


def check_key() -> None:
    """Raise AuthError unless the request carries the configured key (none set: no-op)."""
    expected = current_app.extensions["lookalike"].settings.api_key
    if expected and not has_key(expected):
        raise AuthError(f"this endpoint needs a valid {HEADER} header")


def has_key(expected: str) -> bool:
    """True when the request's key header is `expected` (compared in constant time)."""
    given = request.headers.get(HEADER, "")
    return hmac.compare_digest(given.encode(), expected.encode())


OPEN = frozenset({"api.health", "openapi.spec"})


def _check_reads() -> None:
    if request.path.startswith("/api/") and request.endpoint not in OPEN:
        check_key()


def init_app(app: Flask) -> None:
    """With `api_key_reads`, every API endpoint but health and metrics needs the key."""
    settings = app.extensions["lookalike"].settings
    if settings.api_key and settings.api_key_reads:
        app.before_request(_check_reads)
