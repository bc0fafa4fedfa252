"""Execute a plan and protect its position; close one by hand, flatten everything, the kill switch."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from decimal import Decimal

from robson.domain.errors import ConcurrentChange, DomainError, InvalidValue
from robson.domain.operation import CloseReason, Operation, OperationStatus
from robson.domain.orders import Order, OrderRole, OrderType
from robson.domain.protection import ProtectionMode
from robson.domain.values import ZERO, Side
from robson.domain.venue import Capability
from robson.ports import ExchangeError, UnitOfWork, UnknownOrder
from robson.risk.policy_state import PolicyState
from robson.risk.sizing import loss_per_unit
from robson.services import orders, planning, policy, routing
from robson.services.closing import exit_position
from robson.services.context import Context
from robson.services.errors import NotFound, Refused
from robson.services.snapshot import Snapshot
from robson.services.working import (
    Outcome,
    cancel_open_orders,
    cancel_working,
    look,
    quote_of,
    work_until,
)

KILL_SWITCH = "KILL_SWITCH"  # the kill switch's hold (breakers.kill): it flattens for as long as it holds


def _get(uow: UnitOfWork, operation_id: int) -> Operation:
    operation = uow.operations.get(operation_id)
    if operation is None:
        raise NotFound(f"unknown operation id {operation_id}")
    return operation


def execute(ctx: Context, operation_id: int) -> Outcome:
    """Place the entry at market, then its protective stop and target (one OCO list on the venue). An entry still
    working after its first answer (a limit resting, a partial fill) is not waited for: it works until its
    deadline, what filled is protected at once, and the loop's pass at the deadline cancels the rest."""
    with ctx.unit_of_work() as uow:
        snap, op = planning.decision_on(ctx, uow, operation_id)
        return executed(ctx, uow, snap, op)


def executed(ctx: Context, uow: UnitOfWork, snap: Snapshot, op: Operation) -> Outcome:
    """Execute a plan on the decision's snapshot (see `execute`): its price is the market checks' and the
    routing's reference, its account and policy state size and judge the entry."""
    if op.status is not OperationStatus.PLANNED:
        raise InvalidValue(f"operation {op.id} is {op.status}; only PLANNED operations are executed")
    if op.open_orders(OrderRole.ENTRY):
        raise Refused(f"operation {op.id} already has an entry order working; run robson sync")
    ctx.require_protection(op.protection)  # before the entry: a position it could not protect is never opened
    reference = planning.market_price(ctx, snap, op)  # the checks validate runs too
    outcome = Outcome(op)
    _fit_to_market(ctx, snap, op, reference, outcome)
    decision = planning.decide(ctx, uow, snap, op, entry=reference)
    if not decision.approved:
        raise Refused(decision.summary(), decision.failures)
    side = op.side.entry_action
    chosen = routing.route(
        side, reference, quote_of(ctx, op.symbol), ctx.instrument(op.symbol).tick_size, ctx.execution, urgent=False
    )
    now = ctx.clock.now()
    entry = orders.new_order(op, OrderRole.ENTRY, side, chosen.type, op.quantity, now, price=chosen.limit)
    uow.commit()  # the intent is on record before the venue hears of it
    placed = orders.place(ctx, op, entry, reference, chosen.spread_bps)
    outcome.changes += orders.applied(ctx, op, placed)
    # an entry done with a position to protect on the venue: the protection's intent goes on record with its answer
    legs = _legs(ctx, op) if not entry.status.is_open and _unprotected(op) else None
    report = orders.book(ctx, op, placed, uow)  # the answer (and that intent) in one commit
    if report is None and entry.reject_reason == orders.NEVER_REACHED:
        uow.commit()  # nothing happened on the venue: the plan stays PLANNED and can be executed again
        raise Refused(f"the entry {orders.NEVER_REACHED}; nothing was placed, execute again")
    if report is None:
        op.reject(ctx.clock.now(), entry.reject_reason or "rejected by the venue")
        uow.commit()
        raise Refused(f"the venue rejected the entry: {entry.reject_reason}")
    if not chosen.is_market:
        outcome.warnings.append(f"entry: {chosen.why}")
    _give_the_entry_time(ctx, uow, op, entry, outcome)
    if legs is not None or _unprotected(op):  # what filled is protected at once, even while the rest works
        protect(ctx, uow, op, outcome, chosen.spread_bps, legs)
    return outcome


def _unprotected(op: Operation) -> bool:
    """A position to protect on the venue, with no stop there yet."""
    return not op.position.is_flat and op.protection is ProtectionMode.EXCHANGE and not op.open_orders(OrderRole.STOP)


