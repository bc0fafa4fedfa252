"""The policy state: what the risk engine knows of the account (equity, its peak, P&L per UTC day, ISO week and
month, the loss streak, the holds in force) and how its tiers read against a strategy's limits. Pure values;
`breakers` moves the state on, the services persist it.

The trading state is the most severe of the holds in force. A hold names why (its code), and either lifts by
itself at a time (the daily tier at the next UTC midnight, the weekly one on Monday) or only on a manual
resume with an override reason (the monthly tier, drawdown, loss streak, pause, kill switch).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from robson.domain.states import TradingState as TradingState  # the domain's, re-exported for the policy's users
from robson.domain.states import lifts
from robson.domain.values import HUNDRED, ZERO
from robson.risk.limits import RiskLimits

RECENT_TRADES = 20


@dataclass(frozen=True, slots=True)
class Hold:
    code: str
    state: TradingState
    reason: str
    since: datetime
    until: datetime | None = None  # None: only a manual resume lifts it

    @property
    def lifts(self) -> str:
        return lifts(self.until)


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
        return loss_percent(self.peak_equity, self.equity)

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
        return f"{figure(self.measured)}{self.unit} against a limit of {figure(self.limit)}{self.unit}"


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


def loss_percent(start_equity: Decimal, equity: Decimal) -> Decimal:
    if start_equity <= 0 or equity >= start_equity:
        return ZERO
    return (start_equity - equity) / start_equity * HUNDRED


def figure(value: Decimal | None) -> str:
    """A limit or a measured value as the trader reads it: four places at most, "off" for no limit."""
    if value is None:
        return "off"
    return f"{value.quantize(Decimal('0.0001')).normalize():f}"


# ---- the tiers ---------------------------------------------------------------------------------


def tiers(state: PolicyState, limits: RiskLimits, quote: str = "") -> tuple[TierReading, ...]:
    """Every tier with its measured value and its limit, as `robson risk status` shows them."""
    day_loss = loss_percent(state.day_start_equity, state.equity)
    day_amount = max(state.day_start_equity - state.equity, ZERO)
    week_loss = loss_percent(state.week_start_equity, state.equity)
    month_loss = loss_percent(state.month_start_equity, state.equity)
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


def tier_family(code: str) -> str:
    return "DAILY_LOSS" if code == "DAILY_LOSS_AMOUNT" else code


def ack_key(reading: TierReading) -> str:
    return f"{tier_family(reading.code)}@{reading.period}"


def in_force(state: PolicyState, limits: RiskLimits, quote: str = "") -> tuple[TierReading, ...]:
    """The tiers over their limit that the trader has not overridden for the rest of their period."""
    return tuple(r for r in tiers(state, limits, quote) if r.tripped and ack_key(r) not in state.acknowledged)


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
