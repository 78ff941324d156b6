"""Updates: notice that a known file changed and send its row back to be embedded again.

A file changed when its size differs from the row's, or its mtime differs and so does its
content hash (a `touch` alone re-embeds nothing). Requeued rows leave the index at once (a
logged delete), lose their old vectors and content claim, and come back with the next upsert.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from indexer.errors import ImageError
from indexer.models import ChangeOp, Embedding, Image, ImageStatus, IndexChange
from indexer.reading import read_bytes

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


def requeue(session: Session, rows: Sequence[Image], *, job_id: int | None) -> list[int]:
    """Make `rows` pending under `job_id`, with any duplicates that pointed at them."""
    ids = [row.id for row in rows]
    if not ids:
        return []
    orphans = session.scalars(
        select(Image).where(Image.duplicate_of.in_(ids), Image.status == ImageStatus.DUPLICATE)
    ).all()
    own = set(ids)
    every = list(rows) + [row for row in orphans if row.id not in own]
    session.execute(delete(Embedding).where(Embedding.image_id.in_(ids)))
    for row in every:
        if row.status == ImageStatus.INDEXED:
            session.add(IndexChange(image_id=row.id, op=ChangeOp.DELETE))
        row.status, row.error, row.job_id = ImageStatus.PENDING, None, job_id
        row.duplicate_of, row.content_key = None, None
    session.flush()
    return [row.id for row in every]
