"""Image file-change detection: the file's modification time when it was last read.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def new_columns() -> list[sa.Column]:
    """The columns this revision adds to `images` (fresh objects for each use)."""
    return [sa.Column("mtime_ns", sa.BigInteger(), nullable=True)]


def upgrade() -> None:
    # A catalog adopted at the baseline may have been built by a create_all that already
    # knew these columns; add only what is missing.
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("images")}
    with op.batch_alter_table("images") as batch:
        for column in new_columns():
            if column.name not in present:
                batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("images") as batch:
        for column in new_columns():
            batch.drop_column(column.name)
