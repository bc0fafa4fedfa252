"""Execute a plan, protect a position, take it out again, adopt one already held, and follow the venue."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace
from decimal import Decimal

from robson.domain.errors import DomainError, InvalidValue
from robson.domain.operation import CloseReason, Operation, OperationStatus
from robson.domain.orders import Order, OrderRole, OrderStatus, OrderType
from robson.domain.values import HUNDRED, ONE, OrderSide, ceil_to_step, floor_to_step
from robson.ports import ExchangeError, Quote, Retryable, UnitOfWork, UnknownOrder
from robson.risk.sizing import loss_per_unit
from robson.services import execution, orders, planning, policy, routing
from robson.services.context import Context
from robson.services.errors import NotFound, Refused


@dataclass(slots=True)
class Outcome:
    """What a use case did to one operation, and anything the trader must know."""

    operation: Operation
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _get(uow: UnitOfWork, operation_id: int) -> Operation:
    operation = uow.operations.get(operation_id)
    if operation is None:
        raise NotFound(f"unknown operation id {operation_id}")
    return operation


def execute(ctx: Context, operation_id: int) -> Outcome:
    """Place the entry at market, then its protective stop and target (one OCO list on the venue)."""
    policy.refresh(ctx)
    with ctx.unit_of_work() as uow:
        op = _get(uow, operation_id)
        if op.status is not OperationStatus.PLANNED:
            raise InvalidValue(f"operation {operation_id} is {op.status}; only PLANNED operations are executed")
        if op.open_orders(OrderRole.ENTRY):
            raise Refused(f"operation {operation_id} already has an entry order working; run robson sync")
        reference = ctx.exchange.last_price(op.symbol)
        if reference is None:
            raise Refused(f"no market price for {op.symbol} yet (paper mode: robson price {op.symbol} PRICE)")
        outcome = Outcome(op)
        _fit_to_market(ctx, uow, op, reference, outcome)
        decision = planning.decide(ctx, uow, op, entry=reference)
        if not decision.approved:
            raise Refused(decision.summary(), decision.failures)
        side = op.side.entry_action
        chosen = routing.route(
            side, reference, quote_of(ctx, op.symbol), ctx.instrument(op.symbol).tick_size, ctx.execution, urgent=False
        )
        now = ctx.clock.now()
        entry = orders.new_order(op, OrderRole.ENTRY, side, chosen.type, op.quantity, now, price=chosen.limit)
        uow.commit()  # the intent is on record before the venue hears of it
        report = orders.send(ctx, op, entry, reference, chosen.spread_bps, within=uow)
        if report is None and entry.reject_reason == orders.NEVER_REACHED:
            uow.commit()  # nothing happened on the venue: the plan stays PLANNED and can be executed again
            raise Refused(f"the entry {orders.NEVER_REACHED}; nothing was placed, execute again")
        if report is None:
            op.reject(ctx.clock.now(), entry.reject_reason or "rejected by the venue")
            uow.commit()
            raise Refused(f"the venue rejected the entry: {entry.reject_reason}")
        outcome.changes += orders.apply_report(op, report, ctx.clock.now())
        if not chosen.is_market:
            outcome.warnings.append(f"entry: {chosen.why}")
        uow.commit()
        _complete_entry(ctx, uow, op, entry, outcome)
        if not op.position.is_flat and op.protection == "exchange":
            protect(ctx, uow, op, outcome)
        return outcome


def quote_of(ctx: Context, symbol: str) -> Quote | None:
    """The venue's best bid and ask, or None when it has none or cannot say now (routing then goes by the
    reference price alone)."""
    try:
        return ctx.exchange.quote(symbol)
    except ExchangeError:
        return None


def _complete_entry(ctx: Context, uow: UnitOfWork, op: Operation, entry: Order, outcome: Outcome) -> None:
    """Follow an entry that is still working (a partial fill, a limit resting) to completion; after
    `fill_checks` looks the unfilled rest is cancelled, and the position is exactly what filled. An entry that
    filled nothing leaves the plan PLANNED."""
    if not entry.status.is_open:
        return
    follow(ctx, uow, op, OrderRole.ENTRY, ctx.execution.fill_checks, outcome)
    if not entry.status.is_open:
        return
    cancel_open_orders(ctx, op, outcome)
    uow.commit()
    if entry.status.is_open:
        outcome.warnings.append(f"the entry {entry.client_order_id} could not be cancelled; robson sync follows it")
    elif op.status is OperationStatus.PLANNED:
        raise Refused(f"the entry filled nothing and was cancelled; operation {op.id} stays PLANNED, execute again")
    else:
        outcome.warnings.append(
            f"the entry filled {entry.filled_quantity} of {entry.quantity}; the rest was cancelled: the position and "
            "its protection are what filled"
        )


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


def _fit_to_market(ctx: Context, uow: UnitOfWork, op: Operation, reference: Decimal, outcome: Outcome) -> None:
    """Refuse if the market has left the thesis; shrink the size if entering at the market would risk more than
    the plan did, or more than today's budget (the equity may have fallen since the plan: fees, other losses)."""
    sign = op.side.sign
    if (reference - op.stop_price) * sign <= 0:
        raise Refused(f"{op.symbol} at {reference} is already through the stop {op.stop_price}")
    if op.target_price is not None and (op.target_price - reference) * sign <= 0:
        raise Refused(f"{op.symbol} at {reference} is already past the target {op.target_price}")
    deviation = abs(reference - op.entry_price) / op.entry_price * HUNDRED
    if deviation > ctx.max_entry_deviation_percent:
        raise Refused(
            f"{op.symbol} at {reference} is {deviation:.2f}% from the planned entry {op.entry_price} "
            f"(limit {ctx.max_entry_deviation_percent}%); plan again"
        )
    quantity = planning.fitted_quantity(ctx, uow, op, reference)
    if quantity == op.quantity:
        return
    instrument = ctx.instrument(op.symbol)
    per_unit = loss_per_unit(op.side, reference, op.stop_price, ctx.costs(op.symbol), instrument.tick_size)
    op.resize(quantity, quantity * per_unit, reference, ctx.clock.now())
    outcome.warnings.append(f"resized to {quantity} for the market price {reference}: the risk stays in today's budget")


