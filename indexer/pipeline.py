"""The core of indexing: read, hash, decode, de-duplicate, embed and store a batch of rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from indexer.embedder import Embedder
from indexer.loading import LoadedFile, load_files
from indexer.models import ChangeOp, Embedding, Image, ImageStatus, IndexChange


@dataclass
class BatchReport:
    indexed: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)  # (id, reason)


def embed_images(
    session: Session,
    embedders: Sequence[Embedder],
    image_ids: list[int],
    *,
    max_pixels: int,
    decode_threads: int = 1,
) -> BatchReport:
    """Index the pending rows among `image_ids` with every given model (serving first).

    Idempotent, so a redelivered batch is harmless. Permanent problems (unreadable or
    undecodable files) mark the row failed with the reason; anything else raises, leaving
    the rows pending for a retry.
    """
    report = BatchReport()
    rows = session.scalars(
        select(Image)
        .where(Image.id.in_(image_ids), Image.status == ImageStatus.PENDING)
        .order_by(Image.id)
    ).all()
    files = load_files(
        [_path(row) for row in rows],
        draft_size=embedders[0].draft_size,
        max_pixels=max_pixels,
        threads=decode_threads,
        prepare=embedders[0].prepare,  # the serving model's inputs, made in the threads too
    )
    decoded: list[tuple[Image, LoadedFile]] = []
    for row, loaded in zip(rows, files, strict=True):
        if _prepare(session, row, loaded, report) is not None:
            decoded.append((row, loaded))
    for position, embedder in enumerate(embedders):
        ready = position == 0 and all(f.array is not None for _, f in decoded)
        _embed_and_store(session, embedder, decoded, prepared=ready)
    for row, _ in decoded:
        row.status, row.error = ImageStatus.INDEXED, None
        report.indexed.append(row.id)
    session.flush()
    return report


def embed_for_version(
    session: Session,
    embedder: Embedder,
    image_ids: list[int],
    *,
    max_pixels: int,
    decode_threads: int = 1,
) -> BatchReport:
    """Add `embedder`'s vectors to indexed rows that lack them (a reindex); idempotent."""
    report = BatchReport()
    have = set(
        session.scalars(
            select(Embedding.image_id).where(
                Embedding.image_id.in_(image_ids), Embedding.model_version == embedder.version
            )
        )
    )
    rows = session.scalars(
        select(Image).where(Image.id.in_(image_ids), Image.status == ImageStatus.INDEXED)
    ).all()
    todo = [r for r in rows if r.id not in have]
    files = load_files(
        [_path(r) for r in todo],
        draft_size=embedder.draft_size,
        max_pixels=max_pixels,
        threads=decode_threads,
    )
    decoded = []
    for row, loaded in zip(todo, files, strict=True):
        if loaded.image is not None:
            decoded.append((row, loaded))
            continue
        row.status, row.error = ImageStatus.FAILED, f"reindex: {loaded.error}"
        session.add(IndexChange(image_id=row.id, op=ChangeOp.DELETE))
        report.failed.append((row.id, row.error))
    _embed_and_store(session, embedder, decoded)
    report.indexed.extend(row.id for row, _ in decoded)
    session.flush()
    return report


def _embed_and_store(
    session: Session,
    embedder: Embedder,
    decoded: list[tuple[Image, LoadedFile]],
    *,
    prepared: bool = False,
) -> None:
    """Embed decoded files (from their prepared arrays when `prepared`) and store vectors."""
    if prepared:
        vectors = embedder.embed_arrays([f.array for _, f in decoded if f.array is not None])
    else:
        vectors = embedder.embed([f.image for _, f in decoded if f.image is not None])
    for (row, _), vector in zip(decoded, vectors, strict=True):
        store_vector(session, row.id, vector, embedder.version)


def store_vector(session: Session, image_id: int, vector: np.ndarray, version: str) -> None:
    """Save one image's vector for one model and log the upsert for the search processes."""
    blob = np.asarray(vector, dtype=np.float32).tobytes()
    session.merge(Embedding(image_id=image_id, model_version=version, vector=blob))
    session.add(IndexChange(image_id=image_id, op=ChangeOp.UPSERT, model_version=version))


def _path(row: Image) -> Path:
    return Path(row.path or row.uri)


def _prepare(
    session: Session, row: Image, loaded: LoadedFile, report: BatchReport
) -> PILImage.Image | None:
    row.sha256, row.size_bytes, row.mtime_ns = loaded.sha256, loaded.size, loaded.mtime_ns
    if loaded.image is None:
        row.status, row.error = ImageStatus.FAILED, loaded.error
        report.failed.append((row.id, loaded.error or "unreadable"))
        return None
    row.width, row.height = loaded.pixels or loaded.image.size
    canonical = _claim_content(session, row)
    if canonical is not None:
        row.status, row.duplicate_of = ImageStatus.DUPLICATE, canonical
        report.duplicates.append(row.id)
        return None
    return loaded.image


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
