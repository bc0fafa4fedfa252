"""Explicit mapping between rows and domain objects (the domain knows nothing of SQLAlchemy)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from robson.domain.fills import Fill
from robson.domain.operation import CloseReason, Operation, OperationStatus, PendingAdd
from robson.domain.orders import Order, OrderRole, OrderStatus, OrderType
from robson.domain.position import PositionStatus
from robson.domain.protection import ExitProgress, ProtectionMode
from robson.domain.values import OrderSide, Side

Row = Mapping[Any, Any]  # a RowMapping, or any mapping keyed by column name

PENDING_ADD_COLUMNS = ("add_entry_price", "add_quantity", "add_stop_price", "add_risk_amount", "add_planned_at")


def operation_row(operation: Operation) -> dict[str, Any]:
    return {
        "symbol": operation.symbol,
        "side": operation.side.value,
        "strategy": operation.strategy,
        "status": operation.status.value,
        "entry_price": operation.entry_price,
        "stop_price": operation.stop_price,
        "target_price": operation.target_price,
        "quantity": operation.quantity,
        "risk_amount": operation.risk_amount,
        "quote": operation.quote,
        "close_reason": operation.close_reason.value if operation.close_reason else None,
        "note": operation.note,
        "position_status": operation.position.status.value,
        "created_at": operation.created_at,
        "activated_at": operation.activated_at,
        "closed_at": operation.closed_at,
        **pending_add_row(operation.pending_add),
        "protection": operation.protection.value,
        "initial_stop": operation.initial_stop,
        "exit_reason": operation.exit_reason.value if operation.exit_reason else None,
        **progress_row(operation.progress),
    }


def progress_row(progress: ExitProgress) -> dict[str, Any]:
    """The exit progress's columns. Its trailing stop is not stored: see `progress_from_row`."""
    return {
        "best_price": progress.best_price,
        "trailing_active": progress.trailing_active,
        "scale_outs_done": progress.scale_outs_done,
        "break_even_done": progress.break_even_done,
    }


def progress_from_row(row: Row) -> ExitProgress:
    """A stored operation's exit progress: while its trailing is active, its stop in force is its trailing stop."""
    trailing_active = bool(row["trailing_active"])
    return ExitProgress(
        best_price=row["best_price"],
        trailing_active=trailing_active,
        scale_outs_done=row["scale_outs_done"],
        break_even_done=bool(row["break_even_done"]),
        trailing_stop=row["stop_price"] if trailing_active else None,
    )


def pending_add_row(pending: PendingAdd | None) -> dict[str, Any]:
    """The operations row's add_* columns: the planned tranche, or five nulls."""
    return {
        "add_entry_price": pending.entry_price if pending else None,
        "add_quantity": pending.quantity if pending else None,
        "add_stop_price": pending.stop_price if pending else None,
        "add_risk_amount": pending.risk_amount if pending else None,
        "add_planned_at": pending.planned_at if pending else None,
    }


def pending_add_from_row(row: Row) -> PendingAdd | None:
    values = [row[name] for name in PENDING_ADD_COLUMNS]
    if all(value is None for value in values):
        return None
    if any(value is None for value in values):
        missing = ", ".join(name for name, value in zip(PENDING_ADD_COLUMNS, values, strict=True) if value is None)
        raise ValueError(f"operation {row['id']} has a partial pending add: {missing} null")
    entry_price, quantity, stop_price, risk_amount, planned_at = values
    return PendingAdd(entry_price, quantity, stop_price, risk_amount, planned_at)


