"""Send an operation's orders to the venue safely: record the intent first, then send, then record the answer.

Every order carries a deterministic client order id (rb<operation>-<role letter><attempt>), so a resend can be
recognised by the venue and an unknown outcome can be resolved by asking for that id before anything else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from robson.domain.events import order_moved, order_recorded
from robson.domain.operation import CloseReason, Operation
from robson.domain.orders import Order, OrderRole, OrderStatus, OrderType
from robson.domain.values import OrderSide
from robson.ports import (
    ExecutionRecord,
    OcoRequest,
    OrderReport,
    OrderRequest,
    Rejected,
    Retryable,
    UnitOfWork,
    UnknownOrder,
)
from robson.services import execution, policy
from robson.services.context import Context

NEVER_REACHED = "never reached the venue (asked for its client order id: no such order)"

_LETTER = {OrderRole.ENTRY: "e", OrderRole.STOP: "s", OrderRole.TARGET: "t", OrderRole.EXIT: "x"}


def client_order_id(operation: Operation, role: OrderRole) -> str:
    attempt = 1 + sum(1 for o in operation.orders if o.role is role)
    return f"rb{operation.id}-{_LETTER[role]}{attempt}"


def new_order(
    operation: Operation,
    role: OrderRole,
    side: OrderSide,
    type_: OrderType,
    quantity: Decimal,
    at: datetime,
    *,
    price: Decimal | None = None,
    stop_price: Decimal | None = None,
    list_id: str | None = None,
) -> Order:
    order = Order(
        client_order_id=client_order_id(operation, role),
        symbol=operation.symbol,
        side=side,
        type=type_,
        quantity=quantity,
        created_at=at,
        role=role,
        price=price,
        stop_price=stop_price,
        list_id=list_id,
    )
    operation.add_order(order)
    operation.record(order_recorded(order, at))
    return order


def apply_report(
    operation: Operation, report: OrderReport, at: datetime, exit_reason: CloseReason | None = None
) -> list[str]:
    """Bring one local order in line with what the venue says: new fills first, then the final status."""
    order = operation.order(report.client_order_id)
    before = order.status
    changes = []
    if report.exchange_order_id and order.exchange_order_id != report.exchange_order_id:
        order.exchange_order_id = report.exchange_order_id
    if order.status is OrderStatus.PENDING_NEW and report.status is not OrderStatus.REJECTED:
        order.move_to(OrderStatus.NEW, at)
    for fill in report.fills:
        if operation.apply_fill(fill, at, exit_reason=exit_reason) is not None:
            changes.append(f"{order.role} {fill.side} {fill.quantity} @ {fill.price}")
    if report.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED) and order.status.is_open:
        order.move_to(report.status, at)
    if order.status is not before:
        operation.record(order_moved(order, before, at))
    return changes


def reject(operation: Operation, order: Order, reason: str, at: datetime) -> None:
    before = order.status
    order.reject_reason = reason
    order.move_to(OrderStatus.REJECTED, at)
    operation.record(order_moved(order, before, at))


def forget(operation: Operation, order: Order, at: datetime) -> str:
    """An order the venue does not know: never placed (rejected), or acknowledged once and gone since (the venue
    purged it, the paper account was reset): nothing of it can work any more, so it is recorded as EXPIRED.
    Returns what happened, for the trader."""
    if order.status is OrderStatus.PENDING_NEW:
        reject(operation, order, NEVER_REACHED, at)
        return f"order {order.client_order_id} {NEVER_REACHED}"
    gone = OrderReport(
        order.client_order_id,
        order.exchange_order_id or "",
        order.symbol,
        order.side,
        order.type,
        OrderStatus.EXPIRED,
        order.quantity,
        order.filled_quantity,
    )
    apply_report(operation, gone, at)
    return f"order {order.client_order_id} is unknown to the venue: recorded as EXPIRED"


def send(
    ctx: Context,
    operation: Operation,
    order: Order,
    reference: Decimal | None = None,
    spread_bps: Decimal | None = None,
    within: UnitOfWork | None = None,
) -> OrderReport | None:
    """Send one recorded order (see services/execution.py: exactly once, retried only when the venue provably does
    not have it). Returns the venue's report, or None when the venue refused it (recorded on the order) or never
    received it. `reference` is the market price when it was sent, for the execution log's slippage (the order's
    own limit when not given); `spread_bps` the spread it was routed on (asked of the venue afterwards if not)."""
    return book(ctx, operation, place(ctx, operation, order, reference, spread_bps), within)


@dataclass(slots=True)
class Placed:
    """An order the venue has answered, nothing of it written or applied yet (see `book`): its report, or None
    with `refusal` saying why (the venue refused it, or never received it)."""

    order: Order
    report: OrderReport | None
    refusal: str | None
    sent: execution.Sent
    attempts: execution.Attempts
    answered: float  # ctx.stopwatch() when the venue answered


def place(
    ctx: Context,
    operation: Operation,
    order: Order,
    reference: Decimal | None = None,
    spread_bps: Decimal | None = None,
) -> Placed:
    """The sending half of `send`: the venue's answer, and nothing changed anywhere (not even the order in memory),
    so that several exits of one tick can all be sent before any is booked, each booking then in a unit of work
    of its own."""
    request = OrderRequest(
        order.client_order_id, order.symbol, order.side, order.type, order.quantity, order.price, order.stop_price
    )
    sent = _sent(ctx, operation, order, reference if reference is not None else order.price, spread_bps)
    attempts = execution.Attempts()
    report: OrderReport | None = None
    refusal: str | None = None
    try:
        report = execution.deliver(
            ctx,
            lambda: ctx.exchange.place_order(request),
            lambda: execution.find_order(ctx, order.symbol, order.client_order_id),
            attempts,
        )
    except Rejected as refused:
        refusal = attempts.error = f"{refused.kind}: {refused}"
    except Retryable:
        report = _asked(ctx, order)
        refusal = NEVER_REACHED if report is None else None
    return Placed(order, report, refusal, sent, attempts, ctx.stopwatch())


def book(ctx: Context, operation: Operation, placed: Placed, within: UnitOfWork | None = None) -> OrderReport | None:
    """The bookkeeping half of `send`: a refusal recorded on the order, the breakers' count and the execution
    log's row, committed (in `within` when given). Returns the venue's report, for the caller to apply."""
    order, report = placed.order, placed.report
    if placed.refusal is not None:
        reject(operation, order, placed.refusal, ctx.clock.now())
    row = execution.record(ctx, placed.sent, report, placed.attempts, _status(order, report), placed.answered)
    _count(ctx, order, report, [row], within)
    return report


def settle(
    ctx: Context, operation: Operation, placed: Placed, within: UnitOfWork, exit_reason: CloseReason | None = None
) -> tuple[OrderReport | None, list[str]]:
    """The venue's answer applied to the operation, then booked (`book`): its fills and status, the execution
    log's row and the breakers' count in one commit of `within`. Returns the report and what it changed."""
    changes = applied(ctx, operation, placed, exit_reason)
    return book(ctx, operation, placed, within), changes


def applied(ctx: Context, operation: Operation, placed: Placed, exit_reason: CloseReason | None = None) -> list[str]:
    """The venue's answer applied to the operation in memory, nothing written (`book` commits it)."""
    if placed.report is None:
        return []
    return apply_report(operation, placed.report, ctx.clock.now(), exit_reason)


