"""The ledger (operations, orders, fills, audit events) and the paper venue's account.

Revision ID: 0001
Revises:
Create Date: 2025-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from robson.persistence.types import ExactDecimal, UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
    """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
]
POSTGRES_APPEND_ONLY = [
    """CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$""",
    """CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""",
    """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()""",
]


def money(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, ExactDecimal(), nullable=nullable)


def moment(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, UtcDateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "operations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(24), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        money("entry_price"),
        money("stop_price"),
        money("target_price", nullable=True),
        money("quantity"),
        money("risk_amount"),
        sa.Column("quote", sa.String(16), nullable=False),
        sa.Column("close_reason", sa.String(24), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("position_status", sa.String(24), nullable=False),
        moment("created_at"),
        moment("activated_at", nullable=True),
        moment("closed_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_operations"),
    )
    op.create_index("ix_operations_status", "operations", ["status"])

    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("exchange_order_id", sa.String(64), nullable=True),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(24), nullable=False),
        sa.Column("type", sa.String(24), nullable=False),
        sa.Column("role", sa.String(24), nullable=True),
        money("quantity"),
        money("price", nullable=True),
        money("stop_price", nullable=True),
        sa.Column("list_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(24), nullable=False),
        money("filled_quantity"),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        moment("created_at"),
        moment("updated_at", nullable=True),
        sa.ForeignKeyConstraint(["operation_id"], ["operations.id"], name="fk_orders_operation_id_operations"),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.UniqueConstraint("client_order_id", name="uq_orders_client_order_id"),
    )
    op.create_index("ix_orders_operation_id", "orders", ["operation_id"])

    op.create_table(
        "fills",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("trade_id", sa.String(64), nullable=False),
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(24), nullable=False),
        money("price"),
        money("quantity"),
        money("fee"),
        sa.Column("fee_asset", sa.String(16), nullable=False),
        moment("time"),
        sa.ForeignKeyConstraint(["operation_id"], ["operations.id"], name="fk_fills_operation_id_operations"),
        sa.PrimaryKeyConstraint("id", name="pk_fills"),
        sa.UniqueConstraint("trade_id", name="uq_fills_trade_id"),
    )
    op.create_index("ix_fills_operation_id", "fills", ["operation_id"])

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        moment("at"),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(24), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_entity", "audit_events", ["entity", "entity_id"])
    for statement in POSTGRES_APPEND_ONLY if op.get_bind().dialect.name == "postgresql" else SQLITE_APPEND_ONLY:
        op.execute(statement)

    op.create_table(
        "paper_balances",
        sa.Column("asset", sa.String(16), nullable=False),
        money("free"),
        money("locked"),
        sa.PrimaryKeyConstraint("asset", name="pk_paper_balances"),
    )
    op.create_table(
        "paper_orders",
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("exchange_order_id", sa.String(64), nullable=True),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(24), nullable=False),
        sa.Column("type", sa.String(24), nullable=False),
        money("quantity"),
        money("price", nullable=True),
        money("stop_price", nullable=True),
        sa.Column("list_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(24), nullable=False),
        money("filled_quantity"),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        moment("created_at"),
        moment("updated_at", nullable=True),
        sa.PrimaryKeyConstraint("client_order_id", name="pk_paper_orders"),
    )
    op.create_table(
        "paper_fills",
        sa.Column("trade_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(24), nullable=False),
        money("price"),
        money("quantity"),
        money("fee"),
        sa.Column("fee_asset", sa.String(16), nullable=False),
        moment("time"),
        sa.PrimaryKeyConstraint("trade_id", name="pk_paper_fills"),
        sa.UniqueConstraint("seq", name="uq_paper_fills_seq"),
    )
    op.create_table(
        "paper_prices",
        sa.Column("symbol", sa.String(32), nullable=False),
        money("price"),
        sa.PrimaryKeyConstraint("symbol", name="pk_paper_prices"),
    )
    op.create_table(
        "paper_meta",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_paper_meta"),
    )


def downgrade() -> None:
    for table in ("paper_meta", "paper_prices", "paper_fills", "paper_orders", "paper_balances"):
        op.drop_table(table)
    op.drop_table("audit_events")  # drops its triggers with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_events_append_only()")
    for table in ("fills", "orders", "operations"):
        op.drop_table(table)