def operation_from_rows(row: Row, order_rows: list[Row], fill_rows: list[Row]) -> Operation:
    """Rebuild an operation: the plan, its stored state, its orders as stored, its position from its fills."""
    operation = Operation(
        symbol=row["symbol"],
        side=Side(row["side"]),
        strategy=row["strategy"],
        entry_price=row["entry_price"],
        stop_price=row["stop_price"],
        target_price=row["target_price"],
        quantity=row["quantity"],
        risk_amount=row["risk_amount"],
        quote=row["quote"],
        created_at=row["created_at"],
        protection=ProtectionMode(row["protection"]),
        initial_stop=row["initial_stop"],
        progress=progress_from_row(row),
    )
    operation.status = OperationStatus(row["status"])
    operation.exit_reason = CloseReason(row["exit_reason"]) if row["exit_reason"] else None
    operation.close_reason = CloseReason(row["close_reason"]) if row["close_reason"] else None
    operation.note = row["note"]
    operation.activated_at = row["activated_at"]
    operation.closed_at = row["closed_at"]
    operation.pending_add = pending_add_from_row(row)
    operation.id = row["id"]
    operation.version = row["version"]
    operation.orders = [order_from_row(order_row) for order_row in order_rows]
    for fill_row in fill_rows:
        fill = fill_from_row(fill_row)
        operation.position.apply(fill, more_entries_pending=False)
        operation.fills.append(fill)
    operation.position.status = PositionStatus(row["position_status"])
    operation.events.clear()  # loading is not an event
    return operation


def order_rows(operation: Operation) -> list[dict[str, Any]]:
    """The rows of an operation's orders: each order's own, with its role, its deadline and its operation."""
    return [
        order_row(order)
        | {"operation_id": operation.id, "role": order.role.value if order.role else None, "deadline": order.deadline}
        for order in operation.orders
    ]


@dataclass
class Stored:
    """What the ledger holds of one operation, as a repository last read or wrote it: its row, its orders' rows by
    client order id, its fills' trade ids. A save compares the operation with it, to write only what changed."""

    row: dict[str, Any]
    orders: dict[str, dict[str, Any]]
    fills: set[str]

    @classmethod
    def of(cls, operation: Operation) -> Stored:
        """As the operation stands now (just read, or just written)."""
        orders = {row["client_order_id"]: row for row in order_rows(operation)}
        return cls(operation_row(operation), orders, {fill.trade_id for fill in operation.fills})


def changed_orders(operation: Operation, stored: Stored) -> list[dict[str, Any]]:
    """The rows of the orders new or changed since `stored` (each order is given the operation's id first)."""
    for order in operation.orders:
        order.operation_id = operation.id
    return [row for row in order_rows(operation) if stored.orders.get(row["client_order_id"]) != row]


def order_row(order: Order) -> dict[str, Any]:
    """The venue's view of an order: every field but its role and the operation it belongs to."""
    return {
        "client_order_id": order.client_order_id,
        "exchange_order_id": order.exchange_order_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "type": order.type.value,
        "quantity": order.quantity,
        "price": order.price,
        "stop_price": order.stop_price,
        "list_id": order.list_id,
        "status": order.status.value,
        "filled_quantity": order.filled_quantity,
        "reject_reason": order.reject_reason,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }


def order_from_row(row: Row) -> Order:
    role = row.get("role")
    return Order(
        client_order_id=row["client_order_id"],
        symbol=row["symbol"],
        side=OrderSide(row["side"]),
        type=OrderType(row["type"]),
        quantity=row["quantity"],
        created_at=row["created_at"],
        role=OrderRole(role) if role else None,
        price=row["price"],
        stop_price=row["stop_price"],
        list_id=row["list_id"],
        status=OrderStatus(row["status"]),
        filled_quantity=row["filled_quantity"],
        exchange_order_id=row["exchange_order_id"],
        reject_reason=row["reject_reason"],
        updated_at=row["updated_at"],
        operation_id=row.get("operation_id"),
        id=row.get("id"),
        deadline=row.get("deadline"),
    )


def fill_row(fill: Fill) -> dict[str, Any]:
    return {
        "trade_id": fill.trade_id,
        "client_order_id": fill.client_order_id,
        "symbol": fill.symbol,
        "side": fill.side.value,
        "price": fill.price,
        "quantity": fill.quantity,
        "fee": fill.fee,
        "fee_asset": fill.fee_asset,
        "time": fill.time,
    }


def fill_from_row(row: Row) -> Fill:
    return Fill(
        trade_id=row["trade_id"],
        client_order_id=row["client_order_id"],
        symbol=row["symbol"],
        side=OrderSide(row["side"]),
        price=row["price"],
        quantity=row["quantity"],
        fee=row["fee"],
        fee_asset=row["fee_asset"],
        time=row["time"],
    )
