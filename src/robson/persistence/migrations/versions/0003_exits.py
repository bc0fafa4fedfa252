"""Exits and the monitor: an operation's protection mode, its initial stop, the reason of an exit in flight,
and the state of its exit rules (best price, trailing, scale-outs, break-even).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from robson.persistence.types import ExactDecimal

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    "protection",
    "initial_stop",
    "exit_reason",
    "best_price",
    "trailing_active",
    "scale_outs_done",
    "break_even_done",
)


def upgrade() -> None:
    with op.batch_alter_table("operations", recreate="never") as batch:  # SQLite: ADD COLUMN, no rebuild
        batch.add_column(sa.Column("protection", sa.String(24), nullable=False, server_default="exchange"))
        batch.add_column(sa.Column("initial_stop", ExactDecimal(), nullable=True))
        batch.add_column(sa.Column("exit_reason", sa.String(24), nullable=True))
        batch.add_column(sa.Column("best_price", ExactDecimal(), nullable=True))
        batch.add_column(sa.Column("trailing_active", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("scale_outs_done", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("break_even_done", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("operations", recreate="never") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column)
