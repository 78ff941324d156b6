"""The catalog's vectors: `embeddings` rows (one per image and model version) and the
`index_changes` log that every search process replays to follow them.

The SQL of both tables lives here. Vectors come back as numpy: ids (n,) int64 and float32
(n, d) rows, only those of indexed images.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import Select, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from indexer.catalog.schema import ChangeOp, Embedding, Image, ImageStatus, IndexChange
from indexer.catalog.types import Embeddings, Ids

EXACT_SLICE = 10_000  # ids per query: SQLite allows 32,766 bound parameters, PostgreSQL 65,535


class Change(NamedTuple):
    """One entry of the change log: look at `image_id` again (for `model_version`, or all)."""

    seq: int
    image_id: int
    model_version: str | None


# -- writing -------------------------------------------------------------------------------


def store_vectors(session: Session, ids: list[int], vectors: np.ndarray, version: str) -> None:
    """Save images' vectors for one model (replacing any) and log the upserts for the
    search processes; one query finds which exist."""
    existing = ids_with_vector(session, ids, version)
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


def drop_vectors(session: Session, ids: list[int]) -> None:
    """Delete every model version's vector of `ids` (log the deletes with `log_delete`)."""
    session.execute(delete(Embedding).where(Embedding.image_id.in_(ids)))


def log_delete(session: Session, image_id: int) -> None:
    """Tell every search process that `image_id` left the index (all model versions)."""
    session.add(IndexChange(image_id=image_id, op=ChangeOp.DELETE))


# -- reading one image or a few --------------------------------------------------------------


def embedding_versions(session: Session, image_id: int) -> list[str]:
    """The model versions that hold a vector of this image."""
    query = select(Embedding.model_version).where(Embedding.image_id == image_id)
    return sorted(session.scalars(query))


def stored_vector(session: Session, image_id: int, version: str) -> Embeddings | None:
    """The vector of one image under `version`, shape (1, D); None when it has none."""
    embedding = session.get(Embedding, (image_id, version))
    if embedding is None:
        return None
    return np.frombuffer(embedding.vector, dtype=np.float32)[None, :]  # (1, D)


def ids_with_vector(session: Session, ids: Iterable[int], version: str) -> set[int]:
    """Those of `ids` that have a vector of model `version`."""
    query = select(Embedding.image_id).where(
        Embedding.image_id.in_(list(ids)), Embedding.model_version == version
    )
    return set(session.scalars(query))


# -- reading a model version's vectors -------------------------------------------------------


def indexed_ids(session: Session, version: str) -> list[int]:
    """Ids of the indexed images that have a vector of model `version`, ascending."""
    query = (
        select(Embedding.image_id)
        .join(Image, Image.id == Embedding.image_id)
        .where(Embedding.model_version == version, Image.status == ImageStatus.INDEXED)
        .order_by(Embedding.image_id)
    )
    return list(session.scalars(query))


def missing_embeddings(session: Session, version: str, *, limit: int | None = None) -> list[int]:
    """Indexed images that have no vector under `version` yet."""
    has_vector = exists().where(Embedding.image_id == Image.id, Embedding.model_version == version)
    query = (
        select(Image.id)
        .where(Image.status == ImageStatus.INDEXED, ~has_vector)
        .order_by(Image.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def count_vectors(session: Session, version: str) -> int:
    """How many indexed images have a vector of `version`."""
    query = select(func.count()).select_from(_vectors(version).subquery())
    return session.scalar(query) or 0


def count_per_version(session: Session) -> dict[str, int]:
    """Stored vectors per model version (indexed or not)."""
    query = select(Embedding.model_version, func.count()).group_by(Embedding.model_version)
    return {version: count for version, count in session.execute(query)}


def vector_batches(
    session: Session, version: str, dim: int, *, batch: int
) -> Iterator[tuple[Ids, Embeddings]]:
    """Every indexed image's vector of `version` in id order, `batch` rows at a time."""
    query = _vectors(version).order_by(Embedding.image_id).execution_options(yield_per=batch)
    for part in session.execute(query).partitions(batch):
        yield _unpack(part, dim)


def vector_sample(session: Session, version: str, dim: int, *, n: int, size: int) -> Embeddings:
    """About `size` of the `n` vectors of `version`, spread over the ids (training samples)."""
    stride = max(1, n // max(size, 1))
    query = _vectors(version).where(Embedding.image_id % stride == 0).limit(size)
    return _unpack(session.execute(query).all(), dim)[1]


def vectors_of(
    session: Session, version: str, dim: int, ids: Iterable[int]
) -> tuple[Ids, Embeddings]:
    """The vectors of `version` of those `ids` that are indexed, read in slices that stay
    under SQLite's and PostgreSQL's bound-parameter limits."""
    wanted = [int(i) for i in ids]
    rows: list[Any] = []
    for start in range(0, len(wanted), EXACT_SLICE):
        part = wanted[start : start + EXACT_SLICE]
        rows.extend(session.execute(_vectors(version).where(Embedding.image_id.in_(part))))
    return _unpack(rows, dim)


# -- the change log --------------------------------------------------------------------------


def last_seq(session: Session) -> int:
    """The newest change's sequence number; 0 for an empty log."""
    return session.scalar(select(func.coalesce(func.max(IndexChange.seq), 0))) or 0


def changes_after(
    session: Session, seq: int, also: Iterable[int] = (), *, limit: int
) -> list[Change]:
    """The first `limit` changes after `seq`, and those numbered in `also` (gaps seen before
    that a slower transaction may have committed since), in sequence order."""
    query = (
        select(IndexChange.seq, IndexChange.image_id, IndexChange.model_version)
        .where(or_(IndexChange.seq > seq, IndexChange.seq.in_(list(also))))
        .order_by(IndexChange.seq)
        .limit(limit)
    )
    return [Change(int(s), int(i), version) for s, i, version in session.execute(query)]


def _vectors(version: str) -> Select[int, bytes]:
    """(image id, vector) of `version` for every indexed image."""
    return (
        select(Embedding.image_id, Embedding.vector)
        .join(Image, Image.id == Embedding.image_id)
        .where(Embedding.model_version == version)
        .where(Image.status == ImageStatus.INDEXED)
    )


def _unpack(rows: Iterable[Any], dim: int) -> tuple[Ids, Embeddings]:
    pairs = [(row[0], row[1]) for row in rows if row[1] is not None]
    ids = np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs))
    if not pairs:
        return ids, np.zeros((0, dim), dtype=np.float32)
    vectors = np.frombuffer(b"".join(p[1] for p in pairs), dtype=np.float32).reshape(-1, dim)
    return ids, vectors
