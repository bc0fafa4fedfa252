"""The policy state as a use case: measured from the ledger and the venue, judged by the pure breakers,
persisted and put on the audit trail in one commit, and said to the trader through the event bus (its alerts are
recorded with that commit and delivered to the notifier once it is committed)."""

from __future__ import annotations

import contextlib
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from robson.domain.errors import InvalidValue
from robson.domain.operation import Operation, OperationStatus
from robson.domain.values import HUNDRED, ZERO
from robson.ports import ExchangeError, ExecutionRecord, UnitOfWork
from robson.risk import breakers, policy_state
from robson.risk.breakers import Update
from robson.risk.policy_state import PolicyState, Readings, TierReading, TradingState
from robson.services import execution, gateway, portfolio, snapshot
from robson.services.context import Context
from robson.services.snapshot import Snapshot

MARKS_KEPT = 500  # recent marks kept per symbol: enough for the correlation and price-move lookbacks
MIN_MARKS_FOR_SIGMA = 20


def readings(ctx: Context, snap: Snapshot, now: datetime) -> Readings:
    """Equity and the open positions' marks from the decision's snapshot; P&L per period (as of `now`), the loss
    streak and recent results from the operations it measured."""
    today = now.date()
    week = policy_state.week_of(today)
    month = policy_state.month_of(today)
    realized_day = realized_week = realized_month = unrealized = ZERO
    operations = snap.operations
    for op in operations:
        for trade in op.position.trades:
            day = trade.exit_time.date()
            if policy_state.month_of(day) == month:
                realized_month += trade.pnl
                if policy_state.week_of(day) == week:
                    realized_week += trade.pnl
                    if day == today:
                        realized_day += trade.pnl
        if op.status is OperationStatus.ACTIVE and not op.position.is_flat:
            last = snap.price(op.symbol)
            if last is not None:
                unrealized += op.position.unrealized_pnl(last, ctx.exchange.fee_rates(op.symbol).taker)
    closed = sorted(
        (op for op in operations if op.status is OperationStatus.CLOSED and op.position.trades and op.closed_at),
        key=lambda op: (op.closed_at, op.id or 0),
    )
    results = tuple(op.realized_pnl > 0 for op in closed)
    streak = 0
    for won in reversed(results):
        if won:
            break
        streak += 1
    return Readings(
        equity=snap.equity,
        unrealized=unrealized,
        realized_day=realized_day,
        realized_week=realized_week,
        realized_month=realized_month,
        loss_streak=streak,
        recent_results=results[-policy_state.RECENT_TRADES :],
    )


def current(ctx: Context, uow: UnitOfWork) -> PolicyState:
    """The stored policy state, or a new one starting at today's equity."""
    state = uow.policy.get()
    if state is None:
        state = policy_state.start(portfolio.equity(ctx.exchange, ctx.quote), ctx.clock.now())
        uow.policy.save(state)
    return state


def stored_or_unmeasured(ctx: Context, uow: UnitOfWork) -> PolicyState:
    """The stored policy state, or (none yet) one whose equity is not measured: for a halt, which must be on
    record before the venue is asked anything. The first mark to market measures it (`_measured_start`)."""
    state = uow.policy.get()
    if state is None:
        state = policy_state.start(ZERO, ctx.clock.now())
    return state


def _measured_start(state: PolicyState, readings: Readings) -> PolicyState:
    """A state whose equity was never measured (a halt recorded first) starts its periods and peak at the
    first equity measured, as a new state would."""
    if state.peak_equity > 0:
        return state
    equity = readings.equity
    return replace(
        state,
        equity=equity,
        peak_equity=equity,
        day_start_equity=equity,
        week_start_equity=equity,
        month_start_equity=equity,
    )


def state(ctx: Context) -> PolicyState:
    """The stored policy state as it is (no refresh)."""
    with ctx.unit_of_work() as uow:
        stored = current(ctx, uow)
        uow.commit()
    return stored


