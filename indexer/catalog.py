"""Catalog row operations shared by bulk indexing and the API."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from indexer.errors import NotFoundError
from indexer.models import ChangeOp, Embedding, Image, ImageStatus, IndexChange


def get_image(session: Session, image_id: int) -> Image:
    image = session.get(Image, image_id)
    if image is None:
        raise NotFoundError(f"image {image_id} not found")
    return image


def find_by_uri(session: Session, uri: str) -> Image | None:
    return session.scalars(select(Image).where(Image.uri == uri)).first()


def register_files(
    session: Session, files: Sequence[Path], *, job_id: int | None = None, chunk: int = 500
) -> tuple[list[int], int]:
    """Insert pending rows for files whose uri is new; return (new ids, skipped known uris)."""
    new_ids: list[int] = []
    skipped = 0
    for start in range(0, len(files), chunk):
        part = files[start : start + chunk]
        uris = [str(p) for p in part]
        known = set(session.scalars(select(Image.uri).where(Image.uri.in_(uris))))
        rows = [
            Image(uri=uri, path=uri, status=ImageStatus.PENDING, job_id=job_id, meta={})
            for uri in uris
            if uri not in known
        ]
        skipped += len(known)
        session.add_all(rows)
        session.flush()
        new_ids.extend(row.id for row in rows)
    return new_ids, skipped


def create_pending(
    session: Session, *, uri: str, path: str, metadata: dict[str, Any] | None = None
) -> Image:
    """Insert one pending row (used for API uploads)."""
    row = Image(uri=uri, path=path, status=ImageStatus.PENDING, meta=metadata or {})
    session.add(row)
    session.flush()
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