def _sent(
    ctx: Context, operation: Operation, order: Order, requested: Decimal | None, spread_bps: Decimal | None = None
) -> execution.Sent:
    role = order.role.value if order.role is not None else "OTHER"
    return execution.Sent(
        operation.id, order.client_order_id, order.symbol, order.side, order.type, role, order.quantity, requested,
        ctx.stopwatch(), spread_bps,
    )  # fmt: skip


def _status(order: Order, report: OrderReport | None) -> str:
    return report.status.value if report is not None else order.status.value


def _count(
    ctx: Context, order: Order, report: OrderReport | None, rows: list[ExecutionRecord], within: UnitOfWork | None
) -> None:
    """Tell the breakers an order went out (or was refused): bursts and runs of rejections trip them. The execution
    log's rows go in the same commit: the caller's unit of work when given (every write of an order on one
    connection, whose page cache then stays warm for the next exit), else one of its own."""
    if report is None and order.reject_reason == NEVER_REACHED:  # nothing reached the venue: nothing to count
        if within is not None:
            execution.log(within, rows)
            within.commit()
            return
        with ctx.unit_of_work() as uow:
            execution.log(uow, rows)
            uow.commit()
        return
    policy.record_order(ctx, rejected=report is None, executions=rows, within=within)


def resolve_unknown(ctx: Context, operation: Operation, order: Order) -> OrderReport | None:
    """After the last attempt: the venue's answer by client order id; no such order means it never arrived (the
    plan may be executed again). If even asking fails, the order stays PENDING_NEW for reconciliation."""
    report = _asked(ctx, order)
    if report is None:
        reject(operation, order, NEVER_REACHED, ctx.clock.now())
    return report


