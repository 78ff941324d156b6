"""Initial schema: the catalog as `create_all` built it before migrations existed.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT (as models.Id).
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "index_changes",
        sa.Column("seq", Id, autoincrement=True, nullable=False),
        sa.Column("image_id", Id, nullable=False),
        sa.Column("op", sa.String(length=8), nullable=False),
        sa.Column("model_version", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_index_changes_image_id", "index_changes", ["image_id"])
    op.create_table(
        "jobs",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("model_version", sa.String(length=128), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "models",
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("checkpoint", sa.LargeBinary(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("serving_since", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_index("ix_models_status", "models", ["status"])
    _create_images()
    op.create_table(
        "embeddings",
        sa.Column("image_id", Id, nullable=False),
        sa.Column("model_version", sa.String(length=128), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["image_id"], ["images.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("image_id", "model_version"),
    )
    op.create_index("ix_embeddings_model_version", "embeddings", ["model_version"])
    _create_feedback()


def _create_images() -> None:
    op.create_table(
        "images",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column("path", sa.String(length=4096), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("content_key", sa.String(length=64), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("duplicate_of", Id, nullable=True),
        sa.Column("job_id", Id, nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("content_key"),
        sa.UniqueConstraint("uri"),
    )
    op.create_index("ix_images_job_status", "images", ["job_id", "status"])
    op.create_index("ix_images_sha256", "images", ["sha256"])
    op.create_index("ix_images_status", "images", ["status"])


def _create_feedback() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("query_image_id", Id, nullable=True),
        sa.Column("query_path", sa.String(length=4096), nullable=True),
        sa.Column("result_image_id", Id, nullable=False),
        sa.Column("same", sa.Boolean(), nullable=False),
        sa.Column("model_version", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["query_image_id"], ["images.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["result_image_id"], ["images.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_feedback_result_image_id", "feedback", ["result_image_id"])


def downgrade() -> None:
    for table in ("feedback", "embeddings", "images", "models", "jobs", "index_changes"):
        op.drop_table(table)  # drops its indexes too
