"""Typed errors of the search layer."""

from __future__ import annotations

from indexer.catalog.errors import BadRequestError, LookalikeError


class IndexNotReadyError(LookalikeError):
    status = 503
    code = "index_not_ready"


class NotIndexedError(LookalikeError):
    status = 409
    code = "not_indexed"


class InvalidKError(BadRequestError):
    code = "invalid_k"


class InvalidFilterError(BadRequestError):
    code = "invalid_filter"


class SnapshotError(LookalikeError):
    code = "snapshot_error"


class InvalidGridError(BadRequestError):
    code = "invalid_grid"
