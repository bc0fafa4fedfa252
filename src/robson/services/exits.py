"""The monitor's use cases: act on a level the price crossed, and observe what the venue did."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from robson.domain.errors import ConcurrentChange, DomainError
from robson.domain.events import ScaleOutTriggered
from robson.domain.operation import CloseReason, Operation, OperationStatus
from robson.domain.orders import OrderRole, OrderType
from robson.domain.protection import ExitProgress, ProtectionMode
from robson.exits import engine
from robson.exits.policy import ExitPolicy
from robson.exits.state import ActionKind
from robson.ports import ExchangeError, UnitOfWork
from robson.services import closing, following, orders
from robson.services.closing import exit_position
from robson.services.context import Context
from robson.services.errors import Refused
from robson.services.trading import protect, replace_protection
from robson.services.working import Outcome, cancel_working


@dataclass(frozen=True, slots=True)
class Crossing:
    """A level of an internally protected operation that a price crossed, as the monitor's index saw it."""

    operation_id: int
    kind: str  # STOP or TARGET
    known: Operation | None = None  # the operation as the caller last read or wrote it, if it keeps it


@dataclass(slots=True)
class Triggered:
    outcomes: list[Outcome] = field(default_factory=list)
    failed: dict[int, Exception] = field(default_factory=dict)  # operation id -> why its exit failed
    done: set[int] = field(default_factory=set)  # the crossings decided, whatever came of them

    def fail(self, operation_id: int, error: Exception) -> None:
        self.done.add(operation_id)
        self.failed[operation_id] = error

    def succeed(self, operation_id: int, outcome: Outcome | None) -> None:
        self.done.add(operation_id)
        if outcome is not None:
            self.outcomes.append(outcome)


_ONE_EXIT_FAILS = (ConcurrentChange, Refused, ExchangeError, DomainError)  # what fails one exit, not the others


def trigger(ctx: Context, crossings: Sequence[Crossing], price: Decimal) -> Triggered:
    """Internally protected operations whose stop (or target) `price` crossed: exit now, with each reason and
    order recorded before the order is sent, so that a restart finishes the same exit, never a second one.

    The urgent exits of operations with nothing working on the venue (the usual case) go out together: every
    intent in one commit, every order sent one right after another, and only then each answer booked, each in a
    unit of work of its own (one that fails, a conflict with another process included, fails alone). If the
    intents cannot be recorded together (another process changed one of them), nothing has been sent: each exit
    is then decided on its own, on the operation read afresh. The others (a guarded target, orders to cancel
    first) follow one by one. An exit the venue refused or could not take is in `failed`; it does not hold back
    the others."""
    done = Triggered()
    try:
        sent = _send_together(ctx, crossings, price, done)
    except (ConcurrentChange, DomainError):  # raised before anything was sent; nothing of it was kept
        sent = []
        crossings = [Crossing(c.operation_id, c.kind) for c in crossings]  # `known` may hold the undone intents
    for op, reason, outcome, placed in sent:
        assert op.id is not None
        try:
            with ctx.unit_of_work() as uow:
                uow.operations.attach(op)
                closing.market_exit(ctx, uow, op, reason, outcome, price, placed)
        except ConcurrentChange:  # the exit went out; another process wrote the operation before it was booked
            _book_again(ctx, op.id, reason, price, placed, done)
        except _ONE_EXIT_FAILS as error:
            done.fail(op.id, error)
        else:
            done.succeed(op.id, outcome)
    for crossing in crossings:
        if crossing.operation_id not in done.done:
            _alone(ctx, crossing, price, done)
    return done


BOOKING_ATTEMPTS = 3  # reads of an operation other processes keep writing while its exit is booked


def _book_again(
    ctx: Context, operation_id: int, reason: CloseReason, price: Decimal, placed: orders.Placed, done: Triggered
) -> None:
    """An exit the venue took, whose booking another process's write got in the way of: read the operation again
    and book the venue's answer on it, unless that process booked it already (robson sync, price, reconcile).
    Nothing is sent again, and it is no failed exit."""
    cid = placed.order.client_order_id
    for _ in range(BOOKING_ATTEMPTS):
        try:
            with ctx.unit_of_work() as uow:
                op = uow.operations.get(operation_id)
                if op is None:
                    done.succeed(operation_id, None)
                    return
                outcome = Outcome(op)
                order = next((o for o in op.open_orders() if o.client_order_id == cid), None)
                if order is not None:  # still in flight in the ledger: booked here, on the operation as it is now
                    again = dataclasses.replace(placed, order=order)
                    closing.market_exit(ctx, uow, op, reason, outcome, price, again)
        except ConcurrentChange:
            continue
        except _ONE_EXIT_FAILS as error:
            done.fail(operation_id, error)
            return
        done.succeed(operation_id, outcome)
        return
    done.fail(operation_id, ConcurrentChange(f"operation {operation_id} kept changing: robson sync books {cid}"))