def _give_the_entry_time(ctx: Context, uow: UnitOfWork, op: Operation, entry: Order, outcome: Outcome) -> None:
    """An entry still working after its first answer (a partial fill, a limit resting) works until its deadline;
    the loop's pass then cancels the unfilled rest (end_entry). Nothing waits here."""
    if not entry.status.is_open:
        return
    now = ctx.clock.now()
    deadline = work_until(uow, op, OrderRole.ENTRY, ctx.execution.fill_seconds, now)
    if deadline <= now:  # no time given: the rest goes at once
        end_entry(ctx, uow, op, outcome)
        if op.status is OperationStatus.PLANNED and not op.open_orders(OrderRole.ENTRY):
            raise Refused(f"the entry filled nothing and was cancelled; operation {op.id} stays PLANNED, execute again")
        return
    outcome.warnings.append(
        f"the entry {entry.client_order_id} works until {deadline:%Y-%m-%d %H:%M:%S} UTC: what has not filled by "
        "then is cancelled (robson run, or robson sync)"
    )


def end_entry(ctx: Context, uow: UnitOfWork, op: Operation, outcome: Outcome) -> None:
    """The entry's deadline has come: one last look, then the unfilled rest is cancelled; the position and its
    protection are exactly what filled. An entry that filled nothing leaves the plan PLANNED."""
    look(ctx, uow, op, OrderRole.ENTRY, outcome)
    working = op.open_orders(OrderRole.ENTRY)
    if not working:
        return
    cancel_open_orders(ctx, op, outcome, OrderRole.ENTRY)
    uow.commit()
    entry = working[0]
    if entry.status.is_open:
        outcome.warnings.append(f"the entry {entry.client_order_id} could not be cancelled; robson sync follows it")
    elif op.status is OperationStatus.PLANNED:
        outcome.warnings.append(
            f"the entry filled nothing by its deadline and was cancelled; operation {op.id} stays PLANNED, "
            "execute again"
        )
    else:
        outcome.warnings.append(
            f"the entry filled {entry.filled_quantity} of {entry.quantity}; the rest was cancelled: the position and "
            "its protection are what filled"
        )
        ensure_protected(ctx, uow, op, outcome)


def ensure_protected(ctx: Context, uow: UnitOfWork, op: Operation, outcome: Outcome) -> None:
    """A position must never be left without its stop: re-protect it (or exit) when working stops do not cover
    all of it (none left, an entry that filled more since it was protected, or a target leg filled in part and the
    venue cancelled its stop with it). An entry or an exit still working is left to finish first."""
    if op.status is not OperationStatus.ACTIVE or op.position.is_flat:
        return
    if op.protection is ProtectionMode.INTERNAL:  # guarded by the monitor, by design: nothing rests on the venue
        return
    if op.open_orders(OrderRole.ENTRY) or op.open_orders(OrderRole.EXIT):
        return
    covered = sum((order.remaining for order in op.open_orders(OrderRole.STOP)), ZERO)
    if covered >= op.position.quantity:
        return
    if op.open_orders():  # what is left of the old protection goes first: it holds the asset
        outcome.warnings.append(
            f"operation {op.id} holds {op.position.quantity} with {covered} under a working stop: protecting it again"
        )
        cancel_working(ctx, uow, op, outcome)
        if op.position.is_flat or op.status is not OperationStatus.ACTIVE:
            return
    else:
        outcome.warnings.append(f"operation {op.id} had no protective order on the venue: protecting it again")
    base = ctx.instrument(op.symbol).base
    held = ctx.exchange.balances().get(base)
    if op.side is Side.LONG and (held is None or held.free < op.position.quantity):
        outcome.warnings.append(f"operation {op.id} holds {op.position.quantity} with no protective order")
        return
    protect(ctx, uow, op, outcome)


def _fit_to_market(ctx: Context, snap: Snapshot, op: Operation, reference: Decimal, outcome: Outcome) -> None:
    """Shrink the size if entering at the market would risk more than the plan did, or more than today's budget
    (the equity may have fallen since the plan: fees, other losses)."""
    quantity = planning.fitted_quantity(ctx, snap, op, reference)
    if quantity == op.quantity:
        return
    instrument = ctx.instrument(op.symbol)
    per_unit = loss_per_unit(op.side, reference, op.stop_price, ctx.costs(op.symbol), instrument.tick_size)
    op.resize(quantity, quantity * per_unit, reference, ctx.clock.now())
    outcome.warnings.append(f"resized to {quantity} for the market price {reference}: the risk stays in today's budget")


