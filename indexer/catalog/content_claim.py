"""Exact-duplicate detection: each distinct file content has one canonical image row.

A row claims its content by setting `content_key` (unique) to its SHA-256. Claims are made
for a whole batch in one savepoint; if a concurrent writer claimed one of the same contents
meanwhile (a unique violation), the batch falls back to claiming row by row.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from indexer.catalog.schema import Image


def claim_contents(session: Session, rows: Sequence[Image]) -> dict[int, int | None]:
    """Row id -> the id of the canonical row holding its content, or None if it is itself
    canonical (now or already). Rows need `sha256` set; the session is flushed."""
    shas = {row.sha256 for row in rows}
    holders: dict[str, int] = {
        key: image_id
        for key, image_id in session.execute(
            select(Image.content_key, Image.id).where(Image.content_key.in_(shas))
        )
        if key is not None
    }
    result: dict[int, int | None] = {}
    claims: list[Image] = []
    for row in rows:
        holder = holders.get(row.sha256 or "")
        if holder is None:  # first of its content: this row claims it
            holders[row.sha256 or ""] = row.id
            claims.append(row)
        result[row.id] = None if holder in (None, row.id) else holder
    try:
        with session.begin_nested():
            for row in claims:
                row.content_key = row.sha256
            session.flush()
    except IntegrityError:  # raced by another writer: settle every row on its own, in order
        for row in claims:
            row.content_key = None
        for row in rows:
            result[row.id] = claim_content(session, row)
    return result


def claim_content(session: Session, row: Image) -> int | None:
    """Make `row` the canonical copy of its content; return the holder's id if another row is."""
    holder = session.scalar(select(Image.id).where(Image.content_key == row.sha256))
    if holder is not None and holder != row.id:
        return holder
    try:
        with session.begin_nested():
            row.content_key = row.sha256
            session.flush()
    except IntegrityError:
        row.content_key = None
        return session.scalar(select(Image.id).where(Image.content_key == row.sha256))
    return None