def _send_together(
    ctx: Context, crossings: Sequence[Crossing], price: Decimal, done: Triggered
) -> list[tuple[Operation, CloseReason, Outcome, orders.Placed]]:
    """Record and send the urgent exits of the crossed operations that have nothing working on the venue; leave
    the other crossings undecided (not in `done`)."""
    now = ctx.clock.now()
    with ctx.unit_of_work() as uow:
        ready: list[tuple[Operation, CloseReason, Outcome]] = []
        for crossing in crossings:
            op = _read(uow, crossing)
            reason = _reason(op, crossing.kind, price) if op is not None else None
            if op is None or reason is None:
                done.succeed(crossing.operation_id, None)  # nothing to do: closed, in flight, or a stale level
            elif reason in closing.URGENT and not op.open_orders():
                op.start_exit(reason, now, price)
                ready.append((op, reason, Outcome(op)))
        if not ready:
            return []
        sent, failed = closing.send_market_exits(ctx, uow, ready, price)
        for operation_id, error in failed.items():  # recorded, left to reconciliation and the next crossing tick
            done.fail(operation_id, error)
        return sent


def _alone(ctx: Context, crossing: Crossing, price: Decimal, done: Triggered) -> None:
    """One exit in a unit of work of its own. A conflict with another process on the operation as the caller knew
    it is decided again on the operation read afresh (one whose exit is in flight by then is left to sync)."""
    try:
        try:
            outcome = _exit_alone(ctx, crossing, price)
        except ConcurrentChange:
            if crossing.known is None:
                raise
            outcome = _exit_alone(ctx, Crossing(crossing.operation_id, crossing.kind), price, again=True)
    except _ONE_EXIT_FAILS as error:
        done.fail(crossing.operation_id, error)
    else:
        done.succeed(crossing.operation_id, outcome)


def _exit_alone(ctx: Context, crossing: Crossing, price: Decimal, again: bool = False) -> Outcome | None:
    """`again`: the first try met another process's write; if that process closed the operation meanwhile (a
    sync booking the exit this one sent, say), what it did is reported as this exit's outcome."""
    with ctx.unit_of_work() as uow:
        op = _read(uow, crossing)
        reason = _reason(op, crossing.kind, price) if op is not None else None
        if again and op is not None and op.status.is_final:
            return Outcome(op)
        if op is None or reason is None:
            return None
        op.start_exit(reason, ctx.clock.now(), price)
        outcome = Outcome(op)
        exit_position(ctx, uow, op, reason, outcome, price)
        return outcome


def _read(uow: UnitOfWork, crossing: Crossing) -> Operation | None:
    known = crossing.known
    if known is not None and not known.open_orders():
        return uow.operations.attach(known)
    return uow.operations.get(crossing.operation_id)


def _reason(op: Operation, kind: str, price: Decimal) -> CloseReason | None:
    """Why this operation exits at `price`, or None: it is no longer open, its exit is already in flight (sync
    resolves it), or the index was stale (the level moved)."""
    if op.status is not OperationStatus.ACTIVE or op.position.is_flat or op.open_orders(OrderRole.EXIT):
        return None
    sign = op.side.sign
    if kind == "STOP" and (price - op.stop_price) * sign <= 0:
        return CloseReason.TRAILING_STOP if op.progress.trailing_active else CloseReason.STOP_LOSS
    if kind == "TARGET" and op.target_price is not None and (op.target_price - price) * sign <= 0:
        return CloseReason.TAKE_PROFIT
    return None


def observe(ctx: Context, operation_ids: Collection[int]) -> list[Outcome]:
    """An exchange-managed operation's level was crossed: the venue's own orders act; Robson only reads what
    they did (never cancels or duplicates them), and re-protects a position left without a live stop."""
    return following.sync(ctx, operation_ids, enforce_policy=False)


# ---- the exit rules: trailing, scale-outs, break-even, time exits --------------------------------