def _apply(uow: UnitOfWork, update: Update) -> None:
    """Store the new state with its events and alerts in this unit of work: its commit audits the events, and once
    committed the event bus delivers the alerts to the notifier (nothing is said of a state that was not stored)."""
    uow.policy.save(update.state)
    uow.record(*update.events, *update.alerts)


def _judge(
    ctx: Context,
    rule: Callable[[UnitOfWork, PolicyState], Update],
    within: UnitOfWork | None = None,
    stored: Callable[[Context, UnitOfWork], PolicyState] | None = None,
) -> Update:
    """Apply one rule to the stored state in one unit of work: store, audit, commit (then the bus alerts). `within`:
    the caller's unit of work, committed with the rule's changes (one connection for all of an order's writes)."""
    if within is not None:
        return _judged(ctx, rule, within, stored or current)
    with ctx.unit_of_work() as uow:
        return _judged(ctx, rule, uow, stored or current)


def _judged(
    ctx: Context,
    rule: Callable[[UnitOfWork, PolicyState], Update],
    uow: UnitOfWork,
    stored: Callable[[Context, UnitOfWork], PolicyState] = current,
) -> Update:
    update = rule(uow, stored(ctx, uow))
    _apply(uow, update)
    uow.commit()
    return update


def refresh(ctx: Context, snap: Snapshot | None = None) -> Update:
    """Mark to market: measure (on `snap` when the caller has one, else on a snapshot read now), judge the tiers,
    store, audit, alert. Returns what changed (and which tiers want every position flattened)."""
    with ctx.unit_of_work() as uow:
        return mark(ctx, uow, snap or snapshot.take(ctx, uow))


def mark(ctx: Context, uow: UnitOfWork, snap: Snapshot) -> Update:
    """Mark to market on the decision's snapshot, in `uow`: the stored state judged on its readings, stored,
    audited and committed, then alerted."""
    now = ctx.clock.now()

    def rule(uow: UnitOfWork, state: PolicyState) -> Update:
        measured = readings(ctx, snap, now)
        return breakers.mark(_measured_start(state, measured), ctx.limits("default"), measured, now, ctx.quote)

    def stored(ctx: Context, uow: UnitOfWork) -> PolicyState:  # none yet: one starting at the snapshot's equity
        return uow.policy.get() or policy_state.start(snap.equity, now)

    return _judge(ctx, rule, uow, stored)


def marked(
    ctx: Context, uow: UnitOfWork, symbols: Iterable[str] = (), operations: Sequence[Operation] | None = None
) -> Snapshot:
    """The decision's snapshot (see `snapshot.take`), marked to market first: a hold that expired lifts, a fresh
    loss counts. The mark is committed whatever the decision then decides; the snapshot carries the state it left."""
    snap = snapshot.take(ctx, uow, symbols, operations)
    return replace(snap, policy=mark(ctx, uow, snap).state)


def _hold_now(ctx: Context, rule: Callable[[PolicyState], Update]) -> PolicyState:
    """Put a hold (or its lifting) on record, audited, without asking the venue anything: safety controls must
    work while the venue is unreachable."""
    with ctx.unit_of_work() as uow:
        update = _judged(ctx, lambda uow, state: rule(state), uow, stored_or_unmeasured)
    return update.state


def pause(ctx: Context, reason: str) -> PolicyState:
    """HALTED for new exposure, committed before (and without) any venue call."""
    return _hold_now(ctx, lambda state: breakers.pause(state, reason, ctx.clock.now()))


def halt_for_kill(ctx: Context, reason: str) -> PolicyState:
    """The kill switch's halt, committed before any venue call (the flatten comes after)."""
    return _hold_now(ctx, lambda state: breakers.kill(state, reason, ctx.clock.now()))


