"""The policy state and its circuit breakers: ACTIVE -> REDUCING -> HALTED, drawdown tiers, loss streaks,
unusual activity. Pure: every function takes the state and the readings and returns the next state with the
events for the audit trail and the alerts for the trader. The services persist it and feed it.

The trading state is the most severe of the holds in force. A hold names why (its code), and either lifts by
itself at a time (the daily tier at the next UTC midnight, the weekly one on Monday) or only on a manual
resume with an override reason (the monthly tier, drawdown, loss streak, pause, kill switch).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from robson.domain.errors import InvalidValue
from robson.domain.events import Alert, DomainEvent
from robson.domain.values import HUNDRED, ZERO
from robson.risk.limits import RiskLimits

RECENT_TRADES = 20
ACTIVITY_HOLD = timedelta(minutes=15)  # how long an order-rate or price-move hold lasts by itself


class TradingState(StrEnum):
    ACTIVE = "ACTIVE"  # every rule applies, nothing more
    REDUCING = "REDUCING"  # only orders that reduce or close exposure pass
    HALTED = "HALTED"  # no new exposure until the hold lifts; exits and stops still go through

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


@dataclass(frozen=True, slots=True)
class Hold:
    code: str
    state: TradingState
    reason: str
    since: datetime
    until: datetime | None = None  # None: only a manual resume lifts it

    @property
    def lifts(self) -> str:
        return f"at {self.until:%Y-%m-%d %H:%M} UTC" if self.until else "on robson resume --override"


@dataclass(frozen=True, slots=True)
class Readings:
    """What the ledger and the venue say now; the service measures them, the policy judges them."""

    equity: Decimal
    unrealized: Decimal = ZERO
    realized_day: Decimal = ZERO
    realized_week: Decimal = ZERO
    realized_month: Decimal = ZERO
    loss_streak: int = 0  # closed operations in a row that lost, most recent last
    recent_results: tuple[bool, ...] = ()  # the last closed operations, True for a win, oldest first


@dataclass(frozen=True, slots=True)
class PolicyState:
    equity: Decimal
    peak_equity: Decimal
    day: date
    day_start_equity: Decimal
    week: str
    week_start_equity: Decimal
    month: str
    month_start_equity: Decimal
    updated_at: datetime
    holds: tuple[Hold, ...] = ()
    acknowledged: tuple[str, ...] = ()  # "MONTHLY_LOSS@2026-11": tiers overridden for the rest of their period
    alerts_sent: tuple[str, ...] = ()  # "MONTHLY_LOSS>=2@2026-11": each early warning once per period
    unrealized: Decimal = ZERO
    realized_day: Decimal = ZERO
    realized_week: Decimal = ZERO
    realized_month: Decimal = ZERO
    loss_streak: int = 0
    streak_base: int = 0  # the streak at the last resume: the tier counts losses since then
    recent_results: tuple[bool, ...] = ()
    order_times: tuple[datetime, ...] = ()  # orders sent in the last minute
    rejections_in_row: int = 0

    @property
    def state(self) -> TradingState:
        worst = TradingState.ACTIVE
        for hold in self.holds:
            if hold.state.severity > worst.severity:
                worst = hold.state
        return worst

    def hold(self, code: str) -> Hold | None:
        return next((h for h in self.holds if h.code == code), None)

    @property
    def drawdown_percent(self) -> Decimal:
        return _loss_percent(self.peak_equity, self.equity)

    @property
    def effective_streak(self) -> int:
        return self.loss_streak - self.streak_base if self.loss_streak >= self.streak_base else self.loss_streak


@dataclass(frozen=True, slots=True)
class TierReading:
    code: str
    measured: Decimal
    limit: Decimal | None  # None: the tier is off
    unit: str  # "%", the quote currency, or "losses"
    tripped: bool
    period: str  # the period the tier resets with: a day, an ISO week, a month, or "" (manual)
    lifts: str

    def describe(self) -> str:
        return f"{self.code}: {self.figures()}"

    def figures(self) -> str:
        return f"{_fmt(self.measured)}{self.unit} against a limit of {_fmt(self.limit)}{self.unit}"


@dataclass(frozen=True, slots=True)
class Update:
    state: PolicyState
    events: tuple[DomainEvent, ...] = ()
    alerts: tuple[Alert, ...] = ()
    flatten: tuple[str, ...] = ()  # the tiers that tripped now and are set to flatten every position


# ---- periods -------------------------------------------------------------------------------------


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def month_of(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def next_day(now: datetime) -> datetime:
    return datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=UTC)


def next_week(now: datetime) -> datetime:
    return datetime.combine(now.date() + timedelta(days=7 - now.weekday()), time(0), tzinfo=UTC)


def start(equity: Decimal, now: datetime) -> PolicyState:
    """The first state of an account: every period starts at today's equity."""
    day = now.date()
    return PolicyState(
        equity=equity,
        peak_equity=equity,
        day=day,
        day_start_equity=equity,
        week=week_of(day),
        week_start_equity=equity,
        month=month_of(day),
        month_start_equity=equity,
        updated_at=now,
    )


