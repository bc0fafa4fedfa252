"""Adaptive brackets: a stop and a target sized in ATRs, wider or tighter with the market's regime.

- default: stop 2.5 ATR, target 4 ATR;
- trending (ADX > 25): stop 2.0 ATR, target 5.0 ATR (let the trend run, keep the stop close);
- choppy (ADX < 20): stop 3.0 ATR, target 3.5 ATR (noise needs room, moves are short);
- both distances x 1.2 when the ATR is above its own mean (volatility is expanding).

Prices round to the tick toward the entry (as in `robson.risk.levels`): a nearer stop risks less, a nearer target
is reached sooner.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from robson.domain.errors import InvalidValue
from robson.domain.values import Side, ceil_to_step, floor_to_step, positive

TRENDING_ADX = Decimal(25)
CHOPPY_ADX = Decimal(20)
EXPANSION = Decimal("1.2")


class Regime(StrEnum):
    TRENDING = "trending"
    CHOPPY = "choppy"
    DEFAULT = "default"


# (stop, target) in ATRs
MULTIPLES: dict[Regime, tuple[Decimal, Decimal]] = {
    Regime.DEFAULT: (Decimal("2.5"), Decimal(4)),
    Regime.TRENDING: (Decimal("2.0"), Decimal("5.0")),
    Regime.CHOPPY: (Decimal("3.0"), Decimal("3.5")),
}


class Bracket(NamedTuple):
    stop: Decimal
    target: Decimal
    regime: Regime


def regime_of(adx: Decimal) -> Regime:
    if adx > TRENDING_ADX:
        return Regime.TRENDING
    if adx < CHOPPY_ADX:
        return Regime.CHOPPY
    return Regime.DEFAULT


def _toward_entry(price: Decimal, entry: Decimal, tick: Decimal) -> Decimal:
    return ceil_to_step(price, tick) if price < entry else floor_to_step(price, tick)


def adaptive_bracket(
    entry: Decimal, side: Side, atr: Decimal, adx: Decimal, atr_mean: Decimal | None, tick: Decimal
) -> Bracket:
    """The stop and target for an entry, from the ATR, the ADX and the ATR's mean (None: no expansion check)."""
    positive(entry, "entry")
    positive(atr, "atr")
    positive(tick, "tick")
    if not isinstance(adx, Decimal) or not adx.is_finite() or adx < 0:
        raise InvalidValue(f"adx must be a non-negative Decimal, got {adx!r}")
    if atr_mean is not None:
        positive(atr_mean, "atr_mean")
    if not isinstance(side, Side):
        raise InvalidValue(f"side must be a Side, got {side!r}")
    regime = regime_of(adx)
    stop_multiple, target_multiple = MULTIPLES[regime]
    if atr_mean is not None and atr > atr_mean:
        stop_multiple, target_multiple = stop_multiple * EXPANSION, target_multiple * EXPANSION
    raw_stop = entry - side.sign * stop_multiple * atr
    raw_target = entry + side.sign * target_multiple * atr
    if raw_stop <= 0 or raw_target <= 0:
        raise InvalidValue(f"an ATR of {atr} puts the bracket of {entry} at or below zero")
    stop, target = _toward_entry(raw_stop, entry, tick), _toward_entry(raw_target, entry, tick)
    if stop == entry or target == entry:
        raise InvalidValue(f"the ATR {atr} is too small for the tick {tick}: the bracket rounds onto the entry")
    return Bracket(stop, target, regime)
