"""The risk engine: the policy state, recent price marks, and the tranche an operation plans to add.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-09
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from robson.persistence.types import ExactDecimal, UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING_ADD = ("add_entry_price", "add_quantity", "add_stop_price", "add_risk_amount", "add_planned_at")


def money(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, ExactDecimal(), nullable=nullable)


def moment(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, UtcDateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "policy_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("trading_state", sa.String(24), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        moment("updated_at"),
        sa.CheckConstraint("id = 1", name="ck_policy_state_single_row"),
        sa.PrimaryKeyConstraint("id", name="pk_policy_state"),
    )

    op.create_table(
        "price_marks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        moment("at"),
        money("price"),
        sa.PrimaryKeyConstraint("id", name="pk_price_marks"),
    )
    op.create_index("ix_price_marks_symbol", "price_marks", ["symbol", "id"])

    with op.batch_alter_table("operations", recreate="never") as batch:  # SQLite: ADD COLUMN, no rebuild
        batch.add_column(money("add_entry_price", nullable=True))
        batch.add_column(money("add_quantity", nullable=True))
        batch.add_column(money("add_stop_price", nullable=True))
        batch.add_column(money("add_risk_amount", nullable=True))
        batch.add_column(moment("add_planned_at", nullable=True))


def downgrade() -> None:
    # SQLite: ALTER TABLE DROP COLUMN (3.35+) in place, never a rebuild: rebuilding drops the table that
    # orders and fills reference, which their foreign keys refuse once the ledger holds a row
    with op.batch_alter_table("operations", recreate="never") as batch:
        for column in reversed(PENDING_ADD):
            batch.drop_column(column)
    op.drop_index("ix_price_marks_symbol", table_name="price_marks")
    op.drop_table("price_marks")
    op.drop_table("policy_state")
