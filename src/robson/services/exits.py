"""The monitor's use cases: act on a level the price crossed, and observe what the venue did."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from robson.domain.errors import ConcurrentChange, DomainError
from robson.domain.operation import CloseReason, Operation, OperationStatus
from robson.domain.orders import OrderRole, OrderType
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

    def fail(self, op: Operation, error: Exception) -> None:
        assert op.id is not None
        self.failed[op.id] = error


def trigger(ctx: Context, crossings: Sequence[Crossing], price: Decimal) -> Triggered:
    """Internally protected operations whose stop (or target) `price` crossed: exit at market now, with each
    reason recorded before its order is sent, so that a restart finishes the same exit, never a second one.
    All the exits of one tick go out before any is booked (`closing.market_exits`).

    A `known` operation is used without a read when nothing of it works on the venue. If another process changed
    one meanwhile, the write is refused (before anything is sent, when it is the intents' write), and the
    crossings not yet done are decided again on the operations read afresh: one whose exit is already in flight
    is left to sync. An exit the venue refused or could not take is in `failed`; the others still go."""
    done = Triggered()
    try:
        _trigger(ctx, crossings, price, done)
    except ConcurrentChange:
        again = [Crossing(c.operation_id, c.kind) for c in crossings if c.operation_id not in done.done]
        try:
            _trigger(ctx, again, price, done)
        except ConcurrentChange as error:  # changed again meanwhile: the next crossing tick decides afresh
            done.failed |= {c.operation_id: error for c in again if c.operation_id not in done.done}
    return done


def _trigger(ctx: Context, crossings: Sequence[Crossing], price: Decimal, done: Triggered) -> None:
    now = ctx.clock.now()
    with ctx.unit_of_work() as uow:
        ready: list[tuple[Operation, CloseReason, Outcome]] = []  # urgent, nothing working on the venue: out now
        others: list[tuple[Operation, CloseReason, Outcome]] = []  # orders to cancel first, or a guarded target
        for crossing in crossings:
            op = _read(uow, crossing)
            reason = _reason(op, crossing.kind, price) if op is not None else None
            if op is None or reason is None:
                done.done.add(crossing.operation_id)
                continue
            try:
                op.start_exit(reason, now, price)
            except DomainError as error:
                done.fail(op, error)
                done.done.add(crossing.operation_id)
                continue
            urgent = reason in closing.URGENT and not op.open_orders()
            (ready if urgent else others).append((op, reason, Outcome(op)))
        if ready:
            closing.market_exits(ctx, uow, ready, price, done.failed)
            _done(done, ready)
        for op, reason, outcome in others:
            try:
                exit_position(ctx, uow, op, reason, outcome, price)
            except ConcurrentChange:
                raise
            except (Refused, ExchangeError, DomainError) as error:
                uow.commit()
                done.fail(op, error)
            _done(done, [(op, reason, outcome)])


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
        return CloseReason.TRAILING_STOP if op.trailing_active else CloseReason.STOP_LOSS
    if kind == "TARGET" and op.target_price is not None and (op.target_price - price) * sign <= 0:
        return CloseReason.TAKE_PROFIT
    return None


def _done(done: Triggered, exits: Sequence[tuple[Operation, CloseReason, Outcome]]) -> None:
    for op, _, outcome in exits:
        assert op.id is not None
        done.done.add(op.id)
        if op.id not in done.failed:
            done.outcomes.append(outcome)


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


def state_of(op: Operation) -> engine.ExitState:
    return engine.ExitState(
        best_price=op.best_price,
        trailing_active=op.trailing_active,
        scale_outs_done=op.scale_outs_done,
        break_even_done=op.break_even_done,
        trailing_stop=op.stop_price if op.trailing_active else None,
    )


VENUE_ACTS = (CloseReason.STOP_LOSS, CloseReason.TAKE_PROFIT, CloseReason.TRAILING_STOP)


def rules_decide(
    view: engine.PositionView, state: engine.ExitState, policy: ExitPolicy, mode: str, price: Decimal, now: datetime
) -> tuple[engine.ExitState, tuple[engine.Action, ...]]:
    """The exit rules on one price. With exchange-managed protection the venue's own orders take the stop, target
    and trailing-stop exits, so those are left to them."""
    state, actions = engine.on_tick(view, state, policy, price, now)
    if mode == "exchange":
        actions = tuple(a for a in actions if not (a.kind is ActionKind.EXIT and a.reason in VENUE_ACTS))
    return state, actions


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
        state, actions = rules_decide(view_of(ctx, op), state_of(op), policy, op.protection, price, now)
        if not actions:
            return None
        op.best_price, op.trailing_active = state.best_price, state.trailing_active
        op.scale_outs_done, op.break_even_done = state.scale_outs_done, state.break_even_done
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
        op.move_stop(action.price, now, action.reason.value)
        outcome.changes.append(f"stop moved to {action.price} ({action.reason})")
        uow.commit()
        if op.protection == "exchange":
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
    op.record("ScaleOutTriggered", ctx.clock.now(), {}, {"quantity": str(quantity)})
    uow.commit()
    report = orders.send(ctx, op, order, within=uow)
    if report is not None:
        outcome.changes += orders.apply_report(op, report, ctx.clock.now(), exit_reason=CloseReason.SCALE_OUT)
    else:
        outcome.warnings.append(f"the scale-out was refused: {order.reject_reason}")
    uow.commit()
    if op.protection == "exchange" and op.status is OperationStatus.ACTIVE and not op.position.is_flat:
        protect(ctx, uow, op, outcome)
