"""Positions from fills: tranches, average entry, realized P&L per exit with every fee, trades and R."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robson.domain.errors import IllegalTransition, InvalidValue
from robson.domain.fills import Fill
from robson.domain.position import Position, PositionStatus
from robson.domain.values import OrderSide, Side

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def fill(n: int, side: OrderSide, price: str, qty: str, fee: str = "0") -> Fill:
    return Fill(f"t{n}", f"c{n}", "BTC/USDT", side, D(price), D(qty), D(fee), "USDT", T0 + timedelta(minutes=n))


def test_tranches_average_and_partial_exits_long() -> None:
    position = Position(Side.LONG, "USDT", initial_stop=D(90))
    position.apply(fill(1, OrderSide.BUY, "100", "1", "0.1"))
    position.apply(fill(2, OrderSide.BUY, "110", "1", "0.11"))
    assert position.status is PositionStatus.OPEN
    assert position.average_entry == D(105)
    trade = position.apply(fill(3, OrderSide.SELL, "120", "0.5", "0.06"))
    assert position.status is PositionStatus.REDUCING
    # (120 - 105) * 0.5 - entry fee share (0.21 * 0.25) - exit fee
    assert trade.pnl == D("7.5") - D("0.0525") - D("0.06")
    assert trade.r_multiple == trade.pnl / (D(15) * D("0.5"))
    position.apply(fill(4, OrderSide.SELL, "90", "1.5", "0.135"))
    assert position.status is PositionStatus.CLOSED
    proceeds = D(60) + D(135)
    costs = D(210)
    fees = D("0.1") + D("0.11") + D("0.06") + D("0.135")
    assert position.realized_pnl == proceeds - costs - fees
    assert position.fees_paid == fees


def test_short_profits_when_the_price_falls_and_unrealized_counts_fees() -> None:
    position = Position(Side.SHORT, "USDT")
    position.apply(fill(1, OrderSide.SELL, "100", "2", "0.2"))
    assert position.unrealized_pnl(D(90), D("0.001")) == D(20) - D("0.2") - D("0.18")
    trade = position.apply(fill(2, OrderSide.BUY, "90", "2", "0.18"))
    assert trade.pnl == D(20) - D("0.38")


def test_exits_beyond_the_position_and_reopening_are_refused() -> None:
    position = Position(Side.LONG, "USDT")
    position.apply(fill(1, OrderSide.BUY, "100", "1"))
    with pytest.raises(InvalidValue):
        position.apply(fill(2, OrderSide.SELL, "100", "2"))
    position.apply(fill(3, OrderSide.SELL, "100", "1"))
    with pytest.raises(IllegalTransition):
        position.apply(fill(4, OrderSide.BUY, "100", "1"))


def test_fee_in_base_asset_is_valued_at_the_fill_price() -> None:
    f = Fill("t", "c", "BTC/USDT", OrderSide.BUY, D(100), D(1), D("0.001"), "BTC", T0)
    assert f.fee_in_quote("USDT") == D("0.1")


step = st.decimals(min_value=D("0.001"), max_value=D(5), places=3)
price = st.decimals(min_value=D("0.01"), max_value=D(100000), places=2)
fee_rate = st.sampled_from([D(0), D("0.001"), D("0.00075")])


@settings(max_examples=200, deadline=None)
@given(
    side=st.sampled_from([Side.LONG, Side.SHORT]),
    moves=st.lists(st.tuples(st.booleans(), step, price), min_size=1, max_size=30),
    rate=fee_rate,
    close_price=price,
)
def test_quantity_and_realized_pnl_reconcile_exactly_with_the_fills(
    side: Side, moves: list[tuple[bool, D, D]], rate: D, close_price: D
) -> None:
    position = Position(side, "USDT")
    fills: list[Fill] = []
    for n, (add, qty, px) in enumerate(moves):
        if position.trades and position.is_flat:
            break  # a closed position does not reopen
        action = side.entry_action if add or position.is_flat else side.exit_action
        qty = qty if action is side.entry_action else min(qty, position.quantity)
        f = fill(n, action, str(px), str(qty), str(px * qty * rate))
        position.apply(f)
        fills.append(f)
    if not position.is_flat:  # close the rest so the books must balance to the last digit
        qty = position.quantity
        f = fill(len(moves), side.exit_action, str(close_price), str(qty), str(close_price * qty * rate))
        position.apply(f)
        fills.append(f)
    bought = sum((f.quantity for f in fills if f.side is OrderSide.BUY), D(0))
    sold = sum((f.quantity for f in fills if f.side is OrderSide.SELL), D(0))
    assert bought == sold and position.quantity == 0
    cash = sum((f.notional * (-1 if f.side is OrderSide.BUY else 1) for f in fills), D(0))
    fees = sum((f.fee for f in fills), D(0))
    assert position.realized_pnl == cash - fees
    assert sum((t.pnl for t in position.trades), D(0)) == position.realized_pnl
    assert position.fees_paid == fees
    assert position.entered_quantity == position.exited_quantity
