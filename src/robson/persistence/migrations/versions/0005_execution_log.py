"""The execution log: one row per attempt to execute an order (requested and executed price, slippage, sizes,
fees, latency, retries, status, error, and the spread and volatility at the time).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from robson.persistence.types import ExactDecimal, UtcDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "execution_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("operation_id", sa.Integer(), nullable=True),
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(24), nullable=False),
        sa.Column("type", sa.String(24), nullable=False),
        sa.Column("role", sa.String(24), nullable=False),
        sa.Column("requested_price", ExactDecimal(), nullable=True),
        sa.Column("executed_price", ExactDecimal(), nullable=True),
        sa.Column("slippage_bps", ExactDecimal(), nullable=True),
        sa.Column("requested_quantity", ExactDecimal(), nullable=False),
        sa.Column("filled_quantity", ExactDecimal(), nullable=False),
        sa.Column("fees", ExactDecimal(), nullable=False),
        sa.Column("latency_ms", ExactDecimal(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("spread_bps", ExactDecimal(), nullable=True),
        sa.Column("volatility_bps", ExactDecimal(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_execution_log"),
    )
    op.create_index("ix_execution_log_symbol", "execution_log", ["symbol", "id"])


def downgrade() -> None:
    op.drop_index("ix_execution_log_symbol", table_name="execution_log")
    op.drop_table("execution_log")
