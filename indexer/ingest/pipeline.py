"""The core of indexing: read, hash, decode, de-duplicate, embed and store a batch of rows."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from indexer.catalog.content_claim import claim_contents
from indexer.catalog.database import SessionFactory
from indexer.catalog.schema import ChangeOp, Embedding, Image, ImageStatus, IndexChange
from indexer.encoder.embedder import Embedder
from indexer.ingest.loading import NO_LIMITS, FileLimits, LoadedFile, iter_load_files, load_files

STREAM_GROUP = 16  # files admitted, embedded and stored together while the rest decode


@dataclass
class BatchReport:
    indexed: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)  # (id, reason)


@dataclass(frozen=True)
class Decoded:
    """One pending row's file as read, with a vector per model when it decoded."""

    image_id: int
    loaded: LoadedFile
    vectors: tuple[np.ndarray, ...] = ()  # (D,) per embedder, in the embedders' order


def index_pending(
    sessions: SessionFactory,
    embedders: Sequence[Embedder],
    image_ids: list[int],
    *,
    max_pixels: int,
    decode_threads: int = 1,
    limits: FileLimits = NO_LIMITS,
) -> BatchReport:
    """Index the pending rows among `image_ids` with no transaction open while their files
    are read, decoded and embedded.

    The rows are read in a read-only session; each group of files is then written in its
    own short write transaction, which leaves alone rows another worker finished meanwhile.
    Idempotent; permanent problems mark the row failed with the reason.
    """
    report = BatchReport()
    with sessions() as session:
        todo = [(row.id, _path(row)) for row in _pending(session, image_ids)]
    for group in _decoded_groups(todo, embedders, max_pixels, decode_threads, limits):
        with sessions.begin() as session:
            _store_group(session, embedders, group, report)
    return report


def embed_images(
    session: Session,
    embedders: Sequence[Embedder],
    image_ids: list[int],
    *,
    max_pixels: int,
    decode_threads: int = 1,
    limits: FileLimits = NO_LIMITS,
) -> BatchReport:
    """`index_pending` inside the caller's transaction (an upload, decoded and checked
    before); anything but a permanent problem raises, leaving the rows pending."""
    report = BatchReport()
    todo = [(row.id, _path(row)) for row in _pending(session, image_ids)]
    for group in _decoded_groups(todo, embedders, max_pixels, decode_threads, limits):
        _store_group(session, embedders, group, report)
    session.flush()
    return report


def _pending(session: Session, image_ids: list[int]) -> Sequence[Image]:
    query = select(Image).where(Image.id.in_(image_ids), Image.status == ImageStatus.PENDING)
    return session.scalars(query.order_by(Image.id)).all()


def _decoded_groups(
    todo: list[tuple[int, Path]],
    embedders: Sequence[Embedder],
    max_pixels: int,
    decode_threads: int,
    limits: FileLimits,
) -> Iterator[list[Decoded]]:
    """Groups of read, decoded and embedded files, while later files still decode."""
    files = iter_load_files(
        [path for _, path in todo],
        draft_size=embedders[0].draft_size,
        max_pixels=max_pixels,
        threads=decode_threads,
        prepare=embedders[0].prepare,  # the serving model's inputs, made in the threads too
        limits=limits,
    )
    pairs = iter(zip([image_id for image_id, _ in todo], files, strict=True))
    while group := list(islice(pairs, STREAM_GROUP)):
        readable = [f for _, f in group if f.image is not None]
        per_model = [
            _embed(embedder, readable, prepared=position == 0)
            for position, embedder in enumerate(embedders)
        ]
        vectors = iter(zip(*per_model, strict=True)) if readable else iter(())
        yield [
            Decoded(image_id, f, next(vectors) if f.image is not None else ())
            for image_id, f in group
        ]


def _embed(embedder: Embedder, files: list[LoadedFile], *, prepared: bool) -> np.ndarray:
    """(N, D) vectors of decoded files, from their prepared arrays when `prepared`."""
    if prepared and all(f.array is not None for f in files):
        return embedder.embed_arrays([f.array for f in files if f.array is not None])
    return embedder.embed([f.image for f in files if f.image is not None])


def _store_group(
    session: Session, embedders: Sequence[Embedder], group: list[Decoded], report: BatchReport
) -> None:
    """Record what reading found and store the vectors of the admitted rows."""
    rows = {row.id: row for row in _pending(session, [d.image_id for d in group])}
    live = [(rows[d.image_id], d) for d in group if d.image_id in rows]
    admitted = _admit(session, [(row, d.loaded) for row, d in live], report)
    chosen = {row.id for row, _ in admitted}
    kept = [(row, d) for row, d in live if row.id in chosen]
    if kept:
        for position, embedder in enumerate(embedders):
            vectors = np.stack([d.vectors[position] for _, d in kept])  # (N, D)
            store_vectors(session, [row.id for row, _ in kept], vectors, embedder.version)
    for row, _ in kept:
        row.status, row.error = ImageStatus.INDEXED, None
        report.indexed.append(row.id)
    session.flush()


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
