"""The bytes of an indexed image, exactly as they were indexed, or a refusal that says why.

A catalog row names a file on disk; what lies there at request time may no longer be what
was indexed: rewritten, swapped for a symlink to a secret, or a page of HTML with an image's
name. Only rows that were read and hashed (indexed, or exact duplicates of an indexed row)
are served; the file is opened without following a final symlink, must be a regular file
of the recorded size, and its bytes must hash to the recorded sha256. The media type comes
from the decoded format, never from the file name.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image as PILImage
from PIL import UnidentifiedImageError
from sqlalchemy.orm import Session

from indexer.catalog.errors import (
    FileChangedError,
    FileTooLargeError,
    ImageError,
    NotFoundError,
    NotIndexedError,
)
from indexer.catalog.images import get_image
from indexer.catalog.public_names import public_uri
from indexer.catalog.reading import read_bytes
from indexer.catalog.schema import ImageStatus

SERVED = frozenset({ImageStatus.INDEXED, ImageStatus.DUPLICATE})
# Pillow formats a browser shows inline, and the media type to send them as.
WEB_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",  # a JPEG with extra frames; browsers show the first
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
    "AVIF": "image/avif",
}


@dataclass(frozen=True)
class StoredFile:
    """What the catalog recorded about an image's file when it was indexed."""

    image_id: int
    path: str
    sha256: str
    size_bytes: int
    name: str  # what a client may see (never a server path)


@dataclass(frozen=True)
class IndexedFile:
    data: bytes
    sha256: str
    mimetype: str
    inline: bool  # a format browsers display (else offered as a download)
    name: str


def stored_file(session: Session, image_id: int) -> StoredFile:
    """The recorded file of an indexed image; NotIndexedError for any other row."""
    row = get_image(session, image_id)
    if row.status not in SERVED:
        raise NotIndexedError(f"image {image_id} is {row.status}, not indexed: nothing to serve")
    if not row.sha256 or row.size_bytes is None or not (row.path or row.uri):
        raise NotIndexedError(f"image {image_id} has no recorded content to serve")
    return StoredFile(image_id, row.path or row.uri, row.sha256, row.size_bytes, public_uri(row))


def read_indexed(stored: StoredFile) -> IndexedFile:
    """Read the file once and return its bytes if they are still the indexed ones."""
    data = _read_regular(stored)
    if hashlib.sha256(data).hexdigest() != stored.sha256:
        raise FileChangedError(
            f"the file of image {stored.image_id} changed since it was indexed "
            "(its content hash differs); re-index it to serve it again"
        )
    mimetype, inline = media_type(data)
    return IndexedFile(data, stored.sha256, mimetype, inline, stored.name)


def media_type(data: bytes) -> tuple[str, bool]:
    """The media type of the format Pillow detects in `data`, and whether browsers show it."""
    try:
        with PILImage.open(io.BytesIO(data)) as image:
            fmt = image.format or ""
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return "application/octet-stream", False
    if fmt in WEB_TYPES:
        return WEB_TYPES[fmt], True
    return PILImage.MIME.get(fmt, "application/octet-stream"), False


def _read_regular(stored: StoredFile) -> bytes:
    """The file's bytes through the catalog's safe reader (a regular file, no final symlink,
    at most the recorded size); refusals name the image, never the server path."""
    changed = f"the file of image {stored.image_id} changed since it was indexed"
    try:
        data = read_bytes(Path(stored.path), max_bytes=stored.size_bytes, follow_symlinks=False)
    except FileTooLargeError as exc:  # it grew
        raise FileChangedError(f"{changed} (its size differs)") from exc
    except ImageError as exc:
        if isinstance(exc.__cause__, FileNotFoundError):
            raise NotFoundError(f"the file of image {stored.image_id} is gone") from exc
        raise FileChangedError(f"{changed} (it is no longer a readable regular file)") from exc
    if len(data) != stored.size_bytes:
        raise FileChangedError(f"{changed} (its size differs)")
    return data
