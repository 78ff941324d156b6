"""The catalog schema: images (the source of truth for vectors), jobs, the change log, and
the galleries of labelled references used for one-shot recognition."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
Id = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class ImageStatus(enum.StrEnum):
    PENDING = "pending"
    INDEXED = "indexed"
    FAILED = "failed"
    DUPLICATE = "duplicate"
    CANCELLED = "cancelled"  # its job was cancelled before a worker reached it


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Image(Base):
    """One catalog item. `content_key` is set (= sha256) only on the canonical copy of a content."""

    __tablename__ = "images"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    path: Mapped[str | None] = mapped_column(String(4096))
    name: Mapped[str | None] = mapped_column(String(4096))  # under its source, for display
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    content_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    mtime_ns: Mapped[int | None] = mapped_column(BigInteger)  # of the file when last read
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=ImageStatus.PENDING, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    duplicate_of: Mapped[int | None] = mapped_column(Id)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_images_job_status", "job_id", "status"),)


class Embedding(Base):
    """One image's vector under one model version; several versions coexist during a reindex."""

    __tablename__ = "embeddings"

    image_id: Mapped[int] = mapped_column(
        Id, ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    model_version: Mapped[str] = mapped_column(String(128), primary_key=True, index=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelStatus(enum.StrEnum):
    BUILDING = "building"  # being reindexed; not yet answering searches
    SERVING = "serving"
    RETIRED = "retired"


class Model(Base):
    """An encoder version known to the catalog; exactly one is serving once any exists.

    The checkpoint bytes live here so workers on any machine can load the same model;
    None means the built-in pretrained default.
    """

    __tablename__ = "models"

    version: Mapped[str] = mapped_column(String(128), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=ModelStatus.BUILDING, index=True)
    source: Mapped[str | None] = mapped_column(Text)
    checkpoint: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    serving_since: Mapped[datetime | None] = mapped_column()


class Feedback(Base):
    """A user's mark on one search result: right (same) or wrong for the query image."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    query_image_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("images.id", ondelete="CASCADE")
    )
    query_path: Mapped[str | None] = mapped_column(String(4096))
    result_image_id: Mapped[int] = mapped_column(
        Id, ForeignKey("images.id", ondelete="CASCADE"), index=True
    )
    same: Mapped[bool] = mapped_column()
    model_version: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobKind(enum.StrEnum):
    INDEX = "index"
    REINDEX = "reindex"


class Job(Base):
    """A bulk run. Index jobs count progress from the images that name them; reindex jobs
    from the embeddings of their target model version."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), default=JobKind.INDEX)
    model_version: Mapped[str | None] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    total: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    owner: Mapped[str | None] = mapped_column(String(255))  # "host:pid" driving the job
    heartbeat_at: Mapped[datetime | None] = mapped_column()  # last sign of life


class ChangeOp(enum.StrEnum):
    UPSERT = "upsert"
    DELETE = "delete"


class IndexChange(Base):
    """Append-only log that every search process replays to follow the catalog."""

    __tablename__ = "index_changes"

    seq: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    image_id: Mapped[int] = mapped_column(Id, index=True)
    op: Mapped[str] = mapped_column(String(8))
    model_version: Mapped[str | None] = mapped_column(String(128))  # None: every version
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Gallery(Base):
    """A named set of labelled reference images to identify queries against (one-shot)."""

    __tablename__ = "galleries"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    distance: Mapped[str] = mapped_column(String(16), default="cosine")
    threshold: Mapped[float | None] = mapped_column(Float)  # None: calibrated
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GalleryItem(Base):
    """One reference image of a gallery label; the bytes are kept to re-embed for new models."""

    __tablename__ = "gallery_items"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    gallery_id: Mapped[int] = mapped_column(
        Id, ForeignKey("galleries.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(256))
    filename: Mapped[str | None] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    model_version: Mapped[str | None] = mapped_column(String(128))  # of `vector`
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
