"""Execute a plan, protect a position, take it out again, adopt one already held, and follow the venue."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from robson.domain.errors import InvalidValue
from robson.domain.fills import Fill
from robson.domain.operation import CloseReason, Operation, OperationStatus
from robson.domain.orders import OrderRole, OrderStatus, OrderType
from robson.domain.values import HUNDRED, ZERO, Side, is_on_step
from robson.ports import PaperMarket, UnitOfWork, UnknownOrder
from robson.risk.sizing import LotRules, SizingRefused, loss_per_unit
from robson.services import orders, planning, portfolio
from robson.services.context import Context
from robson.services.errors import NotFound, Refused
from robson.services.sizing import SizingParams, size


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
        _fit_to_market(ctx, op, reference, outcome)
        decision = planning.decide(ctx, op, entry=reference)
        if not decision.approved:
            raise Refused(decision.summary(), decision.failures)
        now = ctx.clock.now()
        entry = orders.new_order(op, OrderRole.ENTRY, op.side.entry_action, OrderType.MARKET, op.quantity, now)
        uow.commit()  # the intent is on record before the venue hears of it
        report = orders.send(ctx, op, entry)
        if report is None and entry.reject_reason == orders.NEVER_REACHED:
            uow.commit()  # nothing happened on the venue: the plan stays PLANNED and can be executed again
            raise Refused(f"the entry {orders.NEVER_REACHED}; nothing was placed, execute again")
        if report is None:
            op.reject(ctx.clock.now(), entry.reject_reason or "rejected by the venue")
            uow.commit()
            raise Refused(f"the venue rejected the entry: {entry.reject_reason}")
        outcome.changes += orders.apply_report(op, report, ctx.clock.now())
        uow.commit()
        if not op.position.is_flat:
            protect(ctx, uow, op, outcome)
        return outcome


def _fit_to_market(ctx: Context, op: Operation, reference: Decimal, outcome: Outcome) -> None:
    """Refuse if the market has left the thesis; shrink the size if entering at the market would risk more."""
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
    instrument = ctx.instrument(op.symbol)
    limits = ctx.limits(op.strategy)
    costs = ctx.costs(op.symbol)
    per_unit = loss_per_unit(op.side, reference, op.stop_price, costs, instrument.tick_size)
    if op.quantity * per_unit <= op.risk_amount:
        return
    capital = portfolio.equity(ctx.exchange, op.quote)
    try:
        resized = size(
            capital,
            reference,
            op.stop_price,
            SizingParams(),
            side=op.side,
            risk_percent=limits.max_risk_per_trade_percent,
            max_position_percent=limits.max_position_size_percent,
            costs=costs,
            lot=LotRules.of(instrument),
        )
    except SizingRefused as refusal:
        raise Refused(str(refusal)) from refusal
    quantity = min(resized.quantity, op.quantity)
    op.resize(quantity, quantity * per_unit, reference, ctx.clock.now())
    outcome.warnings.append(f"resized to {quantity} for the market price {reference}: the risk stays in budget")


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
    reports = orders.send_protection(ctx, op, stop, target)
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
            report = ctx.exchange.cancel_order(order.symbol, order.client_order_id)
        except UnknownOrder:
            report = None
        if report is None or report.status.is_open:
            try:
                report = ctx.exchange.get_order(order.symbol, order.client_order_id)
            except UnknownOrder:
                orders.reject(op, order, "unknown to the venue", ctx.clock.now())
                continue
        outcome.changes += orders.apply_report(op, report, ctx.clock.now())
        for sibling in op.open_orders():
            if sibling.list_id is not None and sibling.list_id == order.list_id:
                outcome.changes += orders.apply_report(
                    op, ctx.exchange.get_order(sibling.symbol, sibling.client_order_id), ctx.clock.now()
                )


def exit_position(ctx: Context, uow: UnitOfWork, op: Operation, reason: CloseReason, outcome: Outcome) -> None:
    """Cancel the protective orders first, then close what is still held at market."""
    cancel_open_orders(ctx, op, outcome)
    uow.commit()
    if op.position.is_flat:
        if op.status is OperationStatus.ACTIVE:
            op.close(reason, ctx.clock.now())
            uow.commit()
        return
    order = orders.new_order(
        op, OrderRole.EXIT, op.side.exit_action, OrderType.MARKET, op.position.quantity, ctx.clock.now()
    )
    op.position.mark_closing()
    uow.commit()
    report = orders.send(ctx, op, order)
    if report is None:
        uow.commit()
        raise Refused(f"the venue rejected the exit ({order.reject_reason}); operation {op.id} still holds a position")
    outcome.changes += orders.apply_report(op, report, ctx.clock.now(), exit_reason=reason)
    uow.commit()


def close(ctx: Context, operation_id: int, note: str) -> Outcome:
    """Close by hand: a PLANNED operation is cancelled, an ACTIVE one exits at market (close reason MANUAL)."""
    if not note.strip():
        raise InvalidValue("a reason is required to close an operation (--reason)")
    with ctx.unit_of_work() as uow:
        op = _get(uow, operation_id)
        outcome = Outcome(op)
        if op.status is OperationStatus.PLANNED:
            cancel_open_orders(ctx, op, outcome)  # an entry that filled meanwhile makes the operation ACTIVE
            if op.status is OperationStatus.PLANNED:
                op.cancel(ctx.clock.now(), note)
                uow.commit()
                return outcome
        if op.status is not OperationStatus.ACTIVE:
            raise InvalidValue(f"operation {operation_id} is already {op.status}")
        op.note = note
        exit_position(ctx, uow, op, CloseReason.MANUAL, outcome)
        return outcome


def adopt(
    ctx: Context,
    symbol: str,
    quantity: Decimal,
    entry: Decimal,
    *,
    side: Side = Side.LONG,
    stop: Decimal | None = None,
    target: Decimal | None = None,
    stop_percent: Decimal | None = None,
    target_percent: Decimal | None = None,
    strategy: str = "default",
) -> Outcome:
    """Create an ACTIVE operation for a position already held, with its stop and target, and protect it."""
    instrument = ctx.instrument(symbol)
    limits = ctx.limits(strategy)
    if not is_on_step(quantity, instrument.step_size) or quantity < instrument.min_quantity:
        raise InvalidValue(
            f"quantity {quantity} must be a multiple of the lot step {instrument.step_size} "
            f"and at least {instrument.min_quantity}"
        )
    stop, target = planning.resolve_levels(
        instrument,
        side,
        entry,
        stop,
        target,
        None,
        stop_percent or limits.stop_loss_percent,
        target_percent or limits.take_profit_percent,
    )
    costs = ctx.costs(instrument.symbol)
    now = ctx.clock.now()
    op = Operation(
        symbol=instrument.symbol,
        side=side,
        strategy=strategy,
        entry_price=entry,
        stop_price=stop,
        target_price=target,
        quantity=quantity,
        risk_amount=quantity * loss_per_unit(side, entry, stop, costs, instrument.tick_size),
        quote=instrument.quote,
        created_at=now,
        note="adopted",
    )
    with ctx.unit_of_work() as uow:
        uow.operations.add(op)
        entry_order = orders.new_order(op, OrderRole.ENTRY, side.entry_action, OrderType.MARKET, quantity, now)
        fill = Fill(
            f"adopt-{op.id}",
            entry_order.client_order_id,
            op.symbol,
            side.entry_action,
            entry,
            quantity,
            ZERO,
            instrument.quote,
            now,
        )
        op.apply_fill(fill, now)
        uow.commit()
        outcome = Outcome(op)
        held = ctx.exchange.balances().get(instrument.base)
        if side is Side.LONG and (held is None or held.free < quantity):
            free = held.free if held else ZERO
            outcome.warnings.append(
                f"not protected on {ctx.exchange.name}: the account holds {free} {instrument.base} free, "
                f"not {quantity}; the stop {stop} is on record for the monitor"
            )
            return outcome
        protect(ctx, uow, op, outcome)
        return outcome


def sync(ctx: Context) -> list[Outcome]:
    """Ask the venue about every working order and apply what happened: fills, exits, cancels."""
    outcomes = []
    with ctx.unit_of_work() as uow:
        for op in uow.operations.list((OperationStatus.PLANNED, OperationStatus.ACTIVE)):
            working = op.open_orders()
            outcome = Outcome(op)
            for order in working:
                if not order.status.is_open:
                    continue
                try:
                    report = ctx.exchange.get_order(order.symbol, order.client_order_id)
                except UnknownOrder:
                    if order.status is OrderStatus.PENDING_NEW:
                        orders.reject(op, order, orders.NEVER_REACHED, ctx.clock.now())
                    else:
                        outcome.warnings.append(f"order {order.client_order_id} is unknown to the venue")
                    continue
                outcome.changes += orders.apply_report(op, report, ctx.clock.now())
            uow.commit()
            _ensure_protected(ctx, uow, op, outcome)
            if outcome.changes or outcome.warnings:
                outcomes.append(outcome)
    return outcomes


def _ensure_protected(ctx: Context, uow: UnitOfWork, op: Operation, outcome: Outcome) -> None:
    """A position must never be left without its stop: re-protect it (or exit) when nothing guards it."""
    if op.status is not OperationStatus.ACTIVE or op.position.is_flat or op.open_orders():
        return
    base = ctx.instrument(op.symbol).base
    held = ctx.exchange.balances().get(base)
    if op.side is Side.LONG and (held is None or held.free < op.position.quantity):
        outcome.warnings.append(f"operation {op.id} holds {op.position.quantity} with no protective order")
        return
    outcome.warnings.append(f"operation {op.id} had no protective order on the venue: protecting it again")
    protect(ctx, uow, op, outcome)


def reset_paper(ctx: Context, market: PaperMarket, balances: dict[str, Decimal], force: bool = False) -> None:
    """Paper mode: start the account afresh. Refused while operations still hold positions or working orders,
    since the ledger would then point at orders the venue no longer knows."""
    with ctx.unit_of_work() as uow:
        live = [op.id for op in uow.operations.list((OperationStatus.ACTIVE,))]
        live += [op.id for op in uow.operations.list((OperationStatus.PLANNED,)) if op.open_orders()]
    if live and not force:
        ids = ", ".join(str(i) for i in live)
        raise Refused(f"operations {ids} are still live on the paper venue; close them first or pass --force")
    market.reset(balances)


def push_price(ctx: Context, market: PaperMarket, symbol: str, price: Decimal) -> tuple[list[Fill], list[Outcome]]:
    """Paper mode: move the market, let resting orders fill, and bring the operations up to date."""
    instrument = ctx.instrument(symbol)
    if not is_on_step(price, instrument.tick_size):
        raise InvalidValue(f"price {price} is not a multiple of the tick size {instrument.tick_size}")
    fills = market.push_price(instrument.symbol, price)
    return fills, sync(ctx)


def push_bar(
    ctx: Context, market: PaperMarket, symbol: str, bar: tuple[Decimal, Decimal, Decimal, Decimal]
) -> tuple[list[Fill], list[Outcome]]:
    fills = market.push_bar(symbol, *bar)
    return fills, (sync(ctx) if fills else [])
