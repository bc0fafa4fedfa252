"""Choose a sizing method by name and run it: the one place the entry points reach the sizing policy."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from robson.domain.errors import InvalidValue
from robson.domain.values import Side
from robson.risk import levels, sizing
from robson.risk.sizing import Costs, LotRules, SizingRequest, SizingResult

__all__ = ["METHODS", "Costs", "LotRules", "SizingParams", "SizingResult", "size"]

METHODS = ("fixed_risk", "fixed_fractional", "fixed_amount", "kelly", "atr", "target_volatility")


@dataclass(frozen=True, slots=True)
class SizingParams:
    method: str = "fixed_risk"
    fraction_percent: Decimal | None = None
    amount: Decimal | None = None
    win_probability: Decimal | None = None
    payoff_ratio: Decimal | None = None
    kelly_multiplier: Decimal = Decimal("0.5")
    atr: Decimal | None = None
    atr_multiplier: Decimal = Decimal("2")
    asset_volatility_percent: Decimal | None = None
    target_volatility_percent: Decimal | None = None


def _need(value: Decimal | None, option: str, method: str) -> Decimal:
    if value is None:
        raise InvalidValue(f"method {method} needs {option}")
    return value


def size(
    capital: Decimal,
    entry: Decimal,
    stop: Decimal | None,
    params: SizingParams,
    *,
    side: Side | None = None,
    risk_percent: Decimal = Decimal("1"),
    max_position_percent: Decimal = Decimal("50"),
    costs: Costs | None = None,
    lot: LotRules | None = None,
) -> SizingResult:
    """Size a position with the named method. The ATR method derives the stop from the ATR when none is given."""
    method = params.method
    if method not in METHODS:
        raise InvalidValue(f"unknown sizing method {method!r} (choose from {', '.join(METHODS)})")
    lot = lot or LotRules()
    if method == "atr":
        atr = _need(params.atr, "--atr", method)
        if stop is None:
            stop = levels.stop_from_atr(entry, side or Side.LONG, atr, params.atr_multiplier, lot.tick)
    if stop is None:
        raise InvalidValue("a stop price is required (--stop)")
    if side is not None and (side is Side.LONG) != (stop < entry):
        where = "below" if side is Side.LONG else "above"
        raise InvalidValue(f"a {side} stop must be {where} the entry ({stop} vs entry {entry})")
    request = SizingRequest(capital, entry, stop, risk_percent, max_position_percent, costs or Costs(), lot)
    if method in ("fixed_risk", "atr"):
        return sizing.fixed_risk(request)
    if method == "fixed_fractional":
        return sizing.fixed_fractional(request, _need(params.fraction_percent, "--fraction", method))
    if method == "fixed_amount":
        return sizing.fixed_amount(request, _need(params.amount, "--amount", method))
    if method == "kelly":
        return sizing.kelly(
            request,
            _need(params.win_probability, "--win-rate", method),
            _need(params.payoff_ratio, "--payoff", method),
            params.kelly_multiplier,
        )
    return sizing.target_volatility(
        request,
        _need(params.asset_volatility_percent, "--asset-vol", method),
        _need(params.target_volatility_percent, "--target-vol", method),
    )