def resume(ctx: Context, override: str) -> PolicyState:
    """Lift every hold with the trader's reason on the record. The state is measured afresh first when the venue
    answers, so that a tier over its limit now is acknowledged for its period rather than re-tripping at once;
    with the venue unreachable the resume goes through on the last measured state (the next mark judges)."""
    if not override.strip():  # refused before anything is asked or written
        raise InvalidValue('resuming needs an override reason: robson resume --override "why"')
    with contextlib.suppress(ExchangeError):
        refresh(ctx)
    limits = ctx.limits("default")
    return _hold_now(ctx, lambda state: breakers.resume(state, limits, override, ctx.clock.now(), ctx.quote))


def record_order(
    ctx: Context, *, rejected: bool, executions: Sequence[ExecutionRecord] = (), within: UnitOfWork | None = None
) -> None:
    """Count an order sent to the venue, for the order-rate and rejection breakers, and store its execution log
    rows in the same commit (the caller's unit of work when given)."""
    limits = ctx.limits("default")

    def rule(uow: UnitOfWork, state: PolicyState) -> Update:
        execution.log(uow, executions)
        return breakers.on_order(state, limits, ctx.clock.now(), rejected=rejected)

    _judge(ctx, rule, within)


def _sigmas(history: Sequence[Decimal], price: Decimal) -> Decimal | None:
    returns = gateway.log_returns(history)
    if len(returns) < MIN_MARKS_FOR_SIGMA or history[-1] <= 0 or price <= 0:
        return None
    mean = statistics.fmean(returns)
    spread = statistics.pstdev(returns, mean)
    if spread == 0:
        return None
    return Decimal(f"{(math.log(float(price) / float(history[-1])) - mean) / spread:.4f}")


def observe_price(ctx: Context, symbol: str, price: Decimal) -> None:
    """Record a mark; a move beyond the configured number of standard deviations puts trading in REDUCING."""
    limits = ctx.limits("default")
    with ctx.unit_of_work() as uow:
        history = uow.marks.recent(symbol, limits.correlation_lookback + 1)
        sigmas = _sigmas(history, price)
        now = ctx.clock.now()
        update = breakers.on_price_move(current(ctx, uow), limits, symbol, sigmas, now) if sigmas is not None else None
        if update is not None:
            _apply(uow, update)
        uow.marks.add(symbol, now, price)
        uow.marks.prune(symbol, MARKS_KEPT)
        uow.commit()


# ---- status ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RiskStatus:
    state: TradingState
    policy: PolicyState
    tiers: tuple[TierReading, ...]
    heat: Decimal
    heat_percent: Decimal
    heat_limit: Decimal
    exposure: Decimal
    exposure_percent: Decimal
    exposure_limit: Decimal
    active_operations: int
    max_operations: int
    trades_today: int
    max_trades: int
    risk_percent: Decimal
    quote: str


def status(ctx: Context) -> RiskStatus:
    limits = ctx.limits("default")
    with ctx.unit_of_work() as uow:
        snap = marked(ctx, uow)
    held = gateway.book(ctx, snap)
    state = snap.policy
    assert state is not None  # marked: the state its mark stored
    equity = state.equity

    def share(amount: Decimal) -> Decimal:
        return amount / equity * HUNDRED if equity > 0 else ZERO

    return RiskStatus(
        state=state.state,
        policy=state,
        tiers=policy_state.tiers(state, limits, ctx.quote),
        heat=held.heat,
        heat_percent=share(held.heat),
        heat_limit=limits.max_portfolio_heat_percent,
        exposure=held.exposure,
        exposure_percent=share(held.exposure),
        exposure_limit=limits.max_total_exposure_percent,
        active_operations=held.count,
        max_operations=limits.max_concurrent_operations,
        trades_today=gateway.trades_today(snap.operations, snap.now),
        max_trades=limits.max_trades_per_day,
        risk_percent=policy_state.risk_percent(state, limits),
        quote=ctx.quote,
    )
