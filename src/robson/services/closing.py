"""Taking a position out: a crossed stop at market at once, nothing asked of the venue first; a manual or
emergency close through a marketable limit, then market; a target or time exit guarded by the routing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from robson.domain.errors import DomainError
from robson.domain.operation import CloseReason, Operation, OperationStatus
from robson.domain.orders import OrderRole, OrderType
from robson.domain.values import ONE, OrderSide, ceil_to_step, floor_to_step
from robson.ports import ExchangeError, UnitOfWork
from robson.services import orders, routing
from robson.services.context import Context
from robson.services.errors import Refused
from robson.services.working import Outcome, cancel_open_orders, cancel_working, look, quote_of, work_until

MARKETABLE_THROUGH = Decimal("0.001")  # a manual or emergency close crosses the price by 0.1%
_LIMIT_FIRST = (CloseReason.MANUAL, CloseReason.KILL_SWITCH)


def exit_position(
    ctx: Context,
    uow: UnitOfWork,
    op: Operation,
    reason: CloseReason,
    outcome: Outcome,
    reference: Decimal | None = None,
) -> None:
    """Cancel the protective orders first, then close what is still held. A crossed stop (or a position left
    unprotected) goes at market at once, nothing asked of the venue before; a manual or emergency close first
    sends a marketable limit 0.1% through the price, a target or time exit a limit when the routing guards it
    (slippage, spread); such a limit still working after its first answer works for `ctx.close_fallback_seconds`,
    and the loop's pass then sends the rest at market (finish_exit). Nothing waits here. `reference` is the price
    that triggered the exit, when the caller knows it."""
    cancel_working(ctx, uow, op, outcome)
    if op.position.is_flat:
        if op.status is OperationStatus.ACTIVE:
            op.close(reason, ctx.clock.now())
            uow.commit()
        return
    if op.exit_reason is None:
        op.start_exit(reason, ctx.clock.now())
    op.position.mark_closing()
    last = reference if reference is not None and reason in URGENT else ctx.exchange.last_price(op.symbol)
    limit = _first_limit(ctx, op, reason, last, outcome) if last is not None else None
    if limit is not None:
        _send_exit(ctx, uow, op, reason, outcome, limit, last)
        if op.position.is_flat:
            return
        if op.open_orders(OrderRole.EXIT) and _given_time(ctx, uow, op, outcome, "marketable limit", reason):
            return
        outcome.warnings.append(f"the marketable limit left {op.position.quantity} unfilled: sent at market")
    market_exit(ctx, uow, op, reason, outcome, last)


def _given_time(ctx: Context, uow: UnitOfWork, op: Operation, outcome: Outcome, what: str, reason: CloseReason) -> bool:
    """An exit order still working: it works until now + close_fallback_seconds, and the loop's pass then sends
    the rest at market (finish_exit); True. With no time to give, its rest is cancelled at once and False (the
    caller goes on at market), unless the cancel did not go through (then True: robson sync follows it)."""
    now = ctx.clock.now()
    deadline = work_until(uow, op, OrderRole.EXIT, ctx.close_fallback_seconds, now)
    if deadline > now:
        outcome.warnings.append(
            f"the exit's {what} works until {deadline:%Y-%m-%d %H:%M:%S} UTC; then the rest goes at market "
            "(robson run, or robson sync)"
        )
        return True
    return _still_working_after_cancel(ctx, uow, op, outcome, reason)


def _still_working_after_cancel(
    ctx: Context, uow: UnitOfWork, op: Operation, outcome: Outcome, reason: CloseReason
) -> bool:
    """One last look at the working exit, then its rest cancelled (a fill that raced the cancel is kept). True when
    it is working even so."""
    look(ctx, uow, op, OrderRole.EXIT, outcome, reason)
    if op.open_orders(OrderRole.EXIT):
        cancel_open_orders(ctx, op, outcome, OrderRole.EXIT)
        uow.commit()
    if op.open_orders(OrderRole.EXIT):
        outcome.warnings.append("an exit order could not be cancelled: robson sync follows it")
        return True
    return False


def finish_exit(ctx: Context, uow: UnitOfWork, op: Operation, outcome: Outcome) -> None:
    """The working exit's deadline has come: one last look, its rest cancelled, and what is still held goes at
    market."""
    reason = op.exit_reason or CloseReason.MANUAL
    if _still_working_after_cancel(ctx, uow, op, outcome, reason):
        return
    if op.position.is_flat or op.status is not OperationStatus.ACTIVE:
        return
    outcome.warnings.append(f"the exit left {op.position.quantity} unfilled by its deadline: sent at market")
    market_exit(ctx, uow, op, reason, outcome, None)


URGENT = (CloseReason.STOP_LOSS, CloseReason.TRAILING_STOP, CloseReason.PROTECTION_FAILED, CloseReason.LIQUIDATION)
MARKET_EXIT_ORDERS = 3  # market orders for one exit when the venue ends one with part of it unfilled


def _first_limit(ctx: Context, op: Operation, reason: CloseReason, last: Decimal, outcome: Outcome) -> Decimal | None:
    """The limit an exit tries first, or None for straight to market."""
    if reason in _LIMIT_FIRST:
        return _through(ctx, op, last)
    if reason in URGENT:
        return None
    side = op.side.exit_action
    tick = ctx.instrument(op.symbol).tick_size
    rules = replace(ctx.execution, on_excess_slippage="limit")  # an exit is guarded, never refused
    chosen = routing.route(side, last, quote_of(ctx, op.symbol), tick, rules, urgent=False)
    if chosen.is_market:
        return None
    outcome.warnings.append(f"exit: {chosen.why}")
    return chosen.limit


def market_exit(
    ctx: Context,
    uow: UnitOfWork,
    op: Operation,
    reason: CloseReason,
    outcome: Outcome,
    reference: Decimal | None,
    placed: orders.Placed | None = None,
) -> None:
    """Exit at market. An order the venue ends with part of it unfilled (a thin book) is followed at once by
    another market order for what is still held; one the venue leaves working is given close_fallback_seconds
    (the loop's pass then cancels its rest and goes on: finish_exit). `placed`: the first market order, already
    sent (`send_market_exits`), whose answer is yet to be booked."""
    for _ in range(MARKET_EXIT_ORDERS):
        if placed is None:
            _send_exit(ctx, uow, op, reason, outcome, None, reference)
        else:
            _booked(ctx, uow, op, reason, outcome, placed, None)
            placed = None
        if op.position.is_flat:
            return
        if op.open_orders(OrderRole.EXIT) and _given_time(ctx, uow, op, outcome, "market order", reason):
            return
    outcome.warnings.append(
        f"{MARKET_EXIT_ORDERS} market orders left {op.position.quantity} {op.symbol} open: the next pass exits the rest"
    )


def send_market_exits(
    ctx: Context,
    uow: UnitOfWork,
    exits: Sequence[tuple[Operation, CloseReason, Outcome]],
    reference: Decimal,
) -> tuple[list[tuple[Operation, CloseReason, Outcome, orders.Placed]], dict[int, Exception]]:
    """Urgent exits of operations with nothing working on the venue (one tick crossing several stops): every
    exit's intent on record in one commit, then every order sent, one right after another; nothing is booked or
    applied here (see `market_exit`), so no exit waits for another's bookkeeping. Returns the orders placed, and
    why each one the venue could not take failed, by operation id (its intent stays on record: reconciliation
    resolves it); the others go on. Raises (ConcurrentChange, a DomainError) only before anything was sent.
    `reference`: the crossing price."""
    now = ctx.clock.now()
    intents = []
    for op, reason, outcome in exits:
        op.position.mark_closing()
        order = orders.new_order(op, OrderRole.EXIT, op.side.exit_action, OrderType.MARKET, op.position.quantity, now)
        intents.append((op, reason, outcome, order))
    uow.commit()  # every intent on record before the venue hears of any
    placed = []
    failed: dict[int, Exception] = {}
    for op, reason, outcome, order in intents:
        try:
            placed.append((op, reason, outcome, orders.place(ctx, op, order, reference)))
        except (ExchangeError, DomainError) as error:
            assert op.id is not None
            failed[op.id] = error
    return placed, failed


def _through(ctx: Context, op: Operation, last: Decimal) -> Decimal:
    tick = ctx.instrument(op.symbol).tick_size
    if op.side.exit_action is OrderSide.SELL:
        return floor_to_step(last * (ONE - MARKETABLE_THROUGH), tick)
    return ceil_to_step(last * (ONE + MARKETABLE_THROUGH), tick)


def _send_exit(
    ctx: Context,
    uow: UnitOfWork,
    op: Operation,
    reason: CloseReason,
    outcome: Outcome,
    limit: Decimal | None,
    reference: Decimal | None = None,
) -> None:
    kind = OrderType.MARKET if limit is None else OrderType.LIMIT
    order = orders.new_order(
        op, OrderRole.EXIT, op.side.exit_action, kind, op.position.quantity, ctx.clock.now(), price=limit
    )
    uow.commit()
    _booked(ctx, uow, op, reason, outcome, orders.place(ctx, op, order, reference), limit)


def _booked(
    ctx: Context,
    uow: UnitOfWork,
    op: Operation,
    reason: CloseReason,
    outcome: Outcome,
    placed: orders.Placed,
    limit: Decimal | None,
) -> None:
    """Book an exit order's answer and apply it to the operation. A refused marketable limit is only a warning
    (the market order follows); a refused market order raises Refused. The answer is applied and booked in one
    commit."""
    report, changes = orders.settle(ctx, op, placed, uow, exit_reason=reason)
    if report is None:
        uow.commit()
        reject_reason = placed.order.reject_reason
        if limit is not None:
            outcome.warnings.append(f"the marketable limit was refused ({reject_reason}): sending at market")
            return
        raise Refused(f"the venue rejected the exit ({reject_reason}); operation {op.id} still holds a position")
    outcome.changes += changes
