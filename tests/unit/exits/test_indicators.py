"""ATR and ADX (Wilder) against a small example computed by hand with period 3, and their edge cases."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from robson.domain.errors import InvalidValue
from robson.exits.indicators import adx, adx_series, atr, atr_series, dx_series, mean, true_ranges

D = Decimal
# bar:        0     1     2     3     4       5     6
HIGHS = [D(x) for x in ["10", "11", "12", "11", "13", "14", "13"]]
LOWS = [D(x) for x in ["8", "9", "10", "9", "12", "12", "11"]]
CLOSES = [D(x) for x in ["9", "10", "11", "10", "12.5", "13", "12"]]
TOLERANCE = Fraction(1, 10**20)  # the Decimal context keeps 28 digits; the hand values are exact fractions


def close_to(values: list[Decimal], expected: list[Fraction]) -> bool:
    return len(values) == len(expected) and all(
        abs(Fraction(value) - want) < TOLERANCE for value, want in zip(values, expected, strict=True)
    )


def test_true_range_uses_the_previous_close_across_a_gap() -> None:
    # bar 4: high - low is 1, but the previous close 10 is 3 below the high: the range is 3
    assert true_ranges(HIGHS, LOWS, CLOSES) == [D(2), D(2), D(2), D(3), D(2), D(2)]


def test_atr_by_hand() -> None:
    # first: mean(2, 2, 2) = 2; then (2 x 2 + 3) / 3 = 7/3; (7/3 x 2 + 2) / 3 = 20/9; (20/9 x 2 + 2) / 3 = 58/27
    expected = [Fraction(2), Fraction(7, 3), Fraction(20, 9), Fraction(58, 27)]
    assert close_to(atr_series(HIGHS, LOWS, CLOSES, period=3), expected)
    assert abs(Fraction(atr(HIGHS, LOWS, CLOSES, period=3)) - Fraction(58, 27)) < TOLERANCE


def test_dx_by_hand() -> None:
    # +DM: 1 1 0 2 1 0; -DM: 0 0 1 0 0 1 (bars 1..6)
    # Wilder sums at bars 3..6: +DM 2, 10/3, 29/9, 58/27; -DM 1, 2/3, 4/9, 35/27 (the TR sum cancels out of DX)
    # DX = 100 |+ - -| / (+ + -): 100/3, 200/3, 2500/33, 2300/93
    expected = [Fraction(100, 3), Fraction(200, 3), Fraction(2500, 33), Fraction(2300, 93)]
    assert close_to(dx_series(HIGHS, LOWS, CLOSES, period=3), expected)


def test_adx_by_hand() -> None:
    # first at bar 5: mean(100/3, 200/3, 2500/33) = 5800/99; then (5800/99 x 2 + 2300/93) / 3 = 435500/9207
    expected = [Fraction(5800, 99), Fraction(435500, 9207)]
    assert close_to(adx_series(HIGHS, LOWS, CLOSES, period=3), expected)
    assert abs(Fraction(adx(HIGHS, LOWS, CLOSES, period=3)) - Fraction(435500, 9207)) < TOLERANCE


def test_period_14_on_a_steady_rise() -> None:
    # every bar 1 higher with a range of 2: the true range is 2 and all movement is up, so ADX is 100
    highs = [D(10 + i) for i in range(28)]
    lows = [D(8 + i) for i in range(28)]
    closes = [D(9 + i) for i in range(28)]
    assert atr(highs, lows, closes) == D(2)
    assert len(atr_series(highs, lows, closes)) == 28 - 14
    assert adx_series(highs, lows, closes) == [D(100)]


def test_flat_bars_have_no_direction() -> None:
    highs, lows, closes = [D(11)] * 30, [D(9)] * 30, [D(10)] * 30
    assert adx(highs, lows, closes) == D(0)
    assert atr(highs, lows, closes) == D(2)


@pytest.mark.parametrize(
    ("function", "bars", "period"),
    [(atr, 3, 3), (atr, 14, 14), (adx, 5, 3), (adx, 27, 14)],
)
def test_too_few_bars_are_refused(function: object, bars: int, period: int) -> None:
    assert callable(function)
    with pytest.raises(InvalidValue, match="bars are needed"):
        function(HIGHS[:1] * bars, LOWS[:1] * bars, CLOSES[:1] * bars, period)


def test_enough_bars_are_accepted() -> None:
    assert atr(HIGHS[:4], LOWS[:4], CLOSES[:4], period=3) == D(2)
    assert len(adx_series(HIGHS[:6], LOWS[:6], CLOSES[:6], period=3)) == 1


@pytest.mark.parametrize(
    ("highs", "lows", "closes", "period", "fragment"),
    [
        (HIGHS, LOWS[:-1], CLOSES, 3, "same length"),
        (HIGHS, LOWS, CLOSES, 0, "period"),
        ([10.0, 11.0, 12.0, 13.0], LOWS[:4], CLOSES[:4], 3, "Decimal"),
        ([D(10), D(11), D(12), D(9)], LOWS[:4], CLOSES[:4], 3, "enclose"),
    ],
)
def test_bad_input_is_refused(
    highs: list[Decimal], lows: list[Decimal], closes: list[Decimal], period: int, fragment: str
) -> None:
    with pytest.raises(InvalidValue, match=fragment):
        atr(highs, lows, closes, period)


def test_mean() -> None:
    assert mean([D(1), D(2), D(6)]) == D(3)
    with pytest.raises(InvalidValue):
        mean([])
