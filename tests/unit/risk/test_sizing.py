"""Sizing: the plan's worked example, fees, shorts, caps, minimums, and the budget as a property."""

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robson.domain.errors import InvalidValue
from robson.domain.values import Side
from robson.risk.sizing import (
    Costs,
    LotRules,
    SizingRefused,
    SizingRequest,
    fixed_amount,
    fixed_fractional,
    fixed_risk,
    kelly,
    loss_per_unit,
    target_volatility,
)

BTC = LotRules(step=D("0.00001"), tick=D("0.01"), min_quantity=D("0.00001"), min_notional=D("5"))


def test_worked_example_without_fees() -> None:
    result = fixed_risk(SizingRequest(D(1000), D(90000), D(88200), lot=LotRules(step=D("0.00001"))))
    assert result.quantity == D("0.00555")
    assert result.position_value == D("499.50")
    assert result.risk_amount <= D(10)
    assert not result.is_capped and result.cap_reason is None
    assert result.side is Side.LONG


def test_fees_shrink_the_quantity_and_the_loss_with_both_fees_fits_the_budget() -> None:
    no_fees = fixed_risk(SizingRequest(D(1000), D(90000), D(88200), lot=LotRules(step=D("0.00001"))))
    fees = Costs(fee_rate=D("0.001"))
    result = fixed_risk(SizingRequest(D(1000), D(90000), D(88200), costs=fees, lot=LotRules(step=D("0.00001"))))
    loss = (
        result.quantity * (D(90000) - D(88200))
        + result.quantity * D(90000) * D("0.001")
        + (result.quantity * D(88200) * D("0.001"))
    )
    assert result.quantity < no_fees.quantity
    assert result.quantity == D("0.00505")
    assert loss <= D(10)
    assert loss == result.risk_amount


def test_mirrored_short_gives_the_same_quantity() -> None:
    result = fixed_risk(SizingRequest(D(1000), D(90000), D(91800), lot=LotRules(step=D("0.00001"))))
    assert result.side is Side.SHORT
    assert result.quantity == D("0.00555")


def test_tight_stop_is_capped_at_half_the_capital() -> None:
    result = fixed_risk(SizingRequest(D(1000), D(90000), D(89910), lot=LotRules(step=D("0.00001"))))
    assert result.is_capped
    assert "max position" in (result.cap_reason or "")
    assert result.position_value <= D(500)
    assert result.quantity == D("0.00555")


def test_below_exchange_minimum_is_refused_with_a_reason() -> None:
    with pytest.raises(SizingRefused, match="minimum notional"):
        fixed_risk(SizingRequest(D(100), D(90000), D(45000), lot=BTC))
    with pytest.raises(SizingRefused, match="below the exchange minimum"):
        fixed_risk(SizingRequest(D(1), D(90000), D(88200), lot=BTC))


@pytest.mark.parametrize(
    ("capital", "entry", "stop", "message"),
    [
        (D(0), D(1), D("0.5"), "capital"),
        (D(-5), D(1), D("0.5"), "capital"),
        (D(100), D(1), D(1), "differ"),
        (D("NaN"), D(1), D("0.5"), "finite"),
    ],
)
def test_bad_input_is_refused(capital: D, entry: D, stop: D, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        SizingRequest(capital, entry, stop)


def test_kelly_never_exceeds_the_fixed_risk_cap_and_refuses_no_edge() -> None:
    request = SizingRequest(D(10000), D(100), D(98), lot=LotRules(step=D("0.001")))
    budget = fixed_risk(request)
    generous = kelly(request, D("0.7"), D(3), D(1))
    assert generous.quantity == budget.quantity
    assert generous.is_capped
    modest = kelly(request, D("0.51"), D("1.0"), D("0.5"))  # f = 0.02, half -> 1% ... at the cap
    assert modest.risk_amount <= budget.risk_budget
    small = kelly(request, D("0.505"), D("1.0"), D("0.5"))  # f = 0.01, half -> 0.5%
    assert small.risk_amount <= budget.risk_budget / 2
    with pytest.raises(SizingRefused, match="no edge"):
        kelly(request, D("0.4"), D("1"), D("0.5"))


def test_fraction_amount_and_volatility_methods_stay_within_the_budget() -> None:
    request = SizingRequest(D(10000), D(100), D(99), lot=LotRules(step=D("0.001")))
    assert fixed_fractional(request, D(10)).quantity == D(10)  # 1,000 in the position, risking 10
    assert fixed_amount(request, D(500)).quantity == D(5)
    huge = fixed_amount(request, D(9000))
    assert huge.risk_amount <= request.risk_budget and huge.is_capped
    parity = target_volatility(request, D(50), D(2))  # 400 of position value at 50% vol for a 2% target
    assert parity.quantity == D(4)


prices = st.decimals(min_value=D("0.01"), max_value=D("200000"), places=2)


@settings(max_examples=300, deadline=None)
@given(
    capital=st.decimals(min_value=D(100), max_value=D(10_000_000), places=2),
    entry=prices,
    distance_percent=st.decimals(min_value=D("0.05"), max_value=D(60), places=2),
    long=st.booleans(),
    risk=st.decimals(min_value=D("0.1"), max_value=D(5), places=1),
    fee=st.sampled_from([D(0), D("0.0002"), D("0.001"), D("0.0075")]),
    slip=st.sampled_from([D(0), D("0.0002"), D("0.001")]),
    step=st.sampled_from([D("0.00001"), D("0.001"), D("0.1"), D(1)]),
)
def test_loss_at_stop_never_exceeds_the_budget(
    capital: D, entry: D, distance_percent: D, long: bool, risk: D, fee: D, slip: D, step: D
) -> None:
    tick = D("0.01")
    distance = max(tick, (entry * distance_percent / 100).quantize(tick))
    stop = entry - distance if long else entry + distance
    if stop <= 0:
        return
    lot = LotRules(step=step, tick=tick)
    request = SizingRequest(capital, entry, stop, risk, D(50), Costs(fee, slip), lot)
    try:
        result = fixed_risk(request)
    except SizingRefused:
        return
    side = Side.LONG if long else Side.SHORT
    # the loss, fill by fill, as the paper venue would charge it
    slipped_entry = entry * (1 + slip) if long else entry * (1 - slip)
    slipped_exit = stop * (1 - slip) if long else stop * (1 + slip)
    paid_in = (slipped_entry / tick).to_integral_value(rounding="ROUND_CEILING" if long else "ROUND_FLOOR") * tick
    paid_out = (slipped_exit / tick).to_integral_value(rounding="ROUND_FLOOR" if long else "ROUND_CEILING") * tick
    q = result.quantity
    fees_paid = q * paid_in * fee + q * paid_out * fee
    loss = (paid_in - paid_out) * q * side.sign + fees_paid
    assert loss <= request.risk_budget
    assert loss == result.risk_amount
    assert result.position_value <= capital * D(50) / 100
    assert q % step == 0
    assert loss_per_unit(side, entry, stop, Costs(fee, slip), tick) > 0
