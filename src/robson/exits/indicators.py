"""ATR and ADX, Wilder's method, over Decimal OHLC sequences (the open is not needed). Pure; Decimal in and out.

The method (as in Wilder 1978 and TA-Lib; the first bar only provides a previous close and a previous high/low):

- True range of bar i >= 1: max(high_i - low_i, |high_i - close_{i-1}|, |low_i - close_{i-1}|).
- ATR: the first value, at bar `period`, is the mean of the first `period` true ranges; then
  ATR_i = (ATR_{i-1} x (period - 1) + TR_i) / period.
- Directional movement of bar i >= 1: up = high_i - high_{i-1}, down = low_{i-1} - low_i;
  +DM = up if up > down and up > 0 else 0; -DM = down if down > up and down > 0 else 0.
- Wilder sums of TR, +DM and -DM: the first, at bar `period`, is the sum of the first `period` values; then
  S_i = S_{i-1} - S_{i-1} / period + x_i. +DI = 100 x S(+DM) / S(TR), -DI likewise;
  DX = 100 x |+DI - -DI| / (+DI + -DI) (0 when both are 0).
- ADX: the first value, at bar 2 x period - 1, is the mean of the first `period` DX values; then
  ADX_i = (ADX_{i-1} x (period - 1) + DX_i) / period.

So an ATR needs period + 1 bars and an ADX 2 x period bars. Series are returned oldest first, one value per bar from
the first bar that has one; divisions use the default Decimal context (28 significant digits).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from robson.domain.errors import InvalidValue
from robson.domain.values import HUNDRED, ZERO

PERIOD = 14


def _check(
    highs: Sequence[Decimal], lows: Sequence[Decimal], closes: Sequence[Decimal], period: int, need: int
) -> None:
    if isinstance(period, bool) or not isinstance(period, int) or period < 1:
        raise InvalidValue(f"period must be a positive integer, got {period!r}")
    if not len(highs) == len(lows) == len(closes):
        raise InvalidValue("highs, lows and closes must have the same length")
    if len(highs) < need:
        raise InvalidValue(f"{need} bars are needed, got {len(highs)}")
    for high, low, close in zip(highs, lows, closes, strict=True):
        for value in (high, low, close):
            if not isinstance(value, Decimal) or not value.is_finite():
                raise InvalidValue(f"prices must be finite Decimals, got {value!r}")
        if low > high or not low <= close <= high:
            raise InvalidValue(f"a bar's low {low} and high {high} must enclose its close {close}")


def true_ranges(highs: Sequence[Decimal], lows: Sequence[Decimal], closes: Sequence[Decimal]) -> list[Decimal]:
    """The true range of every bar but the first (which has no previous close)."""
    _check(highs, lows, closes, 1, 1)
    return [
        max(highs[i] - lows[i], abs(highs[i] - closes[i - 1]), abs(lows[i] - closes[i - 1]))
        for i in range(1, len(highs))
    ]


def atr_series(
    highs: Sequence[Decimal], lows: Sequence[Decimal], closes: Sequence[Decimal], period: int = PERIOD
) -> list[Decimal]:
    """Wilder's ATR for bars `period`..n-1."""
    _check(highs, lows, closes, period, period + 1)
    ranges = true_ranges(highs, lows, closes)
    value = sum(ranges[:period], ZERO) / period
    series = [value]
    for true_range in ranges[period:]:
        value = (value * (period - 1) + true_range) / period
        series.append(value)
    return series


def atr(highs: Sequence[Decimal], lows: Sequence[Decimal], closes: Sequence[Decimal], period: int = PERIOD) -> Decimal:
    """The latest ATR."""
    return atr_series(highs, lows, closes, period)[-1]


def _directional_movements(highs: Sequence[Decimal], lows: Sequence[Decimal]) -> list[tuple[Decimal, Decimal]]:
    result = []
    for i in range(1, len(highs)):
        up, down = highs[i] - highs[i - 1], lows[i - 1] - lows[i]
        result.append((up if up > down and up > 0 else ZERO, down if down > up and down > 0 else ZERO))
    return result


def _wilder_sums(values: Sequence[Decimal], period: int) -> list[Decimal]:
    total = sum(values[:period], ZERO)
    sums = [total]
    for value in values[period:]:
        total = total - total / period + value
        sums.append(total)
    return sums


def dx_series(
    highs: Sequence[Decimal], lows: Sequence[Decimal], closes: Sequence[Decimal], period: int = PERIOD
) -> list[Decimal]:
    """The directional movement index DX for bars `period`..n-1."""
    _check(highs, lows, closes, period, period + 1)
    movements = _directional_movements(highs, lows)
    ranges = _wilder_sums(true_ranges(highs, lows, closes), period)
    plus = _wilder_sums([m[0] for m in movements], period)
    minus = _wilder_sums([m[1] for m in movements], period)
    series = []
    for total_range, plus_dm, minus_dm in zip(ranges, plus, minus, strict=True):
        plus_di = HUNDRED * plus_dm / total_range if total_range > 0 else ZERO
        minus_di = HUNDRED * minus_dm / total_range if total_range > 0 else ZERO
        both = plus_di + minus_di
        series.append(HUNDRED * abs(plus_di - minus_di) / both if both > 0 else ZERO)
    return series


def adx_series(
    highs: Sequence[Decimal], lows: Sequence[Decimal], closes: Sequence[Decimal], period: int = PERIOD
) -> list[Decimal]:
    """Wilder's ADX for bars 2 x period - 1..n-1."""
    _check(highs, lows, closes, period, 2 * period)
    dx = dx_series(highs, lows, closes, period)
    value = sum(dx[:period], ZERO) / period
    series = [value]
    for index in dx[period:]:
        value = (value * (period - 1) + index) / period
        series.append(value)
    return series


def adx(highs: Sequence[Decimal], lows: Sequence[Decimal], closes: Sequence[Decimal], period: int = PERIOD) -> Decimal:
    """The latest ADX."""
    return adx_series(highs, lows, closes, period)[-1]


def mean(values: Sequence[Decimal]) -> Decimal:
    """The arithmetic mean (for the ATR's own mean over its last 20 values: `mean(atr_series(...)[-20:])`)."""
    if not values:
        raise InvalidValue("the mean of no values is undefined")
    return sum(values, ZERO) / len(values)