def protect(ctx: Context, uow: UnitOfWork, op: Operation, outcome: Outcome) -> None:
    """Rest a stop and a target for the whole open quantity as one OCO list; if the venue refuses, exit now."""
    now = ctx.clock.now()
    quantity = op.position.quantity
    list_id = f"rb{op.id}-p{1 + sum(1 for o in op.orders if o.role is OrderRole.STOP)}"
    exit_side = op.side.exit_action
    stop = orders.new_order(
        op, OrderRole.STOP, exit_side, OrderType.STOP_MARKET, quantity, now, stop_price=op.stop_price, list_id=list_id
    )
    assert op.target_price is not None
    target = orders.new_order(
        op,
        OrderRole.TARGET,
        exit_side,
        OrderType.TAKE_PROFIT_LIMIT,
        quantity,
        now,
        price=op.target_price,
        stop_price=op.target_price,
        list_id=list_id,
    )
    uow.commit()
    reports = orders.send_protection(ctx, op, stop, target, within=uow)
    if reports is not None:
        for report in reports:
            outcome.changes += orders.apply_report(op, report, ctx.clock.now())
        uow.commit()
        return
    outcome.warnings.append(f"the venue refused the protective orders ({stop.reject_reason}); exiting at market")
    uow.commit()
    exit_position(ctx, uow, op, _reason_for_unprotected(ctx, op), outcome)