def view_of(ctx: Context, op: Operation) -> engine.PositionView:
    """What the pure exit rules see of an open operation."""
    instrument = ctx.instrument(op.symbol)
    position = op.position
    return engine.PositionView(
        side=op.side,
        average_entry=position.average_entry or op.entry_price,
        initial_stop=op.initial_stop or op.stop_price,
        stop=op.stop_price,
        target=op.target_price,
        quantity=position.quantity,
        original_quantity=position.entered_quantity,
        opened_at=op.activated_at or op.created_at,
        tick=instrument.tick_size,
        step=instrument.step_size,
        min_quantity=instrument.min_quantity,
        min_notional=instrument.min_notional,
    )


VENUE_ACTS = (CloseReason.STOP_LOSS, CloseReason.TAKE_PROFIT, CloseReason.TRAILING_STOP)


def rules_decide(
    view: engine.PositionView,
    progress: ExitProgress,
    policy: ExitPolicy,
    mode: ProtectionMode,
    price: Decimal,
    now: datetime,
) -> tuple[ExitProgress, tuple[engine.Action, ...]]:
    """The exit rules on one price. With exchange-managed protection the venue's own orders take the stop, target
    and trailing-stop exits, so those are left to them."""
    progress, actions = engine.on_tick(view, progress, policy, price, now)
    if mode is ProtectionMode.EXCHANGE:
        actions = tuple(a for a in actions if not (a.kind is ActionKind.EXIT and a.reason in VENUE_ACTS))
    return progress, actions


def apply_rules(ctx: Context, operation_id: int, price: Decimal) -> Outcome | None:
    """Run the strategy's exit rules on one price and carry out what they decide: move the stop (and, when the
    venue holds it, replace the protective orders), scale out part of the position, or exit it (trailing stop,
    time exit). With exchange-managed protection the venue's own orders take the stop and target exits."""
    with ctx.unit_of_work() as uow:
        op = uow.operations.get(operation_id)
        if op is None or op.status is not OperationStatus.ACTIVE or op.position.is_flat:
            return None
        policy = ctx.exit_policy(op.strategy)
        if policy is None or op.open_orders(OrderRole.EXIT):
            return None
        now = ctx.clock.now()
        progress, actions = rules_decide(view_of(ctx, op), op.progress, policy, op.protection, price, now)
        if not actions:
            return None
        op.progress = progress
        outcome = Outcome(op)
        for action in actions:
            if op.status is not OperationStatus.ACTIVE or op.position.is_flat:
                break
            _carry_out(ctx, uow, op, action, outcome)
        uow.commit()
        return outcome


def _carry_out(ctx: Context, uow: UnitOfWork, op: Operation, action: engine.Action, outcome: Outcome) -> None:
    now = ctx.clock.now()
    if action.kind is ActionKind.MOVE_STOP:
        if (action.price - op.stop_price) * op.side.sign <= 0:
            return
        op.move_stop(action.price, now, action.reason)
        outcome.changes.append(f"stop moved to {action.price} ({action.reason})")
        uow.commit()
        if op.protection is ProtectionMode.EXCHANGE:
            replace_protection(ctx, uow, op, outcome)
        return
    if action.kind is ActionKind.EXIT or action.quantity >= op.position.quantity:
        reason = action.reason if action.kind is ActionKind.EXIT else CloseReason.SCALE_OUT
        op.start_exit(reason, now, action.price)
        exit_position(ctx, uow, op, reason, outcome, action.price)
        return
    _scale_out(ctx, uow, op, action.quantity, outcome)


def _scale_out(ctx: Context, uow: UnitOfWork, op: Operation, quantity: Decimal, outcome: Outcome) -> None:
    cancel_working(ctx, uow, op, outcome)
    order = orders.new_order(op, OrderRole.EXIT, op.side.exit_action, OrderType.MARKET, quantity, ctx.clock.now())
    op.record(ScaleOutTriggered(operation_id=op.id, at=ctx.clock.now(), quantity=quantity))
    uow.commit()
    report = orders.send(ctx, op, order, within=uow)
    if report is not None:
        outcome.changes += orders.apply_report(op, report, ctx.clock.now(), exit_reason=CloseReason.SCALE_OUT)
    else:
        outcome.warnings.append(f"the scale-out was refused: {order.reject_reason}")
    uow.commit()
    if op.protection is ProtectionMode.EXCHANGE and op.status is OperationStatus.ACTIVE and not op.position.is_flat:
        protect(ctx, uow, op, outcome)
