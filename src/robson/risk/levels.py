"""Stop and target prices derived from percentages or a reward:risk ratio.

Derived prices round to the tick toward the entry: the conservative side (a nearer stop risks less,
a nearer target is reached sooner). A target asked for as a reward:risk is the exception: it rounds away from
the entry, so that the plan meets the ratio it asked for (and the minimum reward:risk check it must pass)."""

from __future__ import annotations

from decimal import Decimal

from robson.domain.errors import InvalidValue
from robson.domain.values import HUNDRED, ONE, Side, ceil_to_step, floor_to_step


def toward_entry(price: Decimal, entry: Decimal, tick: Decimal) -> Decimal:
    """Round `price` onto the tick grid in the direction of `entry`."""
    return ceil_to_step(price, tick) if price < entry else floor_to_step(price, tick)


def stop_from_percent(entry: Decimal, side: Side, stop_percent: Decimal, tick: Decimal) -> Decimal:
    raw = entry * (ONE - side.sign * stop_percent / HUNDRED)
    return _checked(toward_entry(raw, entry, tick), entry, "stop")


def target_from_percent(entry: Decimal, side: Side, target_percent: Decimal, tick: Decimal) -> Decimal:
    raw = entry * (ONE + side.sign * target_percent / HUNDRED)
    return _checked(toward_entry(raw, entry, tick), entry, "target")


def target_from_reward_risk(entry: Decimal, stop: Decimal, side: Side, ratio: Decimal, tick: Decimal) -> Decimal:
    if ratio <= 0:
        raise InvalidValue(f"reward:risk ratio must be greater than zero, got {ratio}")
    raw = entry + side.sign * ratio * abs(entry - stop)
    if raw <= 0:
        raise InvalidValue(f"a reward:risk of {ratio} puts the target at or below zero")
    away = floor_to_step(raw, tick) if raw < entry else ceil_to_step(raw, tick)
    return _checked(away, entry, "target")


def stop_from_atr(entry: Decimal, side: Side, atr: Decimal, multiplier: Decimal, tick: Decimal) -> Decimal:
    if atr <= 0 or multiplier <= 0:
        raise InvalidValue("ATR and its multiplier must be greater than zero")
    raw = entry - side.sign * atr * multiplier
    if raw <= 0:
        raise InvalidValue(f"a stop {multiplier} ATR away from {entry} would be at or below zero")
    return _checked(toward_entry(raw, entry, tick), entry, "stop")


def _checked(price: Decimal, entry: Decimal, name: str) -> Decimal:
    if price == entry or price <= 0:
        raise InvalidValue(f"the derived {name} rounds onto the entry price; use a wider percentage")
    return price
