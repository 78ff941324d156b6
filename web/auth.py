"""API-key protection for the endpoints that change the catalog."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import current_app, request

from indexer.errors import LookalikeError

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
        expected = current_app.extensions["lookalike"].settings.api_key
        if expected:
            given = request.headers.get(HEADER, "")
            if not hmac.compare_digest(given.encode(), expected.encode()):
                raise AuthError(f"this endpoint needs a valid {HEADER} header")
        return view(*args, **kwargs)

    return wrapper
