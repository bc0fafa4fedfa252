"""Derived stops and targets round to the tick toward the entry, for longs and shorts alike."""

from decimal import Decimal as D

import pytest

from robson.domain.errors import InvalidValue
from robson.domain.values import Side
from robson.risk.levels import stop_from_atr, stop_from_percent, target_from_percent, target_from_reward_risk

TICK = D("0.01")


@pytest.mark.parametrize(
    ("side", "stop", "target"),
    [(Side.LONG, D("87061.17"), D("92391.43")), (Side.SHORT, D("90614.67"), D("85284.41"))],
)
def test_adopt_example_rounds_toward_the_entry(side: Side, stop: D, target: D) -> None:
    entry = D("88837.92")
    assert stop_from_percent(entry, side, D(2), TICK) == stop
    assert target_from_percent(entry, side, D(4), TICK) == target
    # toward the entry: never farther than the raw percentage
    assert abs(entry - stop) <= entry * D("0.02")
    assert abs(target - entry) <= entry * D("0.04")


def test_reward_risk_target() -> None:
    assert target_from_reward_risk(D(100), D(98), Side.LONG, D("2.5"), TICK) == D(105)
    assert target_from_reward_risk(D(100), D(102), Side.SHORT, D(2), TICK) == D(96)
    with pytest.raises(InvalidValue):
        target_from_reward_risk(D(100), D(102), Side.SHORT, D(60), TICK)


def test_atr_stop_and_degenerate_percentages() -> None:
    assert stop_from_atr(D(100), Side.LONG, D("1.5"), D(2), TICK) == D(97)
    with pytest.raises(InvalidValue):
        stop_from_percent(D("0.01"), Side.LONG, D("0.5"), TICK)  # rounds onto the entry


def test_reward_risk_target_rounds_away_from_the_entry_so_the_ratio_holds() -> None:
    # 90000 + 1.5 x 899.99 = 91349.985: toward the entry would give 91349.98, a ratio of 1.49999
    target = target_from_reward_risk(D("90000.00"), D("89100.01"), Side.LONG, D("1.5"), D("0.01"))
    assert target == D("91349.99")
    assert (target - D("90000.00")) / (D("90000.00") - D("89100.01")) >= D("1.5")
    short = target_from_reward_risk(D("90000.00"), D("90899.99"), Side.SHORT, D("1.5"), D("0.01"))
    assert short == D("88650.01") and (D("90000.00") - short) / (D("90899.99") - D("90000.00")) >= D("1.5")
