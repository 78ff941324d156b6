"""Updates: notice that a known file changed and send its row back to be embedded again.

A file changed when its size differs from the row's, or its mtime differs and so does its
content hash (a `touch` alone re-embeds nothing). Requeued rows leave the index at once (a
logged delete), lose their old vectors and content claim, and come back with the next upsert.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from indexer.catalog.errors import ImageError
from indexer.catalog.reading import read_bytes
from indexer.catalog.schema import Image, ImageStatus

RECHECKED = frozenset({ImageStatus.INDEXED, ImageStatus.DUPLICATE, ImageStatus.FAILED})


def needs_embedding(row: Image) -> bool:
    """Whether a known row must be embedded again: cancelled before, or its file changed."""
    if row.status == ImageStatus.CANCELLED:
        return True
    return row.status in RECHECKED and file_changed(row)


def file_changed(row: Image) -> bool:
    """Compare the file with what was last read into `row` (size, mtime, then sha256)."""
    path = Path(row.path or row.uri)
    try:
        stat = path.stat()
    except OSError:
        return False  # a vanished file is a delete, not an update
    if row.size_bytes is None:  # never read: unreadable before, perhaps readable now
        return row.status == ImageStatus.FAILED
    if stat.st_size != row.size_bytes:
        return True
    if row.mtime_ns == stat.st_mtime_ns:
        return False
    try:  # regular files only: a pipe swapped in must not hang the registration
        digest = hashlib.sha256(read_bytes(path, follow_symlinks=False)).hexdigest()
    except ImageError:
        return True  # unreadable now: embed again, so the row fails with the reason
    if digest != row.sha256:
        return True
    row.mtime_ns = stat.st_mtime_ns  # touched, not changed: remember, so it is not hashed again
    return False