def _reason_for_unprotected(ctx: Context, op: Operation) -> CloseReason:
    last = ctx.exchange.last_price(op.symbol)
    if last is not None and (last - op.stop_price) * op.side.sign <= 0:
        return CloseReason.STOP_LOSS
    if last is not None and op.target_price is not None and (op.target_price - last) * op.side.sign <= 0:
        return CloseReason.TAKE_PROFIT
    return CloseReason.PROTECTION_FAILED


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


MARKETABLE_THROUGH = Decimal("0.001")  # a manual or emergency close crosses the price by 0.1%
_LIMIT_FIRST = (CloseReason.MANUAL, CloseReason.KILL_SWITCH)


def cancel_working(ctx: Context, uow: UnitOfWork, op: Operation, outcome: Outcome) -> None:
    """Cancel the operation's working orders, if it has any, and record what the venue said."""
    if op.open_orders():
        cancel_open_orders(ctx, op, outcome)
        uow.commit()


def replace_protection(ctx: Context, uow: UnitOfWork, op: Operation, outcome: Outcome) -> None:
    """Rest a new stop and target for the current quantity and stop. Spot locks the asset under the old list, so
    it goes first; if the new one is refused, `protect` exits the position."""
    cancel_working(ctx, uow, op, outcome)
    if op.status is OperationStatus.ACTIVE and not op.position.is_flat:
        protect(ctx, uow, op, outcome)


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
    (slippage, spread); whatever such a limit has not filled after `ctx.close_fallback_checks` looks goes at
    market. `reference` is the price that triggered the exit, when the caller knows it."""
    cancel_working(ctx, uow, op, outcome)
    if op.position.is_flat:
        if op.status is OperationStatus.ACTIVE:
            op.close(reason, ctx.clock.now())
            uow.commit()
        return
    if op.exit_reason is None:
        op.start_exit(reason, ctx.clock.now())
    op.position.mark_closing()
    last = reference if reference is not None and reason in _URGENT else ctx.exchange.last_price(op.symbol)
    limit = _first_limit(ctx, op, reason, last, outcome) if last is not None else None
    if limit is not None:
        _send_exit(ctx, uow, op, reason, outcome, limit, last)
        settle(ctx, uow, op, OrderRole.EXIT, ctx.close_fallback_checks, outcome, reason)  # the rest goes at market
        if op.position.is_flat:
            return
        outcome.warnings.append(f"the marketable limit left {op.position.quantity} unfilled: sent at market")
    _market_exit(ctx, uow, op, reason, outcome, last)


_URGENT = (CloseReason.STOP_LOSS, CloseReason.TRAILING_STOP, CloseReason.PROTECTION_FAILED, CloseReason.LIQUIDATION)
MARKET_EXIT_ORDERS = 3  # market orders for one exit when the venue ends one with part of it unfilled


def _first_limit(ctx: Context, op: Operation, reason: CloseReason, last: Decimal, outcome: Outcome) -> Decimal | None:
    """The limit an exit tries first, or None for straight to market."""
    if reason in _LIMIT_FIRST:
        return _through(ctx, op, last)
    if reason in _URGENT:
        return None
    side = op.side.exit_action
    tick = ctx.instrument(op.symbol).tick_size
    rules = replace(ctx.execution, on_excess_slippage="limit")  # an exit is guarded, never refused
    chosen = routing.route(side, last, quote_of(ctx, op.symbol), tick, rules, urgent=False)
    if chosen.is_market:
        return None
    outcome.warnings.append(f"exit: {chosen.why}")
    return chosen.limit


def _market_exit(
    ctx: Context, uow: UnitOfWork, op: Operation, reason: CloseReason, outcome: Outcome, reference: Decimal | None
) -> None:
    """Exit at market. An order that fills only in part (a thin book) is followed for a few looks, its rest
    cancelled if it is still working, and another market order sent for what is still held."""
    for _ in range(MARKET_EXIT_ORDERS):
        _send_exit(ctx, uow, op, reason, outcome, None, reference)
        still_working = settle(ctx, uow, op, OrderRole.EXIT, ctx.close_fallback_checks, outcome, reason)
        if op.position.is_flat:
            return
        if still_working:
            outcome.warnings.append("an exit order could not be cancelled: robson sync follows it")
            return
    outcome.warnings.append(
        f"{MARKET_EXIT_ORDERS} market orders left {op.position.quantity} {op.symbol} open: the next pass exits the rest"
    )


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
    report = orders.send(ctx, op, order, reference, within=uow)
    if report is None:
        uow.commit()
        if limit is not None:
            outcome.warnings.append(f"the marketable limit was refused ({order.reject_reason}): sending at market")
            return
        raise Refused(f"the venue rejected the exit ({order.reject_reason}); operation {op.id} still holds a position")
    outcome.changes += orders.apply_report(op, report, ctx.clock.now(), exit_reason=reason)
    uow.commit()


def close(ctx: Context, operation_id: int, note: str) -> Outcome:
    """Close by hand: a PLANNED operation is cancelled, an ACTIVE one exits at market (close reason MANUAL)."""
    if not note.strip():
        raise InvalidValue("a reason is required to close an operation (--reason)")
    with ctx.unit_of_work() as uow:
        op = _get(uow, operation_id)
        if op.status.is_final:
            raise InvalidValue(f"operation {operation_id} is already {op.status}")
        outcome = Outcome(op)
        _take_out(ctx, uow, op, CloseReason.MANUAL, note, outcome)
    enforce(ctx)
    return outcome


def _take_out(ctx: Context, uow: UnitOfWork, op: Operation, reason: CloseReason, note: str, outcome: Outcome) -> None:
    """Cancel a PLANNED operation (its entry may have filled meanwhile: then it is ACTIVE), exit an ACTIVE one."""
    if op.status is OperationStatus.PLANNED:
        cancel_open_orders(ctx, op, outcome)
        if op.status is OperationStatus.PLANNED:
            op.cancel(ctx.clock.now(), note)
            uow.commit()
            return
    op.note = note
    exit_position(ctx, uow, op, reason, outcome)


def flatten_all(ctx: Context, reason: CloseReason, note: str) -> list[Outcome]:
    """Cancel every working order and close every position at market; cancel PLANNED operations. One failure
    does not stop the others: each is reported on its outcome, and the rest go on."""
    outcomes = []
    with ctx.unit_of_work() as uow:
        for op in uow.operations.list((OperationStatus.PLANNED, OperationStatus.ACTIVE)):
            outcome = Outcome(op)
            outcomes.append(outcome)
            try:
                _take_out(ctx, uow, op, reason, note, outcome)
            except (Refused, ExchangeError, DomainError) as error:  # one failure must not stop the others
                uow.commit()
                outcome.warnings.append(f"operation {op.id}: {error}")
    for report in ctx.exchange.open_orders():  # orders the ledger does not know: nothing may keep working
        with contextlib.suppress(ExchangeError):  # gone meanwhile, or refused: the next sync or kill sees it
            ctx.exchange.cancel_order(report.symbol, report.client_order_id)
    return outcomes


def kill(ctx: Context, reason: str = "") -> list[Outcome]:
    """The kill switch: halt first (nothing new may enter), then cancel everything and close everything at
    market with the close reason KILL_SWITCH. Trading stays HALTED until robson resume --override."""
    policy.halt_for_kill(ctx, reason)
    outcomes = flatten_all(ctx, CloseReason.KILL_SWITCH, f"kill switch: {reason}".rstrip(": "))
    policy.refresh(ctx)
    return outcomes


def enforce(ctx: Context) -> list[Outcome]:
    """Mark to market and apply the policy: a tier set to flatten closes everything when it trips."""
    update = policy.refresh(ctx)
    if not update.flatten:
        return []
    return flatten_all(ctx, CloseReason.KILL_SWITCH, f"{', '.join(update.flatten)} tripped: flattened")