def _loss_percent(start_equity: Decimal, equity: Decimal) -> Decimal:
    if start_equity <= 0 or equity >= start_equity:
        return ZERO
    return (start_equity - equity) / start_equity * HUNDRED


def _fmt(value: Decimal | None) -> str:
    if value is None:
        return "off"
    return f"{value.quantize(Decimal('0.0001')).normalize():f}"


# ---- the tiers ---------------------------------------------------------------------------------


def tiers(state: PolicyState, limits: RiskLimits, quote: str = "") -> tuple[TierReading, ...]:
    """Every tier with its measured value and its limit, as `robson risk status` shows them."""
    day_loss = _loss_percent(state.day_start_equity, state.equity)
    day_amount = max(state.day_start_equity - state.equity, ZERO)
    week_loss = _loss_percent(state.week_start_equity, state.equity)
    month_loss = _loss_percent(state.month_start_equity, state.equity)
    day, week, month = str(state.day), state.week, state.month
    streak = Decimal(state.effective_streak)
    streak_limit = Decimal(limits.max_consecutive_losses) if limits.max_consecutive_losses else None
    readings = [
        TierReading(
            "DAILY_LOSS", day_loss, limits.max_daily_loss_percent, "%", day_loss >= limits.max_daily_loss_percent,
            day, "at the next UTC day",
        ),
        TierReading(
            "DAILY_LOSS_AMOUNT", day_amount, limits.max_daily_loss_usd, f" {quote}".rstrip(),
            limits.max_daily_loss_usd is not None and day_amount >= limits.max_daily_loss_usd,
            day, "at the next UTC day",
        ),
        TierReading(
            "WEEKLY_LOSS", week_loss, limits.max_weekly_loss_percent, "%", week_loss >= limits.max_weekly_loss_percent,
            week, "at the next ISO week",
        ),
        TierReading(
            "MONTHLY_LOSS", month_loss, limits.max_monthly_loss_percent, "%",
            month_loss >= limits.max_monthly_loss_percent, month, "on robson resume --override",
        ),
        TierReading(
            "DRAWDOWN", state.drawdown_percent, limits.max_drawdown_percent, "%",
            state.drawdown_percent >= limits.max_drawdown_percent, "", "on robson resume --override",
        ),
        TierReading(
            "LOSS_STREAK", streak, streak_limit, " losses", streak_limit is not None and streak >= streak_limit,
            "", "on robson resume --override",
        ),
    ]  # fmt: skip
    return tuple(readings)


def _tier_family(code: str) -> str:
    return "DAILY_LOSS" if code == "DAILY_LOSS_AMOUNT" else code


def _until(reading: TierReading, now: datetime) -> datetime | None:
    if reading.code.startswith("DAILY"):
        return next_day(now)
    if reading.code == "WEEKLY_LOSS":
        return next_week(now)
    return None


