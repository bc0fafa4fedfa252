"""Pre-trade checks: pure functions over a proposal and a portfolio snapshot, composed into one decision.

Each check has a stable code, the limit, the measured value and a human reason. The risk engine issue
adds the portfolio-wide checks (heat, exposure, correlation, drawdown tiers) beside these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from robson.domain.instrument import Instrument
from robson.domain.values import HUNDRED, Side
from robson.risk.limits import RiskLimits


@dataclass(frozen=True, slots=True)
class CheckResult:
    code: str
    passed: bool
    limit: str
    measured: str
    reason: str


@dataclass(frozen=True, slots=True)
class Decision:
    checks: tuple[CheckResult, ...]

    @property
    def approved(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed)

    def summary(self) -> str:
        return "; ".join(f"{c.code}: {c.reason}" for c in self.failures) or "all checks passed"


@dataclass(frozen=True, slots=True)
class Proposal:
    """An order that would open or grow exposure."""

    instrument: Instrument
    side: Side
    entry: Decimal
    quantity: Decimal
    risk_amount: Decimal  # the worst loss at the stop, fees and slippage included
    cost: Decimal  # quote needed to fund it on the venue (spot long), fees included


@dataclass(frozen=True, slots=True)
class PortfolioSnapshot:
    equity: Decimal
    free_quote: Decimal
    active_operations: int
    venue_supports_short: bool


Check = Callable[[Proposal, PortfolioSnapshot, RiskLimits], CheckResult]


def _pct(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.0001')).normalize():f}%"


def risk_per_trade(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    measured = p.risk_amount / s.equity * HUNDRED if s.equity > 0 else HUNDRED
    ok = measured <= limits.max_risk_per_trade_percent
    reason = f"loss at the stop {p.risk_amount:.2f} is {_pct(measured)} of equity {s.equity:.2f}"
    return CheckResult("RISK_PER_TRADE", ok, _pct(limits.max_risk_per_trade_percent), _pct(measured), reason)


def position_size(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    value = p.quantity * p.entry
    measured = value / s.equity * HUNDRED if s.equity > 0 else HUNDRED
    ok = measured <= limits.max_position_size_percent
    reason = f"position value {value:.2f} is {_pct(measured)} of equity"
    return CheckResult("POSITION_SIZE", ok, _pct(limits.max_position_size_percent), _pct(measured), reason)


def concurrent_operations(p: Proposal, s: PortfolioSnapshot, limits: RiskLimits) -> CheckResult:
    ok = s.active_operations < limits.max_concurrent_operations
    reason = f"{s.active_operations} operations active, at most {limits.max_concurrent_operations} allowed"
    return CheckResult(
        "CONCURRENT_OPERATIONS", ok, str(limits.max_concurrent_operations), str(s.active_operations), reason
    )


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
    ok = p.side is Side.LONG or s.venue_supports_short
    reason = (
        "the venue can open this side" if ok else "a spot account cannot sell what it does not hold: shorts need margin"
    )
    return CheckResult("VENUE_SIDE", ok, "long" if not s.venue_supports_short else "long or short", str(p.side), reason)


PRE_TRADE_CHECKS: tuple[Check, ...] = (
    risk_per_trade,
    position_size,
    concurrent_operations,
    exchange_filters,
    venue_side,
    funds,
)


def evaluate(proposal: Proposal, snapshot: PortfolioSnapshot, limits: RiskLimits) -> Decision:
    return Decision(tuple(check(proposal, snapshot, limits) for check in PRE_TRADE_CHECKS))
