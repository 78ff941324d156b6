"""The core of indexing: read, hash, decode, de-duplicate, embed and store a batch of rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from indexer.content_claim import claim_contents
from indexer.embedder import Embedder
from indexer.loading import LoadedFile, iter_load_files, load_files
from indexer.models import ChangeOp, Embedding, Image, ImageStatus, IndexChange

STREAM_GROUP = 16  # files admitted, embedded and stored together while the rest decode


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
    files = iter_load_files(
        [_path(row) for row in rows],
        draft_size=embedders[0].draft_size,
        max_pixels=max_pixels,
        threads=decode_threads,
        prepare=embedders[0].prepare,  # the serving model's inputs, made in the threads too
    )
    pairs = iter(zip(rows, files, strict=True))
    while group := list(islice(pairs, STREAM_GROUP)):  # embed while later files decode
        decoded = _admit(session, group, report)
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
    store_vectors(session, [row.id for row, _ in decoded], vectors, embedder.version)


def store_vectors(session: Session, ids: list[int], vectors: np.ndarray, version: str) -> None:
    """Save images' vectors for one model (replacing any) and log the upserts for the
    search processes; one query finds which exist."""
    existing = set(
        session.scalars(
            select(Embedding.image_id).where(
                Embedding.image_id.in_(ids), Embedding.model_version == version
            )
        )
    )
    for image_id, vector in zip(ids, vectors, strict=True):
        stored = Embedding(
            image_id=image_id,
            model_version=version,
            vector=np.asarray(vector, dtype=np.float32).tobytes(),
        )
        if image_id in existing:
            session.merge(stored)
        else:
            session.add(stored)
        session.add(IndexChange(image_id=image_id, op=ChangeOp.UPSERT, model_version=version))


def _path(row: Image) -> Path:
    return Path(row.path or row.uri)


def _admit(
    session: Session, group: list[tuple[Image, LoadedFile]], report: BatchReport
) -> list[tuple[Image, LoadedFile]]:
    """Record what reading found; failures and exact duplicates leave, the rest is returned
    for embedding."""
    readable = []
    for row, loaded in group:
        row.sha256, row.size_bytes, row.mtime_ns = loaded.sha256, loaded.size, loaded.mtime_ns
        if loaded.image is None:
            row.status, row.error = ImageStatus.FAILED, loaded.error
            report.failed.append((row.id, loaded.error or "unreadable"))
            continue
        row.width, row.height = loaded.pixels or loaded.image.size
        readable.append((row, loaded))
    canonical = claim_contents(session, [row for row, _ in readable])
    admitted = []
    for row, loaded in readable:
        holder = canonical[row.id]
        if holder is None:
            admitted.append((row, loaded))
            continue
        row.status, row.duplicate_of = ImageStatus.DUPLICATE, holder
        report.duplicates.append(row.id)
    return admitted
