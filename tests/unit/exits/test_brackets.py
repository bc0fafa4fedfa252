"""Adaptive brackets: the regime from the ADX, the distances in ATRs, the volatility expansion and the tick."""

from __future__ import annotations

from decimal import Decimal

import pytest

from robson.domain.errors import InvalidValue
from robson.domain.values import Side
from robson.exits.brackets import Bracket, Regime, adaptive_bracket

D = Decimal
LONG, SHORT = Side.LONG, Side.SHORT
TICK = D("0.01")


@pytest.mark.parametrize(
    ("side", "adx", "atr_mean", "stop", "target", "regime"),
    [
        (LONG, "22", None, "95", "108", Regime.DEFAULT),  # 2.5 and 4 ATR of 2
        (LONG, "30", None, "96", "110", Regime.TRENDING),  # 2.0 and 5.0
        (LONG, "15", None, "94", "107", Regime.CHOPPY),  # 3.0 and 3.5
        (LONG, "25", None, "95", "108", Regime.DEFAULT),  # the thresholds are strict
        (LONG, "20", None, "95", "108", Regime.DEFAULT),
        (SHORT, "30", None, "104", "90", Regime.TRENDING),
        (SHORT, "15", None, "106", "93", Regime.CHOPPY),
        (LONG, "22", "1.5", "94", "109.6", Regime.DEFAULT),  # ATR 2 above its mean 1.5: x 1.2
        (LONG, "30", "1.5", "95.2", "112", Regime.TRENDING),
        (SHORT, "15", "1.5", "107.2", "91.6", Regime.CHOPPY),
        (LONG, "22", "2", "95", "108", Regime.DEFAULT),  # at its mean: no expansion
        (LONG, "22", "2.5", "95", "108", Regime.DEFAULT),
    ],
    ids=[
        "default",
        "trending",
        "choppy",
        "adx 25 is not trending",
        "adx 20 is not choppy",
        "short trending",
        "short choppy",
        "expanding volatility widens the default by 1.2",
        "expanding volatility widens trending",
        "expanding volatility widens short choppy",
        "atr at its mean does not widen",
        "atr below its mean does not widen",
    ],
)
def test_regimes(side: Side, adx: str, atr_mean: str | None, stop: str, target: str, regime: Regime) -> None:
    mean = D(atr_mean) if atr_mean is not None else None
    result = adaptive_bracket(D(100), side, D(2), D(adx), mean, TICK)
    assert result == Bracket(D(stop), D(target), regime)
    assert result.regime is regime


@pytest.mark.parametrize(
    ("side", "stop", "target"),
    [
        (LONG, "99.17", "101.33"),  # 99.1675 up, 101.332 down: both toward the entry
        (SHORT, "100.83", "98.67"),  # 100.8325 down, 98.668 up
    ],
)
def test_prices_round_to_the_tick_toward_the_entry(side: Side, stop: str, target: str) -> None:
    result = adaptive_bracket(D(100), side, D("0.333"), D(22), None, TICK)
    assert (result.stop, result.target) == (D(stop), D(target))


def test_a_bracket_that_rounds_onto_the_entry_is_refused() -> None:
    with pytest.raises(InvalidValue, match="too small"):
        adaptive_bracket(D(100), LONG, D("0.001"), D(22), None, TICK)


def test_a_stop_at_or_below_zero_is_refused() -> None:
    with pytest.raises(InvalidValue, match="below zero"):
        adaptive_bracket(D(1), LONG, D(1), D(22), None, TICK)
    with pytest.raises(InvalidValue, match="below zero"):
        adaptive_bracket(D(3), SHORT, D(1), D(22), None, TICK)  # the target 3 - 4 is below zero
    assert adaptive_bracket(D(3), LONG, D(1), D(22), None, TICK) == Bracket(D("0.5"), D(7), Regime.DEFAULT)


@pytest.mark.parametrize(
    ("entry", "atr", "adx", "atr_mean", "tick"),
    [
        ("0", "2", "22", None, "0.01"),
        ("100", "0", "22", None, "0.01"),
        ("100", "2", "-1", None, "0.01"),
        ("100", "2", "22", "0", "0.01"),
        ("100", "2", "22", None, "0"),
    ],
)
def test_bad_inputs_are_refused(entry: str, atr: str, adx: str, atr_mean: str | None, tick: str) -> None:
    mean = D(atr_mean) if atr_mean is not None else None
    with pytest.raises(InvalidValue):
        adaptive_bracket(D(entry), LONG, D(atr), D(adx), mean, D(tick))
