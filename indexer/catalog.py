"""Catalog row operations shared by bulk indexing and the API."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from indexer.db import lock_registration
from indexer.errors import NotFoundError
from indexer.models import ChangeOp, Embedding, Image, ImageStatus, IndexChange
from indexer.sources import SourceFile
from indexer.updates import needs_embedding, requeue


def get_image(session: Session, image_id: int) -> Image:
    image = session.get(Image, image_id)
    if image is None:
        raise NotFoundError(f"image {image_id} not found")
    return image


def find_by_uri(session: Session, uri: str) -> Image | None:
    return session.scalars(select(Image).where(Image.uri == uri)).first()


def register_files(
    session: Session,
    files: Sequence[Path | SourceFile],
    *,
    job_id: int | None = None,
    chunk: int = 500,
) -> tuple[list[int], int]:
    """Insert pending rows for new uris and requeue known ones whose file changed.

    Manifest metadata replaces a known row's. Return (ids to embed, skipped unchanged uris).
    """
    lock_registration(session)
    items = [f if isinstance(f, SourceFile) else SourceFile(Path(f)) for f in files]
    ids: list[int] = []
    known: set[int] = set()  # ids of the files' rows that existed before
    for start in range(0, len(items), chunk):
        part = {str(item.path): item for item in items[start : start + chunk]}
        ids.extend(_register_chunk(session, part, job_id, known))
    return ids, len(known - set(ids))


def _register_chunk(
    session: Session, part: dict[str, SourceFile], job_id: int | None, known_ids: set[int]
) -> list[int]:
    query = select(Image).where(Image.uri.in_(list(part)))
    known = {row.uri: row for row in session.scalars(query)}
    known_ids.update(row.id for row in known.values())
    rows = [
        Image(
            uri=uri,
            path=uri,
            name=item.name,
            status=ImageStatus.PENDING,
            job_id=job_id,
            meta=item.metadata or {},
        )
        for uri, item in part.items()
        if uri not in known
    ]
    session.add_all(rows)
    session.flush()
    for uri, row in known.items():
        metadata = part[uri].metadata
        if metadata is not None and metadata != row.meta:
            row.meta = metadata
        if part[uri].name is not None:  # the name under the source it was named from now
            row.name = part[uri].name
    changed = [row for row in known.values() if needs_embedding(row)]
    return [row.id for row in rows] + requeue(session, changed, job_id=job_id)


def create_pending(
    session: Session, *, uri: str, path: str, metadata: dict[str, Any] | None = None
) -> Image:
    """Insert one pending row (used for API uploads)."""
    lock_registration(session)
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


def indexed_ids(session: Session, version: str) -> list[int]:
    """Ids of the indexed images that have a vector of model `version`, ascending."""
    query = (
        select(Embedding.image_id)
        .join(Image, Image.id == Embedding.image_id)
        .where(Embedding.model_version == version, Image.status == ImageStatus.INDEXED)
        .order_by(Embedding.image_id)
    )
    return list(session.scalars(query))
