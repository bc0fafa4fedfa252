"""The circuit breakers: how the policy state moves. ACTIVE -> REDUCING -> HALTED through drawdown tiers, loss
streaks, a pause, the kill switch and unusual activity; back to ACTIVE when a hold's time comes or on a resume
with an override reason. Pure: every function takes the state and returns the next one with the events for the
audit trail and the alerts for the trader.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from robson.domain.errors import InvalidValue
from robson.domain.events import (
    TRADING_STATE_EVENTS,
    Alert,
    AlertLevel,
    HoldAdded,
    HoldLifted,
    PolicyEvent,
    RiskAlerted,
    TradingResumed,
)
from robson.risk.limits import RiskLimits
from robson.risk.policy_state import (
    RECENT_TRADES,
    Hold,
    PolicyState,
    Readings,
    TierReading,
    TradingState,
    ack_key,
    figure,
    in_force,
    loss_percent,
    month_of,
    next_day,
    next_week,
    tier_family,
    tiers,
    week_of,
)

ACTIVITY_HOLD = timedelta(minutes=15)  # how long an order-rate or price-move hold lasts by itself


@dataclass(frozen=True, slots=True)
class Update:
    state: PolicyState
    events: tuple[PolicyEvent, ...] = ()
    alerts: tuple[Alert, ...] = ()
    flatten: tuple[str, ...] = ()  # the tiers that tripped now and are set to flatten every position


def _until(reading: TierReading, now: datetime) -> datetime | None:
    if reading.code.startswith("DAILY"):
        return next_day(now)
    if reading.code == "WEEKLY_LOSS":
        return next_week(now)
    return None


# ---- transitions -------------------------------------------------------------------------------


def _with_holds(
    state: PolicyState, holds: tuple[Hold, ...], now: datetime, why: str, events: list[PolicyEvent]
) -> PolicyState:
    """Set the holds, recording a TradingStateChanged event when the state moves."""
    before = state.state
    state = replace(state, holds=holds)
    if state.state is not before:
        events.append(TRADING_STATE_EVENTS[state.state](at=now, previous=before, reason=why))
    return state


def _roll(state: PolicyState, now: datetime, events: list[PolicyEvent]) -> PolicyState:
    """Start a new day, week or month at the last known equity; lift the holds whose time has come."""
    today = now.date()
    if today != state.day:
        state = replace(state, day=today, day_start_equity=state.equity)
    if week_of(today) != state.week:
        state = replace(state, week=week_of(today), week_start_equity=state.equity)
    if month_of(today) != state.month:
        state = replace(state, month=month_of(today), month_start_equity=state.equity)
    current = {str(state.day), state.week, state.month, ""}
    state = replace(
        state,
        acknowledged=tuple(k for k in state.acknowledged if k.split("@", 1)[1] in current),
        alerts_sent=tuple(k for k in state.alerts_sent if k.split("@", 1)[1] in current),
    )
    expired = [h for h in state.holds if h.until is not None and h.until <= now]
    if expired:
        for hold in expired:
            events.append(HoldLifted(at=now, code=hold.code, reason=hold.reason))
        kept = tuple(h for h in state.holds if h not in expired)
        state = _with_holds(state, kept, now, f"{', '.join(h.code for h in expired)} lifted on time", events)
    return state


def _add_hold(
    state: PolicyState,
    hold: Hold,
    events: list[PolicyEvent],
    alerts: list[Alert],
    level: AlertLevel = AlertLevel.CRITICAL,
) -> PolicyState:
    if state.hold(hold.code) is not None:
        return state
    events.append(HoldAdded(at=hold.since, code=hold.code, state=hold.state, reason=hold.reason, until=hold.until))
    alerts.append(Alert(level, hold.code, f"{hold.state.value}: {hold.reason}; lifts {hold.lifts}", hold.since))
    return _with_holds(state, (*state.holds, hold), hold.since, hold.reason, events)


def mark(state: PolicyState, limits: RiskLimits, readings: Readings, now: datetime, quote: str = "") -> Update:
    """Mark to market: new equity and P&L, period rolls, tiers and the monthly early warnings."""
    events: list[PolicyEvent] = []
    alerts: list[Alert] = []
    state = _roll(state, now, events)
    streak_base = state.streak_base if readings.loss_streak >= state.streak_base else 0
    state = replace(
        state,
        equity=readings.equity,
        peak_equity=max(state.peak_equity, readings.equity),
        unrealized=readings.unrealized,
        realized_day=readings.realized_day,
        realized_week=readings.realized_week,
        realized_month=readings.realized_month,
        loss_streak=readings.loss_streak,
        streak_base=streak_base,
        recent_results=readings.recent_results[-RECENT_TRADES:],
        updated_at=now,
    )
    flatten: list[str] = []
    for reading in in_force(state, limits, quote):
        family = tier_family(reading.code)
        if state.hold(family) is not None:
            continue
        hold = Hold(family, TradingState.HALTED, reading.describe(), now, _until(reading, now))
        state = _add_hold(state, hold, events, alerts)
        if family in limits.flatten_on:
            flatten.append(family)
    month_loss = loss_percent(state.month_start_equity, state.equity)
    for level in sorted(limits.monthly_alert_percents):
        key = f"MONTHLY_LOSS>={figure(level)}@{state.month}"
        if month_loss >= level and level < limits.max_monthly_loss_percent and key not in state.alerts_sent:
            state = replace(state, alerts_sent=(*state.alerts_sent, key))
            message = (
                f"the month's loss is {figure(month_loss)}% of its starting equity; trading halts at "
                f"{figure(limits.max_monthly_loss_percent)}%"
            )
            alerts.append(Alert(AlertLevel.WARNING, "MONTHLY_LOSS_WARNING", message, now))
            events.append(RiskAlerted(at=now, code="MONTHLY_LOSS_WARNING", message=message))
    return Update(state, tuple(events), tuple(alerts), tuple(flatten))


def pause(state: PolicyState, reason: str, now: datetime) -> Update:
    if not reason.strip():
        raise InvalidValue("a reason is required to pause trading (--reason)")
    events: list[PolicyEvent] = []
    alerts: list[Alert] = []
    state = _add_hold(state, Hold("PAUSED", TradingState.HALTED, f"paused: {reason.strip()}", now), events, alerts)
    return Update(state, tuple(events), tuple(alerts))


def kill(state: PolicyState, reason: str, now: datetime) -> Update:
    events: list[PolicyEvent] = []
    alerts: list[Alert] = []
    hold = Hold("KILL_SWITCH", TradingState.HALTED, f"kill switch: {reason.strip() or 'flatten everything'}", now)
    state = _add_hold(state, hold, events, alerts)
    return Update(state, tuple(events), tuple(alerts))


def resume(state: PolicyState, limits: RiskLimits, override: str, now: datetime, quote: str = "") -> Update:
    """Lift every hold, with the trader's override reason on the record. Tiers that are still over their limit
    are acknowledged for the rest of their period (a monthly halt for the month); a drawdown hold re-bases the
    peak to today's equity; the loss streak counts again from zero."""
    if not override.strip():
        raise InvalidValue('resuming needs an override reason: robson resume --override "why"')
    if not state.holds:
        raise InvalidValue("trading is already ACTIVE: nothing to resume")
    events: list[PolicyEvent] = []
    held = {h.code for h in state.holds}
    acknowledged = set(state.acknowledged)
    for reading in tiers(state, limits, quote):
        if reading.tripped and reading.period:
            acknowledged.add(ack_key(reading))
    peak = state.equity if "DRAWDOWN" in held else state.peak_equity
    state = replace(
        state,
        acknowledged=tuple(sorted(acknowledged)),
        peak_equity=peak,
        streak_base=state.loss_streak,
        rejections_in_row=0,
    )
    events.append(TradingResumed(at=now, holds=tuple(sorted(held)), override=override.strip()))
    state = _with_holds(state, (), now, f"resumed: {override.strip()}", events)
    alert = Alert(AlertLevel.INFO, "RESUMED", f"trading resumed by override: {override.strip()}", now)
    return Update(state, tuple(events), (alert,))