def _asked(ctx: Context, order: Order) -> OrderReport | None:
    """The venue's answer for the order by its client order id; None: it has no such order."""
    try:
        return ctx.exchange.get_order(order.symbol, order.client_order_id)
    except UnknownOrder:
        return None


def send_protection(
    ctx: Context,
    operation: Operation,
    stop: Order,
    target: Order,
    within: UnitOfWork | None = None,
    spread_bps: Decimal | None = None,
) -> tuple[tuple[OrderReport, ...] | None, list[str]]:
    """Send the stop and the target as one OCO list; the venue's answer is applied to the operation and booked with
    the execution log's rows and the breakers' count, in one commit. `spread_bps`: the decision's spread, when it
    asked for one (else it is asked once, after the send). Returns the reports (None: refused or never received)
    and what they changed."""
    assert stop.stop_price is not None and target.price is not None and stop.list_id is not None
    request = OcoRequest(
        stop.list_id,
        operation.symbol,
        stop.side,
        stop.quantity,
        stop.client_order_id,
        stop.stop_price,
        target.client_order_id,
        target.price,
    )
    sent = [_sent(ctx, operation, leg, leg.price or leg.stop_price) for leg in (stop, target)]
    attempts = execution.Attempts()

    def find() -> tuple[OrderReport, ...] | None:
        found = [execution.find_order(ctx, operation.symbol, leg.client_order_id) for leg in (stop, target)]
        return None if any(r is None for r in found) else tuple(r for r in found if r is not None)

    result: tuple[OrderReport, ...] | None
    try:
        result = execution.deliver(ctx, lambda: ctx.exchange.place_oco(request), find, attempts)
    except Rejected as refusal:
        now = ctx.clock.now()
        for order in (stop, target):
            reject(operation, order, f"{refusal.kind}: {refusal}", now)
        attempts.error, result = f"{refusal.kind}: {refusal}", None
    except Retryable:
        reports = [resolve_unknown(ctx, operation, order) for order in (stop, target)]
        result = None if any(r is None for r in reports) else tuple(r for r in reports if r is not None)
    spread = spread_bps if spread_bps is not None else execution.spread_now(ctx, operation.symbol)  # one for both
    rows = [
        execution.record(
            ctx,
            replace(leg_sent, spread_bps=spread),
            result[i] if result else None,
            attempts,
            _status(leg, result[i] if result else None),
        )
        for i, (leg, leg_sent) in enumerate(zip((stop, target), sent, strict=True))
    ]
    changes = [change for report in result or () for change in apply_report(operation, report, ctx.clock.now())]
    _count(ctx, stop, result[0] if result else None, rows, within)
    return result, changes
