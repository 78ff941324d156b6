"""Catalog row operations shared by bulk indexing and the API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from indexer.catalog.database import lock_registration
from indexer.catalog.errors import NotFoundError, UriConflictError
from indexer.catalog.fields import MAX_URI, check_metadata, check_text, in_id_range
from indexer.catalog.schema import ChangeOp, Embedding, Image, ImageStatus, IndexChange


def get_image(session: Session, image_id: int) -> Image:
    image = session.get(Image, image_id) if in_id_range(image_id) else None
    if image is None:
        raise NotFoundError(f"image {image_id} not found")
    return image


def find_by_uri(session: Session, uri: str) -> Image | None:
    return session.scalars(select(Image).where(Image.uri == uri)).first()


def create_pending(
    session: Session, *, uri: str, path: str | None, metadata: dict[str, Any] | None = None
) -> Image:
    """Insert one pending row (used for API uploads); UriConflictError when `uri` is taken."""
    row = Image(
        uri=check_text("uri", uri, max_length=MAX_URI),
        path=path,
        status=ImageStatus.PENDING,
        meta=check_metadata(metadata or {}),
    )
    lock_registration(session)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent upload took the uri since the caller looked
        raise UriConflictError(f"uri {uri!r} is already in the catalog") from exc
    return row


def delete_image(session: Session, image_id: int) -> Image:
    """Delete a row and log the deletion for every search process."""
    image = get_image(session, image_id)
    session.delete(image)
    session.add(IndexChange(image_id=image_id, op=ChangeOp.DELETE))
    session.flush()
    return image


def embedding_versions(session: Session, image_id: int) -> list[str]:
    """The model versions that hold a vector of this image."""
    query = select(Embedding.model_version).where(Embedding.image_id == image_id)
    return sorted(session.scalars(query))


def indexed_ids(session: Session, version: str) -> list[int]:
    """Ids of the indexed images that have a vector of model `version`, ascending."""
    query = (
        select(Embedding.image_id)
        .join(Image, Image.id == Embedding.image_id)
        .where(Embedding.model_version == version, Image.status == ImageStatus.INDEXED)
        .order_by(Embedding.image_id)
    )
    return list(session.scalars(query))


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