def _ack_key(reading: TierReading) -> str:
    return f"{_tier_family(reading.code)}@{reading.period}"


# ---- transitions -------------------------------------------------------------------------------


def _event(name: str, at: datetime, before: dict[str, str], after: dict[str, str]) -> DomainEvent:
    return DomainEvent(name, "policy", "account", at, before, after)


def _with_holds(
    state: PolicyState, holds: tuple[Hold, ...], now: datetime, why: str, events: list[DomainEvent]
) -> PolicyState:
    """Set the holds, recording a TradingStateChanged event when the state moves."""
    before = state.state
    state = replace(state, holds=holds)
    if state.state is not before:
        events.append(
            _event("TradingStateChanged", now, {"state": before.value}, {"state": state.state.value, "reason": why})
        )
    return state


def _roll(state: PolicyState, now: datetime, events: list[DomainEvent]) -> PolicyState:
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
            events.append(_event("HoldLifted", now, {"hold": hold.code, "reason": hold.reason}, {"lifted": "on time"}))
        kept = tuple(h for h in state.holds if h not in expired)
        state = _with_holds(state, kept, now, f"{', '.join(h.code for h in expired)} lifted on time", events)
    return state


def _add_hold(
    state: PolicyState, hold: Hold, events: list[DomainEvent], alerts: list[Alert], level: str = "critical"
) -> PolicyState:
    if state.hold(hold.code) is not None:
        return state
    events.append(
        _event(
            "HoldAdded",
            hold.since,
            {},
            {"hold": hold.code, "state": hold.state.value, "reason": hold.reason, "lifts": hold.lifts},
        )
    )
    alerts.append(Alert(level, hold.code, f"{hold.state.value}: {hold.reason}; lifts {hold.lifts}", hold.since))
    return _with_holds(state, (*state.holds, hold), hold.since, hold.reason, events)


def mark(state: PolicyState, limits: RiskLimits, readings: Readings, now: datetime, quote: str = "") -> Update:
    """Mark to market: new equity and P&L, period rolls, tiers and the monthly early warnings."""
    events: list[DomainEvent] = []
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
    for reading in tiers(state, limits, quote):
        if not reading.tripped or _ack_key(reading) in state.acknowledged:
            continue
        family = _tier_family(reading.code)
        if state.hold(family) is not None:
            continue
        hold = Hold(family, TradingState.HALTED, reading.describe(), now, _until(reading, now))
        state = _add_hold(state, hold, events, alerts)
        if family in limits.flatten_on:
            flatten.append(family)
    month_loss = _loss_percent(state.month_start_equity, state.equity)
    for level in sorted(limits.monthly_alert_percents):
        key = f"MONTHLY_LOSS>={_fmt(level)}@{state.month}"
        if month_loss >= level and level < limits.max_monthly_loss_percent and key not in state.alerts_sent:
            state = replace(state, alerts_sent=(*state.alerts_sent, key))
            message = (
                f"the month's loss is {_fmt(month_loss)}% of its starting equity; trading halts at "
                f"{_fmt(limits.max_monthly_loss_percent)}%"
            )
            alerts.append(Alert("warning", "MONTHLY_LOSS_WARNING", message, now))
            events.append(_event("RiskAlerted", now, {}, {"alert": "MONTHLY_LOSS_WARNING", "message": message}))
    return Update(state, tuple(events), tuple(alerts), tuple(flatten))


def pause(state: PolicyState, reason: str, now: datetime) -> Update:
    if not reason.strip():
        raise InvalidValue("a reason is required to pause trading (--reason)")
    events: list[DomainEvent] = []
    alerts: list[Alert] = []
    state = _add_hold(state, Hold("PAUSED", TradingState.HALTED, f"paused: {reason.strip()}", now), events, alerts)
    return Update(state, tuple(events), tuple(alerts))


