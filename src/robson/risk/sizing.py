"""Position sizing: pure functions that say HOW MUCH.

Every method ends in one place, `_finish`, which applies the same caps to all of them:
the risk budget (the loss at the stop, fees and slippage included, never exceeds
capital x risk%), the maximum position as % of capital, the lot step (rounding down,
so rounding can only lower the risk) and the exchange minimums (refused with a reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from robson.domain.errors import DomainError, InvalidValue
from robson.domain.instrument import Instrument
from robson.domain.values import HUNDRED, ONE, ZERO, Side, ceil_to_step, floor_to_step, non_negative, positive


class SizingRefused(DomainError):
    """No quantity satisfies every rule; the message says which one."""


@dataclass(frozen=True, slots=True)
class Costs:
    """Per-side trading costs as fractions: 0.001 is 0.1%."""

    fee_rate: Decimal = ZERO
    slippage_rate: Decimal = ZERO

    def __post_init__(self) -> None:
        for name in ("fee_rate", "slippage_rate"):
            value = non_negative(getattr(self, name), name)
            if value >= Decimal("0.1"):
                raise InvalidValue(f"{name} {value} is 10% or more per side; give it as a fraction (0.001 = 0.1%)")


@dataclass(frozen=True, slots=True)
class LotRules:
    """The exchange filters that bind a quantity. Zero disables a rule."""

    step: Decimal = ZERO
    tick: Decimal = ZERO
    min_quantity: Decimal = ZERO
    min_notional: Decimal = ZERO

    @classmethod
    def of(cls, instrument: Instrument) -> LotRules:
        return cls(instrument.step_size, instrument.tick_size, instrument.min_quantity, instrument.min_notional)


@dataclass(frozen=True, slots=True)
class SizingRequest:
    capital: Decimal
    entry: Decimal
    stop: Decimal
    risk_percent: Decimal = Decimal("1")
    max_position_percent: Decimal = Decimal("50")
    costs: Costs = Costs()
    lot: LotRules = LotRules()

    def __post_init__(self) -> None:
        positive(self.capital, "capital")
        positive(self.entry, "entry")
        positive(self.stop, "stop")
        positive(self.risk_percent, "risk percent")
        positive(self.max_position_percent, "max position percent")
        if self.stop == self.entry:
            raise InvalidValue("stop must differ from the entry")
        if self.risk_percent > HUNDRED or self.max_position_percent > HUNDRED:
            raise InvalidValue("percentages must be at most 100")

    @property
    def side(self) -> Side:
        return Side.LONG if self.stop < self.entry else Side.SHORT

    @property
    def risk_budget(self) -> Decimal:
        return self.capital * self.risk_percent / HUNDRED


@dataclass(frozen=True, slots=True)
class SizingResult:
    method: str
    side: Side
    entry: Decimal
    stop: Decimal
    quantity: Decimal
    position_value: Decimal
    risk_amount: Decimal  # the worst loss at the stop for `quantity`, fees and slippage included
    risk_budget: Decimal
    position_percent: Decimal
    loss_per_unit: Decimal
    is_capped: bool
    cap_reason: str | None


def loss_per_unit(side: Side, entry: Decimal, stop: Decimal, costs: Costs, tick: Decimal = ZERO) -> Decimal:
    """The loss of one unit entered at `entry` and stopped at `stop`, paying slippage and fees on both fills.
    Slipped prices round to the tick against us, as a venue would fill them."""
    slip, fee = costs.slippage_rate, costs.fee_rate
    if side is Side.LONG:
        paid = ceil_to_step(entry * (ONE + slip), tick)
        received = floor_to_step(stop * (ONE - slip), tick)
    else:
        received = floor_to_step(entry * (ONE - slip), tick)
        paid = ceil_to_step(stop * (ONE + slip), tick)
    return paid * (ONE + fee) - received * (ONE - fee)


def gain_per_unit(side: Side, entry: Decimal, target: Decimal, costs: Costs, tick: Decimal = ZERO) -> Decimal:
    """What one unit entered at `entry` and taken out at `target` keeps, net of slippage and fees on both fills
    (measured as `loss_per_unit` measures the loss at the stop). Negative when the costs eat the whole move."""
    return -loss_per_unit(side, entry, target, costs, tick)


def open_loss_at_stop(
    side: Side,
    quantity: Decimal,
    cost_basis: Decimal,
    entry_fees: Decimal,
    stop: Decimal,
    costs: Costs,
    tick: Decimal = ZERO,
) -> Decimal:
    """What an open position loses if its stop fills now: what it cost, entry fees paid included, against what
    the stop returns net of slippage and the exit fee. Negative once the stop locks in a profit."""
    slip, fee = costs.slippage_rate, costs.fee_rate
    if side is Side.LONG:
        received = floor_to_step(stop * (ONE - slip), tick)
        return cost_basis + entry_fees - quantity * received * (ONE - fee)
    paid = ceil_to_step(stop * (ONE + slip), tick)
    return quantity * paid * (ONE + fee) - cost_basis + entry_fees


def fixed_risk(request: SizingRequest) -> SizingResult:
    """The 1% rule: quantity = capital x risk% / loss per unit at the stop."""
    return _finish("fixed_risk", None, request)


def fixed_fractional(request: SizingRequest, fraction_percent: Decimal) -> SizingResult:
    """A fixed fraction of capital in the position, never risking more than the budget."""
    positive(fraction_percent, "fraction percent")
    return _finish("fixed_fractional", request.capital * fraction_percent / HUNDRED / request.entry, request)


def fixed_amount(request: SizingRequest, amount: Decimal) -> SizingResult:
    """A fixed amount of quote currency in the position, never risking more than the budget."""
    positive(amount, "amount")
    return _finish("fixed_amount", amount / request.entry, request)


def kelly(request: SizingRequest, win_probability: Decimal, payoff_ratio: Decimal, multiplier: Decimal) -> SizingResult:
    """Risk the Kelly fraction f = p - (1 - p) / b of capital, times a multiplier (0.5 for half-Kelly),
    never more than the fixed-risk budget."""
    if not ZERO < win_probability < ONE:
        raise InvalidValue(f"win probability must lie strictly between 0 and 1, got {win_probability}")
    positive(payoff_ratio, "payoff ratio")
    positive(multiplier, "Kelly multiplier")
    fraction = win_probability - (ONE - win_probability) / payoff_ratio
    if fraction <= 0:
        raise SizingRefused(f"Kelly fraction is {fraction:.4f}: no edge at p={win_probability}, b={payoff_ratio}")
    per_unit = _per_unit(request)
    return _finish("kelly", request.capital * fraction * multiplier / per_unit, request)


def target_volatility(
    request: SizingRequest, asset_volatility_percent: Decimal, target_percent: Decimal
) -> SizingResult:
    """Risk parity: scale the position so that its volatility is `target_percent` of capital."""
    positive(asset_volatility_percent, "asset volatility")
    positive(target_percent, "target volatility")
    value = request.capital * target_percent / asset_volatility_percent
    return _finish("target_volatility", value / request.entry, request)


def _per_unit(request: SizingRequest) -> Decimal:
    return loss_per_unit(request.side, request.entry, request.stop, request.costs, request.lot.tick)


def _finish(method: str, wanted: Decimal | None, request: SizingRequest) -> SizingResult:
    per_unit = _per_unit(request)
    budget = request.risk_budget
    by_budget = budget / per_unit
    quantity, cap = by_budget, None
    if wanted is not None and wanted < by_budget:
        quantity = wanted
    elif wanted is not None:
        cap = f"risk budget: the loss at the stop would exceed {request.risk_percent}% of capital"
    max_value = request.capital * request.max_position_percent / HUNDRED
    if quantity * request.entry > max_value:
        quantity = max_value / request.entry
        cap = f"max position size: {request.max_position_percent}% of capital ({max_value.normalize():f})"
    quantity = floor_to_step(quantity, request.lot.step)
    _refuse_below_minimums(quantity, request)
    value = quantity * request.entry
    return SizingResult(
        method=method,
        side=request.side,
        entry=request.entry,
        stop=request.stop,
        quantity=quantity,
        position_value=value,
        risk_amount=quantity * per_unit,
        risk_budget=budget,
        position_percent=value / request.capital * HUNDRED,
        loss_per_unit=per_unit,
        is_capped=cap is not None,
        cap_reason=cap,
    )


def _refuse_below_minimums(quantity: Decimal, request: SizingRequest) -> None:
    lot = request.lot
    if quantity <= 0 or quantity < lot.min_quantity:
        minimum = max(lot.min_quantity, lot.step)
        raise SizingRefused(
            f"quantity {quantity.normalize():f} is below the exchange minimum {minimum.normalize():f} "
            f"(risk budget {request.risk_budget.normalize():f} is too small for this stop distance)"
        )
    notional = quantity * request.entry
    if notional < lot.min_notional:
        raise SizingRefused(
            f"position value {notional.normalize():f} is below the exchange minimum notional "
            f"{lot.min_notional.normalize():f}"
        )
