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


class TooManyFilesError(LookalikeError):
    """A bulk source that lists more images than one job may hold."""

    status = 413
    code = "too_many_files"


class ModelError(LookalikeError):
    code = "model_error"