def kill(state: PolicyState, reason: str, now: datetime) -> Update:
    events: list[DomainEvent] = []
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
    events: list[DomainEvent] = []
    held = {h.code for h in state.holds}
    acknowledged = set(state.acknowledged)
    for reading in tiers(state, limits, quote):
        if reading.tripped and reading.period:
            acknowledged.add(_ack_key(reading))
    peak = state.equity if "DRAWDOWN" in held else state.peak_equity
    state = replace(
        state,
        acknowledged=tuple(sorted(acknowledged)),
        peak_equity=peak,
        streak_base=state.loss_streak,
        rejections_in_row=0,
    )
    events.append(_event("TradingResumed", now, {"holds": ", ".join(sorted(held))}, {"override": override.strip()}))
    state = _with_holds(state, (), now, f"resumed: {override.strip()}", events)
    alert = Alert("info", "RESUMED", f"trading resumed by override: {override.strip()}", now)
    return Update(state, tuple(events), (alert,))


# ---- unusual activity --------------------------------------------------------------------------


def on_order(state: PolicyState, limits: RiskLimits, now: datetime, *, rejected: bool) -> Update:
    """Count an order sent to the venue: a burst of orders reduces, a run of rejections halts."""
    events: list[DomainEvent] = []
    alerts: list[Alert] = []
    recent = (*tuple(t for t in state.order_times if now - t < timedelta(minutes=1)), now)
    state = replace(state, order_times=recent, rejections_in_row=state.rejections_in_row + 1 if rejected else 0)
    if len(recent) > limits.max_orders_per_minute:
        reason = f"order rate spike: {len(recent)} orders in a minute (limit {limits.max_orders_per_minute})"
        hold = Hold("ORDER_RATE", TradingState.REDUCING, reason, now, now + ACTIVITY_HOLD)
        state = _add_hold(state, hold, events, alerts, "warning")
    if state.rejections_in_row >= limits.max_consecutive_rejections:
        reason = f"{state.rejections_in_row} orders in a row rejected by the venue"
        state = _add_hold(state, Hold("REJECTIONS", TradingState.HALTED, reason, now), events, alerts)
    return Update(state, tuple(events), tuple(alerts))


def on_price_move(state: PolicyState, limits: RiskLimits, symbol: str, sigmas: Decimal, now: datetime) -> Update:
    """A single move of `sigmas` standard deviations of recent returns: beyond the limit, only reduce."""
    if abs(sigmas) <= limits.max_price_move_sigma:
        return Update(state)
    events: list[DomainEvent] = []
    alerts: list[Alert] = []
    reason = f"{symbol} moved {_fmt(abs(sigmas).quantize(Decimal('0.1')))} sigma in one mark"
    hold = Hold("PRICE_MOVE", TradingState.REDUCING, reason, now, now + ACTIVITY_HOLD)
    state = _add_hold(state, hold, events, alerts, "warning")
    return Update(state, tuple(events), tuple(alerts))


# ---- dynamic risk ------------------------------------------------------------------------------


def risk_percent(state: PolicyState | None, limits: RiskLimits) -> Decimal:
    """The risk per trade in force: the configured one, or with dynamic risk one scaled by the win rate of the
    last 20 trades (> 65% x1.5, > 55% x1.2, < 45% x0.5), never above the hard cap."""
    base = limits.max_risk_per_trade_percent
    if not limits.dynamic_risk or state is None or len(state.recent_results) < RECENT_TRADES:
        return base
    results = state.recent_results[-RECENT_TRADES:]
    rate = Decimal(sum(results)) / Decimal(len(results))
    if rate > Decimal("0.65"):
        scaled = base * Decimal("1.5")
    elif rate > Decimal("0.55"):
        scaled = base * Decimal("1.2")
    elif rate < Decimal("0.45"):
        scaled = base * Decimal("0.5")
    else:
        scaled = base
    return min(scaled, limits.max_risk_cap_percent)
