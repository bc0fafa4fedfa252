"""Optimistic concurrency: each operation row carries a version, raised by every write. A process that read an
operation and writes it back after another process changed it is refused instead of overwriting that change.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("operations", recreate="never") as batch:  # SQLite: ADD COLUMN, no rebuild
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("operations", recreate="never") as batch:
        batch.drop_column("version")