def protect(
    ctx: Context,
    uow: UnitOfWork,
    op: Operation,
    outcome: Outcome,
    spread_bps: Decimal | None = None,
    legs: tuple[Order, Order] | None = None,
) -> None:
    """Rest a stop and a target for the whole open quantity as one OCO list; if the venue refuses (or offers no
    OCO), exit now. `spread_bps`: the spread of the decision that protects, when it asked for one; `legs`: the
    list's two orders when the caller has already recorded them (`_legs`)."""
    if Capability.OCO not in ctx.exchange.capabilities:
        outcome.warnings.append(f"{ctx.exchange.name} cannot rest a stop and a target together (no OCO); exiting")
        exit_position(ctx, uow, op, _reason_for_unprotected(ctx, op), outcome)
        return
    stop, target = legs or _legs(ctx, op)
    uow.commit()  # the intent is on record before the venue hears of it
    reports, changes = orders.send_protection(ctx, op, stop, target, uow, spread_bps)  # applied and booked: one commit
    if reports is not None:
        outcome.changes += changes
        return
    outcome.warnings.append(f"the venue refused the protective orders ({stop.reject_reason}); exiting at market")
    uow.commit()
    exit_position(ctx, uow, op, _reason_for_unprotected(ctx, op), outcome)


def _legs(ctx: Context, op: Operation) -> tuple[Order, Order]:
    """The protective stop and target for the whole open quantity, one OCO list, recorded on the operation (the
    caller commits them before they are sent)."""
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
    return stop, target


def _reason_for_unprotected(ctx: Context, op: Operation) -> CloseReason:
    last = ctx.exchange.last_price(op.symbol)
    if last is not None and (last - op.stop_price) * op.side.sign <= 0:
        return CloseReason.STOP_LOSS
    if last is not None and op.target_price is not None and (op.target_price - last) * op.side.sign <= 0:
        return CloseReason.TAKE_PROFIT
    return CloseReason.PROTECTION_FAILED


def replace_protection(ctx: Context, uow: UnitOfWork, op: Operation, outcome: Outcome) -> None:
    """Rest a new stop and target for the current quantity and stop. The old list goes first (on spot it locks the
    asset; on any venue two lists would exit the position twice); if the new one is refused, `protect` exits the
    position."""
    cancel_working(ctx, uow, op, outcome)
    if op.status is OperationStatus.ACTIVE and not op.position.is_flat:
        protect(ctx, uow, op, outcome)


CLOSE_ATTEMPTS = 3  # reads of an operation that another process keeps writing, within one close


def close(ctx: Context, operation_id: int, note: str) -> Outcome:
    """Close by hand: a PLANNED operation is cancelled, an ACTIVE one exits at market (close reason MANUAL).

    Another process writing the operation meanwhile (a second close, robson run, sync) is no error: it is read
    again and closed from where it now stands; if that process closed it, the close says so."""
    if not note.strip():
        raise InvalidValue("a reason is required to close an operation (--reason)")
    for attempt in range(CLOSE_ATTEMPTS):
        try:
            outcome = _close_once(ctx, operation_id, note, again=attempt > 0)
            break
        except ConcurrentChange:
            continue
    else:
        raise Refused(
            f"operation {operation_id} kept changing in another process while being closed: "
            "robson sync books what was sent; close it again if it is still open"
        )
    enforce(ctx)
    return outcome


def _close_once(ctx: Context, operation_id: int, note: str, *, again: bool) -> Outcome:
    with ctx.unit_of_work() as uow:
        op = _get(uow, operation_id)
        if op.status.is_final:
            meanwhile = " (by another process meanwhile)" if again else ""
            raise InvalidValue(f"operation {operation_id} is already {op.status}{meanwhile}")
        outcome = Outcome(op)
        _take_out(ctx, uow, op, CloseReason.MANUAL, note, outcome)
    return outcome


