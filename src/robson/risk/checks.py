"""Pre-trade checks: pure functions over a proposal and a portfolio snapshot, composed into one decision.

Each check has a stable code, the limit, the measured value and a human reason. Orders that only reduce or
close a position are always allowed; everything that opens or grows exposure passes every check here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

from robson.domain.values import HUNDRED, ZERO, Side
from robson.domain.venue import Capability
from robson.risk import policy_state
from robson.risk.limits import RiskLimits
from robson.risk.policy_state import TradingState
from robson.risk.proposal import Intent, PortfolioSnapshot, Proposal
from robson.risk.sizing import gain_per_unit, loss_per_unit


@dataclass(frozen=True, slots=True)
class CheckResult:
    code: str
    passed: bool
    limit: str
    measured: str
    reason: str
    warning: str = ""  # passed, but close to the limit
    at_execution: bool = False  # depends on the market: measured at its price now, judged again at execution


@dataclass(frozen=True, slots=True)
class Decision:
    checks: tuple[CheckResult, ...]

    @property
    def approved(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(f"{c.code}: {c.warning}" for c in self.checks if c.warning)

    def summary(self) -> str:
        return "; ".join(f"{c.code}: {c.reason}" for c in self.failures) or "all checks passed"


Check = Callable[[Proposal, PortfolioSnapshot, RiskLimits], CheckResult]


def _pct(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.0001')).normalize():f}%"


def _num(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')).normalize():f}"


def _share(amount: Decimal, equity: Decimal) -> Decimal:
    return amount / equity * HUNDRED if equity > 0 else HUNDRED


# ---- the state ---------------------------------------------------------------------------------


def trading_state(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    state = s.state
    if state is TradingState.ACTIVE:
        return CheckResult("TRADING_STATE", True, "ACTIVE", "ACTIVE", "trading is active")
    assert s.policy is not None
    why = "; ".join(f"{h.reason} (lifts {h.lifts})" for h in s.policy.holds)
    reason = f"trading is {state}: only orders that reduce exposure pass; {why}"
    return CheckResult("TRADING_STATE", False, "ACTIVE", state.value, reason)


def loss_tiers(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    """The strategy's own tier limits against the account's measured losses (a stricter strategy stops first)."""
    if s.policy is None:
        return CheckResult("LOSS_TIERS", True, "-", "-", "no policy state yet")
    tripped = policy_state.in_force(s.policy, limits, p.instrument.quote)  # an overridden tier stays lifted
    if not tripped:
        return CheckResult("LOSS_TIERS", True, "-", "-", "every loss tier is within its limit")
    first = tripped[0]
    reason = "; ".join(
        f"{r.figures() if r is first else r.describe()} (lifts {r.lifts})" for r in tripped
    )  # the first tier's code leads the line already
    return CheckResult(first.code, False, policy_state.figure(first.limit), policy_state.figure(first.measured), reason)


# ---- the trade ---------------------------------------------------------------------------------


def risk_per_trade(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    allowed = s.risk_percent if s.risk_percent is not None else limits.max_risk_per_trade_percent
    measured = _share(p.risk_amount, s.equity)
    ok = measured <= allowed
    whole = "all tranches' loss" if p.intent is Intent.ADD else "loss"
    reason = f"{whole} at the stop {_num(p.risk_amount)} is {_pct(measured)} of equity {_num(s.equity)}"
    return CheckResult("RISK_PER_TRADE", ok, _pct(allowed), _pct(measured), reason)


def position_size(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    value = p.position_value
    measured = _share(value, s.equity)
    ok = measured <= limits.max_position_size_percent
    limit = _pct(limits.max_position_size_percent)
    reason = f"position value {_num(value)} is {_pct(measured)} of equity"
    if ok and limits.max_position_size_usd is not None:
        ok = value <= limits.max_position_size_usd
        limit += f" and {_num(limits.max_position_size_usd)} {p.instrument.quote}"
        reason += f" (at most {_num(limits.max_position_size_usd)} {p.instrument.quote})"
    return CheckResult("POSITION_SIZE", ok, limit, _pct(measured), reason)


def reward_risk(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    """The reward at the target against the loss at the stop, both net of fees and slippage on both fills: a
    target that does not clear its costs is refused whatever its distance."""
    minimum = limits.min_risk_reward_ratio
    if p.target is None:
        return CheckResult("RISK_REWARD", True, f"{minimum}", "-", "no target: the exit rules decide")
    entry = p.average_entry or p.entry
    tick = p.instrument.tick_size
    risk = loss_per_unit(p.side, entry, p.stop, p.costs, tick)
    reward = gain_per_unit(p.side, entry, p.target, p.costs, tick)
    gross = (p.target - entry) * p.side.sign
    if reward <= 0:
        reason = (
            f"the target {p.target} does not clear its costs: reward {_num(gross)} per unit before fees and "
            f"slippage, {_num(reward)} after (risk {_num(risk)} per unit), minimum {minimum}"
        )
        return CheckResult("RISK_REWARD", False, f"{minimum}", _num(reward), reason)
    ratio = reward / risk if risk > 0 else Decimal("Infinity")
    ok = ratio >= minimum
    shown = "inf" if not ratio.is_finite() else f"{ratio.quantize(Decimal('0.01'), rounding=ROUND_DOWN)}"
    if reward == gross:  # no costs to take off
        reason = f"reward:risk {shown} (reward {_num(reward)} per unit, risk {_num(risk)} per unit), minimum {minimum}"
    else:
        reason = (
            f"reward:risk {shown} net of fees and slippage: reward {_num(reward)} per unit ({_num(gross)} before "
            f"them), risk {_num(risk)} per unit; minimum {minimum}"
        )
    return CheckResult("RISK_REWARD", ok, f"{minimum}", shown, reason)


def leverage(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    ok = p.leverage <= limits.max_leverage
    reason = f"leverage {p.leverage}x, at most {limits.max_leverage}x"
    return CheckResult("LEVERAGE", ok, f"{limits.max_leverage}x", f"{p.leverage}x", reason)


def signal_confidence(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    minimum = limits.min_signal_confidence
    if p.confidence is None:
        return CheckResult("SIGNAL_CONFIDENCE", True, f"{minimum}", "-", "placed by the trader, not by a signal")
    ok = p.confidence >= minimum
    reason = f"signal confidence {p.confidence}, at least {minimum} needed"
    return CheckResult("SIGNAL_CONFIDENCE", ok, f"{minimum}", f"{p.confidence}", reason)


# ---- the portfolio -----------------------------------------------------------------------------


def concurrent_operations(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    active = s.active_operations
    ok = active < limits.max_concurrent_operations
    noun = "operation" if active == 1 else "operations"
    reason = f"{active} {noun} active, at most {limits.max_concurrent_operations} allowed"
    return CheckResult("CONCURRENT_OPERATIONS", ok, str(limits.max_concurrent_operations), str(active), reason)


def portfolio_heat(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    heat = s.book.heat + p.heat_added
    measured = _share(heat, s.equity)
    ok = measured <= limits.max_portfolio_heat_percent
    reason = (
        f"open risk to the stops would be {_num(heat)} ({_pct(measured)} of equity): "
        f"{_num(s.book.heat)} open plus {_num(p.heat_added)} for this order"
    )
    return CheckResult("PORTFOLIO_HEAT", ok, _pct(limits.max_portfolio_heat_percent), _pct(measured), reason)


def total_exposure(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    exposure = s.book.exposure + p.order_value
    measured = _share(exposure, s.equity)
    ok = measured <= limits.max_total_exposure_percent
    reason = f"total exposure would be {_num(exposure)}, {_pct(measured)} of equity"
    return CheckResult("TOTAL_EXPOSURE", ok, _pct(limits.max_total_exposure_percent), _pct(measured), reason)


def asset_exposure(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    base = p.instrument.base
    exposure = s.book.by_asset.get(base, ZERO) + p.order_value
    measured = _share(exposure, s.equity)
    ok = measured <= limits.max_single_asset_exposure_percent
    reason = f"exposure to {base} would be {_num(exposure)}, {_pct(measured)} of equity"
    return CheckResult("ASSET_EXPOSURE", ok, _pct(limits.max_single_asset_exposure_percent), _pct(measured), reason)


def correlation(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    maximum = limits.max_correlated_positions
    if maximum is None:
        return CheckResult("CORRELATION", True, "off", "-", "correlation limit off")
    threshold = limits.correlation_threshold
    symbol = p.instrument.symbol
    correlated = s.book.by_symbol.get(symbol, 0)  # the same symbol correlates perfectly
    names = [symbol] if correlated else []
    for other, value in s.correlations.items():
        if other != symbol and value > threshold:
            count = s.book.by_symbol.get(other, 0)
            if count:
                correlated += count
                names.append(other)
    ok = correlated < maximum
    reason = (
        f"{correlated} open positions correlate above {threshold} with {symbol}"
        + (f" ({', '.join(names)})" if names else "")
        + f", at most {maximum}"
    )
    return CheckResult("CORRELATION", ok, str(maximum), str(correlated), reason)


def group_share(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    share = limits.max_group_share_percent
    if share is None or p.group is None:
        why = "group limit off" if share is None else f"{p.instrument.symbol} belongs to no configured group"
        return CheckResult("GROUP_SHARE", True, "off" if share is None else _pct(share), "-", why)
    after = s.book.by_group.get(p.group, 0) + 1
    total = s.book.count + 1
    allowed = max(1, int(share * total / HUNDRED))  # the first position of a group is always allowed
    ok = after <= allowed
    measured = _pct(Decimal(after) / Decimal(total) * HUNDRED)
    reason = f"{after} of {total} open positions ({measured}) would be in {p.group}; at most {_pct(share)} ({allowed})"
    return CheckResult("GROUP_SHARE", ok, _pct(share), measured, reason)


# ---- activity ----------------------------------------------------------------------------------


def daily_trades(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    maximum = limits.max_trades_per_day
    after = s.trades_today + 1
    ok = after <= maximum
    reason = f"this would be trade {after} of today (UTC), at most {maximum}"
    warn_at = limits.trades_warning_percent * maximum / HUNDRED
    warning = f"{after} of {maximum} trades used today" if ok and after >= warn_at else ""
    return CheckResult("DAILY_TRADES", ok, str(maximum), str(after), reason, warning)


def tranches(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    assert p.tranche is not None
    after = p.tranche.tranches + 1
    if after > limits.max_tranches:
        reason = f"this would be tranche {after}; a position holds at most {limits.max_tranches}"
        return CheckResult("TRANCHES", False, str(limits.max_tranches), str(after), reason)
    value = p.order_value
    quote = p.instrument.quote
    if value < limits.min_tranche_usd:
        reason = f"tranche value {_num(value)} {quote} is below the minimum {_num(limits.min_tranche_usd)}"
        return CheckResult("TRANCHE_SIZE", False, _num(limits.min_tranche_usd), _num(value), reason)
    if limits.max_tranche_usd is not None and value > limits.max_tranche_usd:
        reason = f"tranche value {_num(value)} {quote} is above the maximum {_num(limits.max_tranche_usd)}"
        return CheckResult("TRANCHE_SIZE", False, _num(limits.max_tranche_usd), _num(value), reason)
    reason = f"tranche {after} of at most {limits.max_tranches}, value {_num(value)} {quote}"
    return CheckResult("TRANCHES", True, str(limits.max_tranches), str(after), reason)


def tranche_cooldown(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    assert p.tranche is not None
    cooldown = timedelta(minutes=limits.tranche_cooldown_minutes)
    now = s.now or p.tranche.last_entry_at
    waited = now - p.tranche.last_entry_at
    ok = waited >= cooldown
    minutes = (Decimal(int(waited.total_seconds())) / 60).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    reason = f"{minutes} min since the last tranche, at least {limits.tranche_cooldown_minutes} min between tranches"
    return CheckResult("TRANCHE_COOLDOWN", ok, f"{limits.tranche_cooldown_minutes} min", f"{minutes} min", reason)


# ---- the venue ---------------------------------------------------------------------------------


def exchange_filters(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    failure = p.instrument.filter_failure(p.quantity, p.entry)
    i = p.instrument
    limit = f"step {i.step_size.normalize():f}, min qty {i.min_quantity.normalize():f}, min notional {i.min_notional}"
    reason = f"filter failure: {failure}" if failure else "quantity and notional meet the exchange filters"
    return CheckResult("EXCHANGE_FILTERS", failure is None, limit, str(p.quantity), reason)


def funds(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    ok = p.cost <= s.free_quote
    reason = f"needs {p.cost:.2f} {p.instrument.quote}, {s.free_quote:.2f} available"
    return CheckResult("FUNDS", ok, f"{s.free_quote:.2f}", f"{p.cost:.2f}", reason)


def venue_side(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    shorts = Capability.SHORT in s.capabilities
    ok = p.side is Side.LONG or shorts
    reason = (
        "the venue can open this side" if ok else "a spot account cannot sell what it does not hold: shorts need margin"
    )
    return CheckResult("VENUE_SIDE", ok, "long or short" if shorts else "long", str(p.side), reason)


# ---- the market at execution ------------------------------------------------------------------

# The checks whose figures move with the entry price: judged at the market's price by validate and by execute.
PRICED = frozenset(
    ("RISK_PER_TRADE", "POSITION_SIZE", "RISK_REWARD", "PORTFOLIO_HEAT", "TOTAL_EXPOSURE", "ASSET_EXPOSURE",
     "EXCHANGE_FILTERS", "FUNDS")
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Plan:
    """What the market is held against: the planned entry and the levels around it."""

    symbol: str
    side: Side
    entry: Decimal
    stop: Decimal
    target: Decimal | None


def market(p: Plan, reference: Decimal | None, max_deviation_percent: Decimal) -> tuple[CheckResult, ...]:
    """Whether the market still fits the plan: a price to enter at, not through the stop nor past the target, and
    within the allowed deviation from the planned entry. Execute refuses on any of them; validate shows them,
    marked as depending on the market at execution."""
    symbol, sign = p.symbol, p.side.sign
    if reference is None:
        reason = f"no market price for {symbol} yet (paper mode: robson price {symbol} PRICE)"
        return (CheckResult("MARKET_PRICE", False, "a price", "-", reason, at_execution=True),)
    levels = f"stop {p.stop}" + (f", target {p.target}" if p.target is not None else "")
    if (reference - p.stop) * sign <= 0:
        inside, reason = False, f"{symbol} at {reference} is already through the stop {p.stop}"
    elif p.target is not None and (p.target - reference) * sign <= 0:
        inside, reason = False, f"{symbol} at {reference} is already past the target {p.target}"
    else:
        where = f"the stop {p.stop} and the target {p.target}" if p.target else f"the stop {p.stop} and no target"
        inside, reason = True, f"{symbol} at {reference} lies between {where}"
    deviation = abs(reference - p.entry) / p.entry * HUNDRED
    near = deviation <= max_deviation_percent
    said = (
        f"{symbol} at {reference} is {deviation:.2f}% from the planned entry {p.entry} (limit {max_deviation_percent}%)"
    )
    return (
        CheckResult("MARKET_LEVELS", inside, levels, str(reference), reason, at_execution=True),
        CheckResult(
            "ENTRY_DEVIATION", near, _pct(max_deviation_percent), f"{deviation:.2f}%",
            said if near else f"{said}; plan again", at_execution=True,
        ),
    )  # fmt: skip


def at_execution(decision: Decision) -> Decision:
    """The decision with the checks priced at the market marked as such."""
    return Decision(tuple(replace(c, at_execution=True) if c.code in PRICED else c for c in decision.checks))


_COMMON: tuple[Check, ...] = (
    trading_state,
    loss_tiers,
    risk_per_trade,
    position_size,
    reward_risk,
    leverage,
    signal_confidence,
    portfolio_heat,
    total_exposure,
    asset_exposure,
    daily_trades,
)
_VENUE: tuple[Check, ...] = (exchange_filters, venue_side, funds)

CHECKS: dict[Intent, tuple[Check, ...]] = {
    Intent.OPEN: (*_COMMON[:7], concurrent_operations, *_COMMON[7:], correlation, group_share, *_VENUE),
    Intent.ADD: (*_COMMON, tranches, tranche_cooldown, *_VENUE),
    Intent.REDUCE: (),
}

_REDUCE_ONLY = CheckResult("REDUCE_ONLY", True, "-", "-", "orders that only reduce or close a position always pass")


def evaluate(proposal: Proposal, snapshot: PortfolioSnapshot, limits: RiskLimits) -> Decision:
    if proposal.intent is Intent.REDUCE:
        return Decision((_REDUCE_ONLY,))
    return Decision(tuple(check(proposal, snapshot, limits) for check in CHECKS[proposal.intent]))
