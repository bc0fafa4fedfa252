"""Working orders: follow them to their end, cancel them, and what a use case did to one operation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from robson.domain.operation import CloseReason, Operation
from robson.domain.orders import Order, OrderRole, OrderStatus
from robson.ports import ExchangeError, Quote, Retryable, UnitOfWork, UnknownOrder
from robson.services import execution, orders
from robson.services.context import Context


@dataclass(slots=True)
class Outcome:
    """What a use case did to one operation, and anything the trader must know."""

    operation: Operation
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def quote_of(ctx: Context, symbol: str) -> Quote | None:
    """The venue's best bid and ask, or None when it has none or cannot say now (routing then goes by the
    reference price alone)."""
    try:
        return ctx.exchange.quote(symbol)
    except ExchangeError:
        return None


def look(
    ctx: Context, uow: UnitOfWork, op: Operation, role: OrderRole, outcome: Outcome, reason: CloseReason | None = None
) -> None:
    """One look at the operation's working orders of `role`, adopting every fill (a look the venue cannot answer
    now is skipped). Nothing waits here: the loop looks again on its own clock."""
    working = op.open_orders(role)
    for order in working:
        try:
            report = ctx.exchange.get_order(order.symbol, order.client_order_id)
        except Retryable:
            continue
        outcome.changes += orders.apply_report(op, report, ctx.clock.now(), exit_reason=reason)
    if working:
        uow.commit()


def work_until(uow: UnitOfWork, op: Operation, role: OrderRole, seconds: Decimal, now: datetime) -> datetime:
    """Give the operation's working orders of `role` until now + `seconds`; the loop's pass at that time does what
    follows (deadlines.expire). Returns the deadline."""
    deadline = now + timedelta(seconds=float(seconds))
    for order in op.open_orders(role):
        order.deadline = deadline
    uow.commit()
    return deadline


def cancel_open_orders(ctx: Context, op: Operation, outcome: Outcome, role: OrderRole | None = None) -> None:
    """Cancel every working order of the operation (of `role`, if given), adopting any fill that raced the
    cancel."""
    for order in op.open_orders(*(role,) if role is not None else ()):
        if not order.status.is_open:  # an OCO sibling closed by the previous cancel
            continue
        try:
            report = execution.cancel(ctx, order.symbol, order.client_order_id)
        except UnknownOrder:
            report = None
        if report is None or report.status.is_open:
            try:
                report = ctx.exchange.get_order(order.symbol, order.client_order_id)
            except UnknownOrder:
                _unknown_to_the_venue(ctx, op, order, outcome)
                continue
        outcome.changes += orders.apply_report(op, report, ctx.clock.now())
        for sibling in op.open_orders():
            if sibling.list_id is not None and sibling.list_id == order.list_id:
                outcome.changes += orders.apply_report(
                    op, ctx.exchange.get_order(sibling.symbol, sibling.client_order_id), ctx.clock.now()
                )


def _unknown_to_the_venue(ctx: Context, op: Operation, order: Order, outcome: Outcome) -> None:
    said = orders.forget(op, order, ctx.clock.now())
    if order.status is not OrderStatus.REJECTED:
        outcome.warnings.append(said)


def cancel_working(ctx: Context, uow: UnitOfWork, op: Operation, outcome: Outcome) -> None:
    """Cancel the operation's working orders, if it has any, and record what the venue said."""
    if op.open_orders():
        cancel_open_orders(ctx, op, outcome)
        uow.commit()
