"""A working order's deadline: when its wait ends, the loop cancels the unfilled rest of an entry or sends the rest
of a limit exit at market (the use cases no longer wait for it).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from robson.persistence.types import UtcDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", recreate="never") as batch:  # SQLite: ADD COLUMN, no rebuild
        batch.add_column(sa.Column("deadline", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("deadline")
