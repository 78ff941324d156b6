"""Limits of the values the catalog stores: ids, text columns and metadata.

Every value that comes from outside (the API, the CLI, a manifest) is checked here before it
reaches the database, so SQLite and PostgreSQL accept the same inputs and every stored value can
be written back as valid JSON: ids fit a signed 64-bit integer; text fits its column and holds
no NUL and no lone surrogate; metadata is a JSON object of bounded size and depth whose numbers
are finite and fit 64 bits.
"""

from __future__ import annotations

import json
import math
from typing import Any

from indexer.catalog.errors import InvalidMetadataError, InvalidValueError

MAX_ID = 2**63 - 1  # SQLite INTEGER and PostgreSQL BIGINT
MAX_URI = 2048  # images.uri
MAX_METADATA_BYTES = 64 * 1024
MAX_METADATA_DEPTH = 32
MIN_INT, MAX_INT = -(2**63), 2**64 - 1
MAX_INT_DIGITS = 21  # a sign and 20 digits: longer spellings are refused before int()


def in_id_range(value: int) -> bool:
    """Whether `value` can be a catalog id at all (1 … 2**63 - 1)."""
    return 0 < value <= MAX_ID


def check_score(name: str, value: float | None) -> float | None:
    """A score threshold, unchanged; InvalidValueError outside [-1, 1], the range every score
    lies in (cosine, 1 / (1 + distance), a copy score): beyond it nothing could ever match."""
    if value is not None and not (math.isfinite(value) and -1.0 <= value <= 1.0):
        raise InvalidValueError(f"{name} must be a score between -1 and 1, got {value}")
    return value


def check_text(name: str, value: str, *, max_length: int) -> str:
    """`value` unchanged; InvalidValueError when a database text column cannot hold it."""
    if len(value) > max_length:
        raise InvalidValueError(f"{name} is longer than {max_length} characters")
    if "\x00" in value:
        raise InvalidValueError(f"{name} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidValueError(f"{name} is not valid Unicode (a lone surrogate)") from exc
    return value


def parse_metadata(text: str) -> dict[str, Any]:
    """Parse metadata sent as JSON text; InvalidMetadataError unless it is a storable object."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_METADATA_BYTES:
        raise InvalidMetadataError(f"metadata is larger than {MAX_METADATA_BYTES} bytes")
    try:
        value = json.loads(
            text, parse_constant=_no_constant, parse_int=_parse_int, parse_float=_parse_float
        )
    except RecursionError as exc:
        raise InvalidMetadataError(_too_deep()) from exc
    except json.JSONDecodeError as exc:
        raise InvalidMetadataError(f"metadata is invalid JSON: {exc.msg}") from exc
    return check_metadata(value)


def check_metadata(value: Any) -> dict[str, Any]:
    """`value` unchanged when it is a storable metadata object, else InvalidMetadataError."""
    if not isinstance(value, dict):
        raise InvalidMetadataError("metadata must be a JSON object")
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_METADATA_DEPTH:
            raise InvalidMetadataError(_too_deep())
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise InvalidMetadataError("metadata keys must be strings")
                _check_string(key)
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        else:
            _check_scalar(item)
    return value


def _check_scalar(item: Any) -> None:
    if item is None or isinstance(item, bool):
        return
    if isinstance(item, str):
        _check_string(item)
    elif isinstance(item, int):
        if not MIN_INT <= item <= MAX_INT:
            raise InvalidMetadataError(
                f"metadata integers must fit 64 bits, got {item.bit_length()} bits"
            )
    elif isinstance(item, float):
        if not math.isfinite(item):
            raise InvalidMetadataError(f"metadata numbers must be finite, got {item}")
    else:
        raise InvalidMetadataError(f"metadata cannot hold a {type(item).__name__}")


def _check_string(item: str) -> None:
    try:
        check_text("a metadata string", item, max_length=MAX_METADATA_BYTES)
    except InvalidValueError as exc:
        raise InvalidMetadataError(exc.message) from exc


def _no_constant(name: str) -> Any:
    raise InvalidMetadataError(f"metadata numbers must be finite; JSON has no {name}")


def _parse_int(spelling: str) -> int:
    if len(spelling) > MAX_INT_DIGITS:
        raise InvalidMetadataError(f"metadata integers must fit 64 bits ({len(spelling)} digits)")
    return int(spelling)


def _parse_float(spelling: str) -> float:
    value = float(spelling)
    if not math.isfinite(value):
        raise InvalidMetadataError(f"metadata numbers must be finite, got {spelling[:40]}")
    return value


def _too_deep() -> str:
    return f"metadata is nested deeper than {MAX_METADATA_DEPTH} levels"
