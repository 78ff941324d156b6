"""The add-image write path: validate, store and embed one uploaded image."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from indexer.catalog.database import SessionFactory
from indexer.catalog.errors import ImageError, UriConflictError
from indexer.catalog.fields import MAX_URI, check_metadata, check_text
from indexer.catalog.images import create_pending, find_by_uri
from indexer.catalog.schema import Image, ImageStatus
from indexer.catalog.settings import Settings
from indexer.encoder.decode import decode_image
from indexer.encoder.embedder import Embedder
from indexer.encoder.resources import active_embedders
from indexer.ingest.pipeline import embed_images
from indexer.ingest.storage import store_bytes

VALIDATE_SIDE = 512  # uploads are decoded down to about this side to be checked


@dataclass(frozen=True)
class AddResult:
    image: Image
    created: bool


def add_image(
    settings: Settings,
    sessions: SessionFactory,
    data: bytes,
    *,
    uri: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> AddResult:
    """Validate, store and embed an upload; an identical image already indexed is returned as is.

    A uri another row holds raises UriConflictError (409), also when a concurrent upload takes
    it first; a full disk raises StorageFullError (507). Either way nothing is left behind.
    The caller makes a created image searchable (its index catches up with the catalog).
    """
    metadata = check_metadata(metadata or {})
    if uri is not None:
        check_text("uri", uri, max_length=MAX_URI)
    # Reject bad input before storing anything, within the decode budget (422 beyond it).
    decode_image(
        data,
        max_pixels=settings.max_pixels,
        draft_size=VALIDATE_SIDE,
        budget=settings.decode_budget,
    )
    sha = hashlib.sha256(data).hexdigest()
    with sessions.begin() as session:
        existing = session.scalars(select(Image).where(Image.content_key == sha)).first()
        if existing is not None:
            return AddResult(existing, created=False)
        uri = uri or f"upload://{sha}"
        if find_by_uri(session, uri) is not None:
            raise UriConflictError(f"uri {uri!r} is already in the catalog with other content")
    embedders = active_embedders(settings, sessions)
    with sessions() as session:
        row = create_pending(session, uri=uri, path=None, metadata=metadata)  # claims the uri
        return _store_and_embed(session, row, data, embedders=embedders, settings=settings)


def _store_and_embed(
    session: Session,
    row: Image,
    data: bytes,
    *,
    embedders: Sequence[Embedder],
    settings: Settings,
) -> AddResult:
    """Store the bytes of the claimed `row`, embed and commit; remove a new file on failure."""
    sha = hashlib.sha256(data).hexdigest()
    fresh = not (settings.upload_dir / sha).exists()
    path = store_bytes(settings.upload_dir, data)
    try:
        row.path = str(path)
        report = embed_images(session, embedders, [row.id], max_pixels=settings.max_pixels)
        if report.failed:
            raise ImageError(report.failed[0][1])
        if report.duplicates:  # another request stored the same content meanwhile
            session.rollback()
            canonical = session.scalars(select(Image).where(Image.content_key == sha)).one()
            if fresh and canonical.path != str(path):
                path.unlink(missing_ok=True)
            return AddResult(canonical, created=False)
        assert row.status == ImageStatus.INDEXED
        session.commit()
    except BaseException:
        session.rollback()
        if fresh:
            path.unlink(missing_ok=True)
        raise
    return AddResult(row, created=True)