def _take_out(ctx: Context, uow: UnitOfWork, op: Operation, reason: CloseReason, note: str, outcome: Outcome) -> None:
    """Cancel a PLANNED operation (its entry may have filled meanwhile: then it is ACTIVE), exit an ACTIVE one."""
    if op.status is OperationStatus.PLANNED:
        cancel_open_orders(ctx, op, outcome)
        if op.status is OperationStatus.PLANNED:
            op.cancel(ctx.clock.now(), note)
            uow.commit()
            return
    exiting = op.open_orders(OrderRole.EXIT)
    if exiting:  # another close, robson run or a kill is taking it out this moment: nothing is written or sent
        outcome.warnings.append(
            f"operation {op.id}: its exit is working ({exiting[0].client_order_id}); what it leaves goes at market "
            "at its deadline, and robson sync resolves one whose sender died"
        )
        return  # another order now would cancel that one and start over (the market fallback would never come)
    op.note = note
    exit_position(ctx, uow, op, reason, outcome)


@dataclass(slots=True)
class Flattened:
    """What a flatten did to each live operation, and what it could not do (one line each)."""

    outcomes: list[Outcome] = field(default_factory=list)
    undone: list[str] = field(default_factory=list)

    @property
    def flat(self) -> bool:
        return not self.undone


def flatten_all(ctx: Context, reason: CloseReason, note: str) -> Flattened:
    """Cancel every working order and close every position at market; cancel PLANNED operations. One failure
    does not stop the others: each is reported on its outcome, and the rest go on; whatever is still live or
    working afterwards is listed in `undone`."""
    result = Flattened()
    with ctx.unit_of_work() as uow:
        for op in uow.operations.list((OperationStatus.PLANNED, OperationStatus.ACTIVE)):
            outcome = Outcome(op)
            result.outcomes.append(outcome)
            why = "its exit is still working"
            try:
                _take_out(ctx, uow, op, reason, note, outcome)
            except (Refused, ExchangeError, DomainError) as error:  # one failure must not stop the others
                uow.commit()
                outcome.warnings.append(f"operation {op.id}: {error}")
                why = str(error)
            if not op.status.is_final:
                result.undone.append(f"operation {op.id} is still {op.status} ({op.symbol}): {why}")
    exiting = {order.client_order_id for outcome in result.outcomes for order in outcome.operation.open_orders()}
    try:
        stray = ctx.exchange.open_orders()  # orders the ledger does not know: nothing may keep working
    except ExchangeError as error:
        result.undone.append(f"the venue's open orders could not be listed to cancel them: {error}")
        stray = []
    for report in stray:
        if report.client_order_id in exiting:  # an exit working until its deadline (then the rest at market)
            continue
        try:
            ctx.exchange.cancel_order(report.symbol, report.client_order_id)
        except UnknownOrder:  # gone meanwhile
            continue
        except ExchangeError as error:
            result.undone.append(f"order {report.client_order_id} on {report.symbol} could not be cancelled: {error}")
    return result


def kill(ctx: Context, reason: str = "") -> Flattened:
    """The kill switch: the halt is committed first, before the venue is asked anything (nothing new may enter,
    even when the venue is unreachable); then every order is cancelled and every position closed at market with
    the close reason KILL_SWITCH. What could not be done is listed; `robson run` goes on flattening while the
    halt holds. Trading stays HALTED until robson resume --override."""
    policy.halt_for_kill(ctx, reason)
    flattened = flatten_all(ctx, CloseReason.KILL_SWITCH, f"kill switch: {reason}".rstrip(": "))
    with contextlib.suppress(ExchangeError):  # the mark waits for the venue; the halt is already on record
        policy.refresh(ctx)
    return flattened


def enforce(ctx: Context, snap: Snapshot | None = None) -> list[Outcome]:
    """Mark to market and apply the policy: a tier set to flatten closes everything when it trips, and goes on
    closing whatever is still open for as long as it holds: a trip that a mark without enforcement noticed (a
    plan's or an execute's), or a flatten the venue interrupted, is carried out at the next enforcement. The kill
    switch's hold always flattens: a kill the venue interrupted goes on until flat. `snap`: the caller's snapshot
    (an execute's, moved by its fills), else one is read now."""
    update = policy.refresh(ctx, snap)
    tiers = list(update.flatten) or _flattening(ctx, update.state)
    if not tiers:
        return []
    return flatten_all(ctx, CloseReason.KILL_SWITCH, f"{', '.join(tiers)} tripped: flattened").outcomes


def _flattening(ctx: Context, state: PolicyState) -> list[str]:
    """The holds in force that flatten (the kill switch, the tiers set to), if anything is still live."""
    flatten_on = (*ctx.limits("default").flatten_on, KILL_SWITCH)
    held = [hold.code for hold in state.holds if hold.code in flatten_on]
    if not held:
        return []
    with ctx.unit_of_work() as uow:
        return held if uow.operations.list((OperationStatus.PLANNED, OperationStatus.ACTIVE)) else []