# ---- unusual activity --------------------------------------------------------------------------


def on_order(state: PolicyState, limits: RiskLimits, now: datetime, *, rejected: bool) -> Update:
    """Count an order sent to the venue: a burst of orders reduces, a run of rejections halts."""
    events: list[PolicyEvent] = []
    alerts: list[Alert] = []
    recent = (*tuple(t for t in state.order_times if now - t < timedelta(minutes=1)), now)
    state = replace(state, order_times=recent, rejections_in_row=state.rejections_in_row + 1 if rejected else 0)
    if len(recent) > limits.max_orders_per_minute:
        reason = f"order rate spike: {len(recent)} orders in a minute (limit {limits.max_orders_per_minute})"
        hold = Hold("ORDER_RATE", TradingState.REDUCING, reason, now, now + ACTIVITY_HOLD)
        state = _add_hold(state, hold, events, alerts, AlertLevel.WARNING)
    if state.rejections_in_row >= limits.max_consecutive_rejections:
        reason = f"{state.rejections_in_row} orders in a row rejected by the venue"
        state = _add_hold(state, Hold("REJECTIONS", TradingState.HALTED, reason, now), events, alerts)
    return Update(state, tuple(events), tuple(alerts))


def on_price_move(state: PolicyState, limits: RiskLimits, symbol: str, sigmas: Decimal, now: datetime) -> Update:
    """A single move of `sigmas` standard deviations of recent returns: beyond the limit, only reduce."""
    if abs(sigmas) <= limits.max_price_move_sigma:
        return Update(state)
    events: list[PolicyEvent] = []
    alerts: list[Alert] = []
    reason = f"{symbol} moved {figure(abs(sigmas).quantize(Decimal('0.1')))} sigma in one mark"
    hold = Hold("PRICE_MOVE", TradingState.REDUCING, reason, now, now + ACTIVITY_HOLD)
    state = _add_hold(state, hold, events, alerts, AlertLevel.WARNING)
    return Update(state, tuple(events), tuple(alerts))
