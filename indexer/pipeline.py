"""The core of indexing: read, hash, decode, de-duplicate, embed and store a batch of rows."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from indexer.decode import decode_image, read_bytes
from indexer.embedder import Embedder
from indexer.errors import ImageError
from indexer.models import ChangeOp, Image, ImageStatus, IndexChange


@dataclass
class BatchReport:
    indexed: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)  # (id, reason)


def embed_images(
    session: Session, embedder: Embedder, image_ids: list[int], *, max_pixels: int
) -> BatchReport:
    """Index the pending rows among `image_ids`; idempotent, so a redelivered batch is harmless.

    Permanent problems (unreadable or undecodable files) mark the row failed with the reason;
    anything else raises, leaving the rows pending for a retry.
    """
    report = BatchReport()
    rows = session.scalars(
        select(Image)
        .where(Image.id.in_(image_ids), Image.status == ImageStatus.PENDING)
        .order_by(Image.id)
    ).all()
    decoded: list[tuple[Image, PILImage.Image]] = []
    for row in rows:
        image = _prepare(session, row, embedder, max_pixels, report)
        if image is not None:
            decoded.append((row, image))
    vectors = embedder.embed([image for _, image in decoded])  # (n, D)
    for (row, _), vector in zip(decoded, vectors, strict=True):
        store_vector(session, row, vector, embedder.version)
        report.indexed.append(row.id)
    session.flush()
    return report


def store_vector(session: Session, row: Image, vector: np.ndarray, version: str) -> None:
    """Attach a vector to a row and log the upsert for the search processes."""
    row.vector = np.asarray(vector, dtype=np.float32).tobytes()
    row.model_version = version
    row.status = ImageStatus.INDEXED
    row.error = None
    session.add(IndexChange(image_id=row.id, op=ChangeOp.UPSERT))


def _prepare(
    session: Session, row: Image, embedder: Embedder, max_pixels: int, report: BatchReport
) -> PILImage.Image | None:
    try:
        data = read_bytes(Path(row.path or row.uri))
        row.sha256 = hashlib.sha256(data).hexdigest()
        row.size_bytes = len(data)
        image = decode_image(data, max_pixels=max_pixels, draft_size=embedder.draft_size)
    except ImageError as exc:
        row.status, row.error = ImageStatus.FAILED, exc.message
        report.failed.append((row.id, exc.message))
        return None
    row.width, row.height = image.size
    canonical = _claim_content(session, row)
    if canonical is not None:
        row.status, row.duplicate_of = ImageStatus.DUPLICATE, canonical
        report.duplicates.append(row.id)
        return None
    return image


def _claim_content(session: Session, row: Image) -> int | None:
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
