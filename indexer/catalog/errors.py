"""Typed errors of the indexer; each knows its HTTP status and a stable code."""

from __future__ import annotations


class LookalikeError(Exception):
    """Base of every error the product reports to a user."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(LookalikeError):
    code = "config_error"


class BadRequestError(LookalikeError):
    status = 400
    code = "bad_request"


class ForbiddenError(LookalikeError):
    """A request for something this server is configured not to allow."""

    status = 403
    code = "forbidden"


class NotFoundError(LookalikeError):
    status = 404
    code = "not_found"


class InvalidValueError(BadRequestError):
    """A text, number or JSON value the catalog cannot store (too long, NUL, NaN, too deep)."""

    code = "invalid_value"


class InvalidMetadataError(InvalidValueError):
    code = "invalid_metadata"


class ConflictError(LookalikeError):
    """A write that collides with the catalog's current state (a unique name or uri taken)."""

    status = 409
    code = "conflict"


class UriConflictError(ConflictError):
    code = "uri_conflict"


class StorageFullError(LookalikeError):
    """The disk (or the database's) is full: nothing was stored, the request can be retried."""

    status = 507
    code = "insufficient_storage"


class NotIndexedError(NotFoundError):
    """A catalog row whose file was never indexed (pending, failed, cancelled): not served."""

    code = "not_indexed"


class FileChangedError(LookalikeError):
    """A catalog file that is no longer the one indexed (rewritten, swapped, now a symlink)."""

    status = 409
    code = "file_changed"


class ImageError(LookalikeError):
    """An input that cannot become an RGB image; permanent, never retried."""

    status = 400
    code = "invalid_image"


class NotAnImageError(ImageError):
    code = "not_an_image"


class UnsupportedImageError(ImageError):
    status = 415
    code = "unsupported_image_type"


class ImageTooLargeError(ImageError):
    status = 413
    code = "image_too_large"


class FileTooLargeError(ImageTooLargeError):
    """A file over the size limit of catalog reads (LOOKALIKE_MAX_FILE_MB)."""

    code = "file_too_large"


class DecodeBudgetError(ImageError):
    """An image whose decoding would cost more memory, time or JPEG scans than allowed."""

    status = 422
    code = "decode_budget_exceeded"


class BrokerUnavailableError(LookalikeError):
    """The task broker (Redis) does not accept work; nothing was created."""

    status = 503
    code = "broker_unavailable"


class TooManyFilesError(LookalikeError):
    """A bulk source that lists more images than one job may hold."""

    status = 413
    code = "too_many_files"


class ModelError(LookalikeError):
    code = "model_error"
