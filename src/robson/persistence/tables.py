"""The tables, as SQLAlchemy Core. Rows are mapped to domain objects by explicit code in the repositories.

Migrations (migrations/versions) create these tables; a test checks that the two never drift apart.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.sql.expression import false

from robson.persistence.types import ExactDecimal, UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

SYMBOL = 32
ASSET = 16
ENUM = 24
IDENTIFIER = 64

# ---- the ledger ------------------------------------------------------------------------------

operations = Table(
    "operations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("symbol", String(SYMBOL), nullable=False),
    Column("side", String(ENUM), nullable=False),
    Column("strategy", String(IDENTIFIER), nullable=False),
    Column("status", String(ENUM), nullable=False),
    Column("entry_price", ExactDecimal, nullable=False),
    Column("stop_price", ExactDecimal, nullable=False),
    Column("target_price", ExactDecimal, nullable=True),
    Column("quantity", ExactDecimal, nullable=False),
    Column("risk_amount", ExactDecimal, nullable=False),
    Column("quote", String(ASSET), nullable=False),
    Column("close_reason", String(ENUM), nullable=True),
    Column("note", Text, nullable=False),
    Column("position_status", String(ENUM), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("activated_at", UtcDateTime, nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
    # the tranche planned for an ACTIVE operation (Operation.pending_add): all five set, or all five null
    Column("add_entry_price", ExactDecimal, nullable=True),
    Column("add_quantity", ExactDecimal, nullable=True),
    Column("add_stop_price", ExactDecimal, nullable=True),
    Column("add_risk_amount", ExactDecimal, nullable=True),
    Column("add_planned_at", UtcDateTime, nullable=True),
    Column("protection", String(ENUM), nullable=False, server_default="exchange"),
    Column("initial_stop", ExactDecimal, nullable=True),
    Column("exit_reason", String(ENUM), nullable=True),
    Column("best_price", ExactDecimal, nullable=True),
    Column("trailing_active", Boolean, nullable=False, server_default=false()),
    Column("scale_outs_done", Integer, nullable=False, server_default="0"),
    Column("break_even_done", Boolean, nullable=False, server_default=false()),
    Column("version", Integer, nullable=False, server_default="0"),  # raised by every write (optimistic lock)
    Index(None, "status"),
)


def _order_columns() -> list[Column[object]]:
    """The columns an order has wherever it is kept: the ledger's orders and the paper venue's."""
    return [
        Column("exchange_order_id", String(IDENTIFIER), nullable=True),
        Column("symbol", String(SYMBOL), nullable=False),
        Column("side", String(ENUM), nullable=False),
        Column("type", String(ENUM), nullable=False),
        Column("quantity", ExactDecimal, nullable=False),
        Column("price", ExactDecimal, nullable=True),
        Column("stop_price", ExactDecimal, nullable=True),
        Column("list_id", String(IDENTIFIER), nullable=True),
        Column("status", String(ENUM), nullable=False),
        Column("filled_quantity", ExactDecimal, nullable=False),
        Column("reject_reason", Text, nullable=True),
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=True),
    ]


orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("operation_id", Integer, ForeignKey("operations.id"), nullable=False, index=True),
    Column("client_order_id", String(IDENTIFIER), nullable=False),
    Column("role", String(ENUM), nullable=True),
    *_order_columns(),
    Column("deadline", UtcDateTime, nullable=True),  # a working order's wait ends here (domain Order.deadline)
    UniqueConstraint("client_order_id"),
)

fills = Table(
    "fills",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # insertion order: the replay order
    Column("operation_id", Integer, ForeignKey("operations.id"), nullable=False, index=True),
    Column("trade_id", String(IDENTIFIER), nullable=False),
    Column("client_order_id", String(IDENTIFIER), nullable=False),
    Column("symbol", String(SYMBOL), nullable=False),
    Column("side", String(ENUM), nullable=False),
    Column("price", ExactDecimal, nullable=False),
    Column("quantity", ExactDecimal, nullable=False),
    Column("fee", ExactDecimal, nullable=False),
    Column("fee_asset", String(ASSET), nullable=False),
    Column("time", UtcDateTime, nullable=False),
    UniqueConstraint("trade_id"),
)

audit_events = Table(  # append-only: no code updates or deletes a row, and the database refuses it
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(IDENTIFIER), nullable=False),
    Column("action", String(IDENTIFIER), nullable=False),
    Column("entity", String(ENUM), nullable=False),
    Column("entity_id", String(IDENTIFIER), nullable=False),
    Column("before", Text, nullable=False),  # JSON object, keys sorted
    Column("after", Text, nullable=False),  # JSON object, keys sorted
    Index(None, "entity", "entity_id"),
)

execution_log = Table(  # one row per attempt to execute an order: what was asked, what happened, at what cost
    "execution_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("venue", String(IDENTIFIER), nullable=False),
    Column("operation_id", Integer, nullable=True),
    Column("client_order_id", String(IDENTIFIER), nullable=False),
    Column("symbol", String(SYMBOL), nullable=False),
    Column("side", String(ENUM), nullable=False),
    Column("type", String(ENUM), nullable=False),
    Column("role", String(ENUM), nullable=False),
    Column("requested_price", ExactDecimal, nullable=True),
    Column("executed_price", ExactDecimal, nullable=True),
    Column("slippage_bps", ExactDecimal, nullable=True),
    Column("requested_quantity", ExactDecimal, nullable=False),
    Column("filled_quantity", ExactDecimal, nullable=False),
    Column("fees", ExactDecimal, nullable=False),
    Column("latency_ms", ExactDecimal, nullable=False),
    Column("retries", Integer, nullable=False),
    Column("status", String(ENUM), nullable=False),
    Column("error", Text, nullable=True),
    Column("spread_bps", ExactDecimal, nullable=True),
    Column("volatility_bps", ExactDecimal, nullable=True),
    Index(None, "symbol", "id"),
)

# ---- the risk engine -------------------------------------------------------------------------

policy_state = Table(  # one row (id 1): the account's PolicyState, read and written whole
    "policy_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("trading_state", String(ENUM), nullable=False),  # the state's TradingState, for people querying
    Column("data", Text, nullable=False),  # the whole PolicyState as JSON (persistence/policy_codec.py)
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

price_marks = Table(  # recent marks per symbol, pruned to the history the risk checks measure
    "price_marks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # insertion order: the marks' order
    Column("symbol", String(SYMBOL), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("price", ExactDecimal, nullable=False),
    Index(None, "symbol", "id"),
)

# ---- the paper venue's own account -----------------------------------------------------------

paper_balances = Table(
    "paper_balances",
    metadata,
    Column("asset", String(ASSET), primary_key=True),
    Column("free", ExactDecimal, nullable=False),
    Column("locked", ExactDecimal, nullable=False),
)

paper_orders = Table(
    "paper_orders",
    metadata,
    Column("client_order_id", String(IDENTIFIER), primary_key=True),
    *_order_columns(),
)

paper_fills = Table(
    "paper_fills",
    metadata,
    Column("trade_id", String(IDENTIFIER), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("client_order_id", String(IDENTIFIER), nullable=False),
    Column("symbol", String(SYMBOL), nullable=False),
    Column("side", String(ENUM), nullable=False),
    Column("price", ExactDecimal, nullable=False),
    Column("quantity", ExactDecimal, nullable=False),
    Column("fee", ExactDecimal, nullable=False),
    Column("fee_asset", String(ASSET), nullable=False),
    Column("time", UtcDateTime, nullable=False),
    UniqueConstraint("seq"),
)

paper_prices = Table(
    "paper_prices",
    metadata,
    Column("symbol", String(SYMBOL), primary_key=True),
    Column("price", ExactDecimal, nullable=False),
)

paper_meta = Table(
    "paper_meta",
    metadata,
    Column("key", String(IDENTIFIER), primary_key=True),
    Column("value", Text, nullable=False),
)

# every price pushed into the paper venue, in order, with the pusher's time, until the monitor has acted on it
# (append-only; the database assigns the ids, so concurrent pushes from several processes keep one order)
paper_ticks = Table(
    "paper_ticks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("symbol", String(SYMBOL), nullable=False),
    Column("price", ExactDecimal, nullable=False),
    Column("at", UtcDateTime, nullable=False),
)
