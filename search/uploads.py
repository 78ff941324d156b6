"""Add one uploaded image to the catalog and make it searchable before returning."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from indexer.catalog import create_pending, find_by_uri
from indexer.decode import decode_image
from indexer.errors import BadRequestError, ImageError
from indexer.models import Image, ImageStatus
from indexer.pipeline import embed_images
from indexer.resources import active_embedders
from indexer.storage import store_bytes
from search.runtime import Runtime

VALIDATE_SIDE = 512  # uploads are decoded down to about this side to be checked


@dataclass(frozen=True)
class AddResult:
    image: Image
    created: bool


def add_image(
    runtime: Runtime, data: bytes, *, uri: str | None = None, metadata: dict[str, Any] | None = None
) -> AddResult:
    """Validate, store and embed an upload; an identical image already indexed is returned as is."""
    settings = runtime.settings
    # Reject bad input before storing anything, within the decode budget (422 beyond it).
    decode_image(
        data,
        max_pixels=settings.max_pixels,
        draft_size=VALIDATE_SIDE,
        budget=settings.decode_budget,
    )
    sha = hashlib.sha256(data).hexdigest()
    with runtime.sessions.begin() as session:
        existing = session.scalars(select(Image).where(Image.content_key == sha)).first()
        if existing is not None:
            return AddResult(existing, created=False)
        uri = uri or f"upload://{sha}"
        if find_by_uri(session, uri) is not None:
            raise BadRequestError(f"uri {uri!r} is already in the catalog with other content")
    path = store_bytes(settings.upload_dir, data)
    embedders = active_embedders(settings, runtime.sessions)
    with runtime.sessions() as session:
        row = create_pending(session, uri=uri, path=str(path), metadata=metadata)
        report = embed_images(session, embedders, [row.id], max_pixels=settings.max_pixels)
        if report.failed:
            session.rollback()
            raise ImageError(report.failed[0][1])
        if report.duplicates:  # another request stored the same content meanwhile
            session.rollback()
            canonical = session.scalars(select(Image).where(Image.content_key == sha)).one()
            return AddResult(canonical, created=False)
        assert row.status == ImageStatus.INDEXED
        session.commit()
    runtime.index_sync.catch_up()
    return AddResult(row, created=True)
