"""Catalog row operations shared by bulk indexing and the API."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from indexer.db import lock_registration
from indexer.errors import NotFoundError, UriConflictError
from indexer.fields import MAX_URI, check_metadata, check_text, in_id_range
from indexer.job_liveness import retire_dead_jobs
from indexer.models import ChangeOp, Embedding, Image, ImageStatus, IndexChange
from indexer.sources import SourceFile
from indexer.updates import needs_embedding, requeue


def get_image(session: Session, image_id: int) -> Image:
    image = session.get(Image, image_id) if in_id_range(image_id) else None
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
    lease_s: float = 120.0,
    tally: Counter[str] | None = None,
) -> tuple[list[int], int]:
    """Insert pending rows for new uris and requeue known ones whose file changed, or that
    a dead job left pending (see `job_liveness`; `lease_s` is its silence limit).

    Manifest metadata replaces a known row's. Return (ids to embed, skipped unchanged uris);
    `tally` counts the skipped rows by status and the resumed ones under "resumed".
    """
    lock_registration(session)
    items = [f if isinstance(f, SourceFile) else SourceFile(Path(f)) for f in files]
    ids: list[int] = []
    known: set[int] = set()  # ids of the files' rows that existed before
    tally = Counter() if tally is None else tally
    for start in range(0, len(items), chunk):
        part = {str(item.path): item for item in items[start : start + chunk]}
        ids.extend(_register_chunk(session, part, job_id, known, lease_s, tally))
    return ids, len(known - set(ids))


def _register_chunk(
    session: Session,
    part: dict[str, SourceFile],
    job_id: int | None,
    known_ids: set[int],
    lease_s: float,
    tally: Counter[str],
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
    pending = [row for row in known.values() if row.status == ImageStatus.PENDING]
    dead = retire_dead_jobs(session, {row.job_id for row in pending}, lease_s=lease_s)
    stranded = [row for row in pending if row.job_id is None or row.job_id in dead]
    changed = [row for row in known.values() if needs_embedding(row)]
    requeued = requeue(session, changed + stranded, job_id=job_id)
    tally["resumed"] += len(stranded)
    again = set(requeued)
    tally.update(row.status for row in known.values() if row.id not in again)
    return [row.id for row in rows] + requeued


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
