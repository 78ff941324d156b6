"""The one place that turns errors into `{"error": {"code", "message"}}` HTTP responses.

Typed errors (indexer.catalog.errors and the packages' own) carry their status. What the database or
the operating system raises for a bad value or a full disk is mapped here too, so no input
reaches the generic 500: a unique constraint lost to a concurrent write is 409, a value the
database refuses is 400, a full disk is 507 and a busy database 503.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from indexer.catalog.errors import (
    ConflictError,
    InvalidValueError,
    LookalikeError,
    StorageFullError,
)
from indexer.ingest.storage import FULL

log = logging.getLogger(__name__)

PG_DISK_FULL = "53100"
BUSY_RETRY_S = 5


class DatabaseBusyError(LookalikeError):
    status = 503
    code = "database_busy"
    retry_after = BUSY_RETRY_S


def error_response(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "message": message}}), status


def database_error(exc: Exception) -> LookalikeError | None:
    """The typed error a database exception stands for; None when it is a real fault."""
    if isinstance(exc, IntegrityError):
        return ConflictError("the change conflicts with a concurrent one; retry")
    if isinstance(exc, DataError):
        return InvalidValueError("a value does not fit the catalog's column")
    if isinstance(exc, OperationalError):
        text = str(getattr(exc, "orig", exc)).lower()
        if getattr(exc.orig, "pgcode", None) == PG_DISK_FULL or "disk is full" in text:
            return StorageFullError("the database's disk is full; nothing was stored")
        if "database is locked" in text:
            return DatabaseBusyError("the catalog database is busy; retry shortly")
    return None


def init_app(app: Flask) -> None:
    """Register the handlers that map typed and HTTP errors to JSON."""

    @app.errorhandler(LookalikeError)
    def _lookalike(exc: LookalikeError) -> tuple[Response, int]:
        if exc.status >= 500:
            log.error("%s: %s", exc.code, exc.message)
        response, status = error_response(exc.status, exc.code, exc.message)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response, status

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_exc: RequestEntityTooLarge) -> tuple[Response, int]:
        limit = app.config.get("MAX_CONTENT_LENGTH") or 0
        message = f"upload exceeds the limit of {limit / 1024 / 1024:.1f} MB"  # MiB, as set
        return error_response(413, "upload_too_large", message)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[Response, int]:
        code = (exc.name or "error").lower().replace(" ", "_")
        response, status = error_response(exc.code or 500, code, exc.description or exc.name)
        for name, value in exc.get_headers():
            if name.lower() in ("allow", "retry-after"):
                response.headers[name] = value
        return response, status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        typed = database_error(exc)
        if typed is None and isinstance(exc, OSError) and exc.errno in FULL:
            typed = StorageFullError(f"no space left on the server's disk ({exc.strerror})")
        if typed is not None:
            log.warning("%s: %s", typed.code, exc)
            return _lookalike(typed)
        log.exception("unhandled error")
        return error_response(500, "internal_error", "internal server error")
