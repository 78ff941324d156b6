"""Parsing of request input: path ids, form and query fields, JSON bodies, uploads.

Every helper raises a typed 4xx error (indexer.catalog.errors) for input it cannot use, so a view
never sees a value the core or the database would choke on.
"""

from __future__ import annotations

import math
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from indexer.catalog.errors import BadRequestError
from indexer.catalog.fields import MAX_ID, check_text, parse_metadata

MAX_SHOWN = 40  # characters of a bad value quoted back in an error message


class CatalogIdConverter(IntegerConverter):
    """`<int:...>` in every route: 0 … 2**63 - 1, what a database integer holds.

    A larger number is a 404 for every method (no such row can exist) instead of an
    OverflowError in SQLite's driver; werkzeug's own `max` would answer 405 to some methods.
    """

    def to_python(self, value: str) -> int:
        number = super().to_python(value) if len(value) <= len(str(MAX_ID)) else MAX_ID + 1
        if number > MAX_ID:
            raise NotFound(f"ids are whole numbers from 1 to {MAX_ID}")
        return number


def init_app(app: Flask) -> None:
    """Bound `<int:...>` route ids; call before the blueprints are registered."""
    app.url_map.converters["int"] = CatalogIdConverter


def shown(raw: object) -> str:
    """`raw` as quoted in an error message, cut to MAX_SHOWN characters."""
    text = repr(raw)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."


def int_arg(source: Any, name: str, default: int) -> int:
    raw = source.get(name)
    if raw in (None, ""):
        return default
    if isinstance(raw, bool) or isinstance(raw, float) and not raw.is_integer():
        raise BadRequestError(f"{name} must be an integer, got {shown(raw)}")
    try:
        return int(raw)
    except (TypeError, ValueError, OverflowError) as exc:
        raise BadRequestError(f"{name} must be an integer, got {shown(raw)}") from exc


def float_arg(source: Any, name: str, default: float | None = None) -> float | None:
    raw = source.get(name)
    if raw in (None, ""):
        return default
    if isinstance(raw, bool):
        raise BadRequestError(f"{name} must be a number, got {shown(raw)}")
    try:
        value = float(raw)
    except (TypeError, ValueError, OverflowError) as exc:
        raise BadRequestError(f"{name} must be a number, got {shown(raw)}") from exc
    if not math.isfinite(value):
        raise BadRequestError(f"{name} must be a finite number, got {shown(raw)}")
    return value


def text_arg(source: Any, name: str, *, max_length: int) -> str | None:
    """A text field that fits a database column (no NUL, at most `max_length`); None if empty."""
    raw = source.get(name)
    if raw in (None, ""):
        return None
    if not isinstance(raw, str):
        raise BadRequestError(f"{name} must be a string, got {shown(raw)}")
    return check_text(name, raw, max_length=max_length)


def catalog_id(raw: str) -> int:
    """A form field holding a catalog image id; one too large for the database comes back as
    MAX_ID + 1, so it stays a "not found" instead of an error."""
    digits = raw.strip()
    if not (digits.isascii() and digits.isdigit()):
        raise BadRequestError(f"id must be a catalog image id, got {shown(raw)}")
    return int(digits) if len(digits) <= len(str(MAX_ID)) else MAX_ID + 1


def upload(field: str = "image") -> bytes:
    """The bytes of the multipart file `field`; BadRequestError when it is missing."""
    file = request.files.get(field)
    if file is None:
        raise BadRequestError(f"send the image as multipart form field {field!r}")
    return file.read()


def optional_upload(field: str = "image") -> bytes | None:
    """The bytes of the multipart file `field`, or None when none was sent."""
    file = request.files.get(field)
    return None if file is None else file.read()


def upload_or_id(file_field: str, id_field: str) -> bytes | int:
    """The bytes of the multipart file `file_field` or the catalog id in form field
    `id_field`: exactly one of them, else BadRequestError."""
    data = optional_upload(file_field)
    raw_id = request.form.get(id_field, "")
    if (data is None) == (raw_id == ""):
        raise BadRequestError(f"send either the file {file_field} or the catalog id {id_field}")
    return data if data is not None else catalog_id(raw_id)


def metadata_arg() -> dict[str, Any]:
    """Form field `metadata`: a JSON object the catalog can store (empty when absent)."""
    raw = request.form.get("metadata")
    return parse_metadata(raw) if raw else {}


def json_object() -> dict[str, Any]:
    """The request's JSON body, which must be an object; 400 for anything else."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequestError("send a JSON object as the request body")
    return body


def fields() -> Any:
    """Where a view reads its fields: the JSON object body of a JSON request, else the form."""
    return json_object() if request.is_json else request.form
