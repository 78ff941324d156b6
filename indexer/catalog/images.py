"""The `images` rows: the catalog's items and their state (the SQL of the table lives here;
their vectors and the change log are `indexer.catalog.vectors`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from indexer.catalog.database import lock_registration
from indexer.catalog.errors import NotFoundError, UriConflictError
from indexer.catalog.fields import MAX_URI, check_metadata, check_text, in_id_range
from indexer.catalog.public_names import public_text, public_uri
from indexer.catalog.schema import Image, ImageStatus
from indexer.catalog.vectors import drop_vectors, log_delete

ID_SLICE = 1024  # ids bound per query where many are read


# -- reading rows ---------------------------------------------------------------------------


def get_image(session: Session, image_id: int) -> Image:
    image = session.get(Image, image_id) if in_id_range(image_id) else None
    if image is None:
        raise NotFoundError(f"image {image_id} not found")
    return image


def find_by_uri(session: Session, uri: str) -> Image | None:
    return session.scalars(select(Image).where(Image.uri == uri)).first()


def find_by_content(session: Session, sha256: str) -> Image | None:
    """The canonical row of a content (the one that claimed it), if any."""
    return session.scalars(select(Image).where(Image.content_key == sha256)).first()


def rows_by_uri(session: Session, uris: Iterable[str]) -> dict[str, Image]:
    """The rows of those `uris` that are in the catalog, by uri."""
    query = select(Image).where(Image.uri.in_(list(uris)))
    return {row.uri: row for row in session.scalars(query)}


def rows_by_id(session: Session, ids: Iterable[int]) -> dict[int, Image | None]:
    """The rows of `ids`; None for ids no longer in the catalog."""
    wanted = set(ids)
    if not wanted:
        return {}
    found = session.scalars(select(Image).where(Image.id.in_(wanted))).all()
    return {i: None for i in wanted} | {row.id: row for row in found}


def pending_rows(session: Session, ids: Iterable[int]) -> Sequence[Image]:
    """The pending rows among `ids`, by id."""
    query = select(Image).where(Image.id.in_(list(ids)), Image.status == ImageStatus.PENDING)
    return session.scalars(query.order_by(Image.id)).all()


def indexed_rows(session: Session, ids: Iterable[int]) -> Sequence[Image]:
    """The indexed rows among `ids`."""
    query = select(Image).where(Image.id.in_(list(ids)), Image.status == ImageStatus.INDEXED)
    return session.scalars(query).all()


def file_paths(session: Session, ids: Iterable[int]) -> list[tuple[int, Path]]:
    """(id, file) of those `ids` in the catalog; a row without a path is its uri's file."""
    query = select(Image.id, Image.path, Image.uri).where(Image.id.in_([int(i) for i in ids]))
    return [(int(i), Path(path or uri)) for i, path, uri in session.execute(query)]


def public_uris(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """The public uris (never server paths) of those `ids` still in the catalog."""
    result: dict[int, str] = {}
    columns = (Image.id, Image.uri, Image.path, Image.name)
    for start in range(0, len(ids), ID_SLICE):
        chunk = ids[start : start + ID_SLICE]
        rows = session.execute(select(*columns).where(Image.id.in_(chunk)))
        result.update({int(row.id): public_uri(row) for row in rows})
    return result


def exact_copies(session: Session) -> list[tuple[int, int, str]]:
    """(id, id of the canonical row, public uri) of every row marked a duplicate of another."""
    query = select(Image.id, Image.uri, Image.path, Image.name, Image.duplicate_of).where(
        Image.status == ImageStatus.DUPLICATE, Image.duplicate_of.is_not(None)
    )
    return [
        (int(row.id), int(row.duplicate_of or 0), public_uri(row)) for row in session.execute(query)
    ]


# -- counting, per job or overall -----------------------------------------------------------


def status_counts(session: Session, *, job_id: int | None = None) -> dict[str, int]:
    """Rows per status: of the whole catalog, or of one job."""
    query = select(Image.status, func.count()).group_by(Image.status)
    if job_id is not None:
        query = query.where(Image.job_id == job_id)
    return {str(status): count for status, count in session.execute(query)}


def count_indexed(session: Session) -> int:
    query = select(func.count()).select_from(Image).where(Image.status == ImageStatus.INDEXED)
    return session.scalar(query) or 0


def count_pending(session: Session, job_id: int) -> int:
    """How many of the job's rows are still pending."""
    query = (
        select(func.count())
        .select_from(Image)
        .where(Image.job_id == job_id, Image.status == ImageStatus.PENDING)
    )
    return session.scalar(query) or 0


def job_failures(
    session: Session, job_id: int
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(uri, reason) of the job's failed rows, and the same with public names."""
    rows = session.execute(
        select(Image.uri, Image.path, Image.name, Image.error)
        .where(Image.job_id == job_id, Image.status == ImageStatus.FAILED)
        .order_by(Image.id)
    ).all()
    own = [(row.uri, row.error or "") for row in rows]
    shown = [(public_uri(row), public_text(row, row.error) or "") for row in rows]
    return own, shown


# -- writing --------------------------------------------------------------------------------


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


def insert_pending(
    session: Session,
    files: Iterable[tuple[str, str | None, dict[str, Any] | None]],
    *,
    job_id: int | None,
) -> list[Image]:
    """Insert a pending row per (uri, name, metadata) of a file (its path is the uri) under
    `job_id`; flushed, so the rows have their ids."""
    rows = [
        Image(
            uri=uri,
            path=uri,
            name=name,
            status=ImageStatus.PENDING,
            job_id=job_id,
            meta=metadata or {},
        )
        for uri, name, metadata in files
    ]
    session.add_all(rows)
    session.flush()
    return rows


def delete_image(session: Session, image_id: int) -> Image:
    """Delete a row and log the deletion for every search process."""
    image = get_image(session, image_id)
    session.delete(image)
    log_delete(session, image_id)
    session.flush()
    return image


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
    drop_vectors(session, ids)
    for row in every:
        if row.status == ImageStatus.INDEXED:
            log_delete(session, row.id)
        row.status, row.error, row.job_id = ImageStatus.PENDING, None, job_id
        row.duplicate_of, row.content_key = None, None
    session.flush()
    return [row.id for row in every]


def cancel_pending(session: Session, job_id: int) -> None:
    """Mark the job's pending rows cancelled, so workers skip them."""
    session.execute(
        update(Image)
        .where(Image.job_id == job_id, Image.status == ImageStatus.PENDING)
        .values(status=ImageStatus.CANCELLED, error="job cancelled")
    )
