"""Working orders: follow them to their end, cancel them, and what a use case did to one operation."""

from __future__ import annotations

from dataclasses import dataclass, field

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


def settle(
    ctx: Context,
    uow: UnitOfWork,
    op: Operation,
    role: OrderRole,
    looks: int,
    outcome: Outcome,
    reason: CloseReason | None = None,
) -> bool:
    """Follow the operation's working orders of `role` (`follow`), then cancel whatever of them is still working,
    keeping any fill that raced the cancel. True when one is working even so (the cancel did not go through)."""
    follow(ctx, uow, op, role, looks, outcome, reason)
    if op.open_orders(role):
        cancel_open_orders(ctx, op, outcome)
        uow.commit()
    return bool(op.open_orders(role))


def follow(
    ctx: Context,
    uow: UnitOfWork,
    op: Operation,
    role: OrderRole,
    looks: int,
    outcome: Outcome,
    reason: CloseReason | None = None,
) -> None:
    """Look at the operation's working orders of `role` up to `looks` times (`ctx.wait` before each), adopting
    every fill, until none is working. A look the venue cannot answer now is skipped."""
    for _ in range(looks):
        working = op.open_orders(role)
        if not working:
            return
        ctx.wait()
        for order in working:
            try:
                report = ctx.exchange.get_order(order.symbol, order.client_order_id)
            except Retryable:
                continue
            outcome.changes += orders.apply_report(op, report, ctx.clock.now(), exit_reason=reason)
        uow.commit()


def cancel_open_orders(ctx: Context, op: Operation, outcome: Outcome) -> None:
    """Cancel every working order of the operation, adopting any fill that raced the cancel."""
    for order in op.open_orders():
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
