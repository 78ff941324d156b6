"""Image names: the path of a file under the folder or manifest it was indexed from, shown
to clients instead of the server's path.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows indexed before keep NULL and are shown by their file name until indexed again.
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("images")}
    if "name" not in present:
        with op.batch_alter_table("images") as batch:
            batch.add_column(sa.Column("name", sa.String(4096), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("images") as batch:
        batch.drop_column("name")
