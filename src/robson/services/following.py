"""Follow the venue: adopt a position already held, sync working orders, keep every position protected, and
(paper mode) move the market."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from decimal import Decimal

from robson.domain.errors import ConcurrentChange, InvalidValue
from robson.domain.fills import Fill
from robson.domain.operation import Operation, OperationStatus
from robson.domain.orders import Order, OrderRole, OrderStatus, OrderType
from robson.domain.protection import ProtectionMode
from robson.domain.values import ZERO, Side, is_on_step
from robson.domain.venue import Capability
from robson.ports import ExchangeError, OrderReport, PaperMarket, UnitOfWork, UnknownOrder
from robson.risk.checks import CheckResult
from robson.risk.sizing import loss_per_unit
from robson.services import deadlines, orders, planning, policy
from robson.services.context import Context
from robson.services.errors import Refused
from robson.services.trading import enforce, ensure_protected, protect
from robson.services.working import Outcome


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
    _refuse_what_is_not_held(ctx, instrument.base, side, quantity)
    ctx.require_protection(ProtectionMode.EXCHANGE)  # an adopted position is protected on the venue
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
        protect(ctx, uow, op, outcome)
        return outcome


def _refuse_what_is_not_held(ctx: Context, base: str, side: Side, quantity: Decimal) -> None:
    """Adopt only what the venue holds and can carry: a short needs a venue that can hold one (margin); a long
    needs the quantity free on the account (its protection locks it) and not already held by another operation."""
    if side is Side.SHORT and Capability.SHORT not in ctx.exchange.capabilities:
        reason = f"{ctx.exchange.name} is a spot account: it holds no short position to adopt (shorts need margin)"
        raise Refused(f"VENUE_SIDE: {reason}", (CheckResult("VENUE_SIDE", False, "long", "short", reason),))
    if side is Side.SHORT:
        return
    balance = ctx.exchange.balances().get(base)
    free, total = (balance.free, balance.total) if balance is not None else (ZERO, ZERO)
    instruments = ctx.exchange.instruments()
    with ctx.unit_of_work() as uow:
        others = [
            op
            for op in uow.operations.list((OperationStatus.ACTIVE,))
            if op.side is Side.LONG
            and op.symbol in instruments
            and instruments[op.symbol].base == base
            and not op.position.is_flat
        ]
    claimed = sum((op.position.quantity for op in others), ZERO)
    available = max(min(free, total - claimed), ZERO)
    if quantity <= available:
        return
    held = f"the account holds {total} {base} ({free} free)"
    if others:
        held += f", {claimed} of it held by operation(s) {', '.join(str(op.id) for op in others)}"
    reason = f"{held}: not {quantity}; adopt at most {available}"
    raise Refused(f"HELD: {reason}", (CheckResult("HELD", False, str(available), str(quantity), reason),))


IN_FLIGHT_SECONDS = 60  # an order recorded this recently may still be on its way (its sender retries meanwhile)


def sync(
    ctx: Context,
    operation_ids: Collection[int] | None = None,
    *,
    enforce_policy: bool = True,
    in_flight_seconds: int = IN_FLIGHT_SECONDS,
) -> list[Outcome]:
    """Ask the venue about every working order (of every live operation, or of those given) and apply what
    happened: fills, exits, cancels; re-protect a position left unguarded; end what worked past its deadline;
    then mark the policy to market.

    The venue's open orders are listed once per symbol: an order listed there unchanged (same status, filled
    quantity and venue id) is not asked about again; only the others are (filled, cancelled, gone, filled in part, not
    listed yet). `robson run` syncs on every pass, so its cost stays one request per symbol, not two per
    protected position (which, against a venue's request weights, would soon be refused or throttled).

    An order recorded less than `in_flight_seconds` ago that the venue does not know yet is left as it is: the
    process that recorded it (robson run, close, another sync's re-protection) may be sending it this moment, so
    it is not declared "never reached" under that process's feet. The restarted robson run (which holds the lease:
    the process that was sending died) recovers with 0."""
    with ctx.unit_of_work() as uow:
        live = [
            op
            for op in uow.operations.list((OperationStatus.PLANNED, OperationStatus.ACTIVE))
            if operation_ids is None or op.id in operation_ids
        ]
    listed = _listed(ctx, live)
    outcomes = []
    for op in live:
        outcome = _sync_operation(ctx, op, listed, in_flight_seconds)
        if outcome.changes or outcome.warnings:
            outcomes.append(outcome)
    outcomes += deadlines.expire(ctx, operation_ids)  # what worked past its deadline ends as its role says
    return outcomes + (enforce(ctx) if enforce_policy else [])


SYNC_ATTEMPTS = 3  # reads of one operation that another process keeps writing, within one sync


def _sync_operation(ctx: Context, op: Operation, listed: dict[str, OrderReport], in_flight_seconds: int) -> Outcome:
    """One operation brought in line with the venue, in a unit of work of its own. Another process writing it
    meanwhile (robson run, price, close, sync) is no error: it is read again and decided again; one that keeps
    changing is left to the next sync, said in a warning."""
    assert op.id is not None
    known: Operation | None = op
    for _ in range(SYNC_ATTEMPTS):
        try:
            with ctx.unit_of_work() as uow:
                current = uow.operations.attach(known) if known is not None else uow.operations.get(op.id)
                if current is None or current.status not in (OperationStatus.PLANNED, OperationStatus.ACTIVE):
                    return Outcome(current or op)
                return _sync_orders(ctx, uow, current, listed, in_flight_seconds)
        except ConcurrentChange:
            known = None  # read it afresh; what the venue said is asked again where it may have moved
    outcome = Outcome(op)
    outcome.warnings.append(f"operation {op.id} kept changing in another process while synced: left to the next sync")
    return outcome


def _sync_orders(
    ctx: Context, uow: UnitOfWork, op: Operation, listed: dict[str, OrderReport], in_flight_seconds: int
) -> Outcome:
    outcome = Outcome(op)
    recent = ctx.clock.now() - timedelta(seconds=in_flight_seconds)
    for order in op.open_orders():
        if not order.status.is_open or _unchanged(order, listed.get(order.client_order_id)):
            continue
        try:
            report = ctx.exchange.get_order(order.symbol, order.client_order_id)
        except UnknownOrder:
            if order.status is OrderStatus.PENDING_NEW and order.created_at > recent:
                continue  # perhaps on its way this moment: asked about again at the next sync
            said = orders.forget(op, order, ctx.clock.now())  # below, the position is protected again
            if order.status is not OrderStatus.REJECTED:
                outcome.warnings.append(said)
            continue
        outcome.changes += orders.apply_report(op, report, ctx.clock.now())
    uow.commit()
    ensure_protected(ctx, uow, op, outcome)
    return outcome


def _listed(ctx: Context, live: Collection[Operation]) -> dict[str, OrderReport]:
    """The venue's open orders, by client order id, for the symbols the operations have working orders on."""
    listed: dict[str, OrderReport] = {}
    for symbol in sorted({order.symbol for op in live for order in op.open_orders()}):
        try:
            listed |= {report.client_order_id: report for report in ctx.exchange.open_orders(symbol)}
        except ExchangeError:  # this symbol's orders are asked about one by one; the others are not held back
            continue
    return listed


def _unchanged(order: Order, listed: OrderReport | None) -> bool:
    """Listed by the venue just as the ledger has it: same status, same filled quantity, same venue id."""
    return (
        listed is not None
        and listed.status is order.status
        and listed.filled_quantity == order.filled_quantity
        and listed.exchange_order_id == order.exchange_order_id
    )


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
    outside = instrument.price_outside(price)
    if outside is not None:  # nothing is stored: no mark, no price, no fill
        raise InvalidValue(f"price refused: {outside}")
    if not is_on_step(price, instrument.tick_size):
        raise InvalidValue(f"price {price} is not a multiple of the tick size {instrument.tick_size}")
    policy.observe_price(ctx, instrument.symbol, price)
    fills = market.push_price(instrument.symbol, price)
    return fills, sync(ctx)


def push_bar(
    ctx: Context, market: PaperMarket, symbol: str, bar: tuple[Decimal, Decimal, Decimal, Decimal]
) -> tuple[list[Fill], list[Outcome]]:
    instrument = ctx.instrument(symbol)
    for price in bar:
        outside = instrument.price_outside(price)
        if outside is not None:
            raise InvalidValue(f"bar refused: {outside}")
    policy.observe_price(ctx, symbol, bar[3])
    fills = market.push_bar(symbol, *bar)
    return fills, sync(ctx)
