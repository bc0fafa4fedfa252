"""The fill simulator, rule by rule: each row names the rule and the fill it expects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from robson.domain.errors import InvalidValue
from robson.domain.instrument import Instrument
from robson.domain.orders import Order, OrderStatus, OrderType
from robson.domain.values import OrderSide
from robson.execution.matching import (
    Bar,
    FeeSchedule,
    Liquidity,
    SlippageModel,
    is_triggered_by,
    market_fill_price,
    match_bar,
)

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
MAKER, TAKER = Liquidity.MAKER, Liquidity.TAKER
BTC = Instrument("BTC/USDT", "BTC", "USDT", D("0.01"), D("0.00001"), D("0.00001"), D("5"))
SLIPPAGE = SlippageModel(D("0.001"))
FEES = FeeSchedule(maker=D("0.001"), taker=D("0.002"))
AT = datetime(2025, 1, 1, tzinfo=UTC)


def order(
    side: OrderSide,
    type_: OrderType,
    price: str | None = None,
    stop: str | None = None,
    cid: str = "a",
    list_id: str | None = None,
) -> Order:
    return Order(
        client_order_id=cid,
        symbol="BTC/USDT",
        side=side,
        type=type_,
        quantity=D("0.5"),
        created_at=AT,
        price=D(price) if price else None,
        stop_price=D(stop) if stop else None,
        list_id=list_id,
        status=OrderStatus.NEW,
    )


def bar(open_: str, high: str, low: str, close: str) -> Bar:
    return Bar(D(open_), D(high), D(low), D(close))


@dataclass(frozen=True)
class Row:
    rule: str
    order: Order
    bar: Bar
    expected: tuple[str, Liquidity] | None  # fill price and liquidity, or no fill
    previous: str | None = None
    already_triggered: bool = False
    left_triggered: bool = False
    extra: tuple[Order, ...] = field(default=())


LIMIT, STOP, STOP_LIMIT, TAKE_PROFIT = (
    OrderType.LIMIT,
    OrderType.STOP_MARKET,
    OrderType.STOP_LIMIT,
    OrderType.TAKE_PROFIT_LIMIT,
)

ROWS = [
    # LIMIT
    Row("limit buy: book crossed at the open (no price before) fills at the open", order(BUY, LIMIT, "100"),
        bar("99", "101", "98", "100"), ("99", TAKER)),
    Row("limit buy: already marketable before the bar fills at the open", order(BUY, LIMIT, "100"),
        bar("99.80", "101", "98", "100"), ("99.80", TAKER), previous="99.50"),
    Row("limit buy: price moved through the resting order fills at the limit", order(BUY, LIMIT, "100"),
        bar("99", "100.50", "98", "99.50"), ("100", MAKER), previous="101"),
    Row("limit buy: low touches the limit in the bar", order(BUY, LIMIT, "100"),
        bar("101", "102", "99.50", "101"), ("100", MAKER), previous="101"),
    Row("limit buy: low stays above the limit", order(BUY, LIMIT, "100"),
        bar("101", "102", "100.01", "101"), None, previous="101"),
    Row("limit sell: high touches the limit in the bar", order(SELL, LIMIT, "110"),
        bar("105", "110", "104", "106"), ("110", MAKER), previous="105"),
    Row("limit sell: book crossed at the open fills at the open", order(SELL, LIMIT, "110"),
        bar("111", "112", "109", "110"), ("111", TAKER)),
    Row("limit sell: a tick through the resting order fills at the limit", order(SELL, LIMIT, "110"),
        Bar.tick(D("111")), ("110", MAKER), previous="109"),
    # STOP_MARKET
    Row("stop sell: a gap below the stop fills at the open with slippage, rounded down", order(SELL, STOP, stop="95"),
        bar("93", "96", "92", "94"), ("92.90", TAKER), previous="97"),
    Row("stop sell: touched in the bar fills at the stop with slippage, rounded down", order(SELL, STOP, stop="95"),
        bar("100", "101", "94", "96"), ("94.90", TAKER), previous="100"),
    Row("stop sell: low stays above the stop", order(SELL, STOP, stop="95"),
        bar("100", "101", "95.01", "96"), None, previous="100"),
    Row("stop buy: touched in the bar fills at the stop with slippage, rounded up", order(BUY, STOP, stop="105"),
        bar("100", "106", "99", "104"), ("105.11", TAKER), previous="100"),
    Row("stop buy: a gap above the stop fills at the open with slippage, rounded up", order(BUY, STOP, stop="105"),
        bar("107", "108", "106", "107"), ("107.11", TAKER), previous="100"),
    # STOP_LIMIT
    Row("stop-limit sell: marketable at the stop fills like a stop capped at its limit",
        order(SELL, STOP_LIMIT, "94.95", "95"), bar("100", "101", "94", "96"), ("94.95", TAKER), previous="100"),
    Row("stop-limit sell: a loose limit fills at the stop with slippage",
        order(SELL, STOP_LIMIT, "94", "95"), bar("100", "101", "94", "96"), ("94.90", TAKER), previous="100"),
    Row("stop-limit sell: gap below the limit, the bar comes back up to it",
        order(SELL, STOP_LIMIT, "94", "95"), bar("93", "94.50", "92", "93.50"), ("94", MAKER), previous="100"),
    Row("stop-limit sell: gap below the limit and no rebound stays open, triggered",
        order(SELL, STOP_LIMIT, "94", "95"), bar("93", "93.50", "92", "93"), None, previous="100",
        left_triggered=True),
    Row("stop-limit sell: limit above the stop, whether the high came after the trigger is unknown",
        order(SELL, STOP_LIMIT, "96", "95"), bar("100", "101", "94", "97"), None, previous="100",
        left_triggered=True),
    Row("stop-limit sell: triggered before, now a plain limit reached by the high",
        order(SELL, STOP_LIMIT, "94", "95"), bar("93.50", "94.20", "93", "94"), ("94", MAKER), previous="93",
        already_triggered=True),
    Row("stop-limit sell: triggered before, limit not reached, stays triggered",
        order(SELL, STOP_LIMIT, "94", "95"), bar("93.50", "93.90", "93", "93"), None, previous="93",
        already_triggered=True, left_triggered=True),
    # TAKE_PROFIT_LIMIT
    Row("take-profit sell: triggered in the bar fills at its limit", order(SELL, TAKE_PROFIT, "110", "110"),
        bar("105", "111", "104", "108"), ("110", MAKER), previous="105"),
    Row("take-profit sell: a gap above the trigger fills at the open", order(SELL, TAKE_PROFIT, "110", "110"),
        bar("112", "113", "109", "112"), ("112", TAKER), previous="105"),
    Row("take-profit sell: gap over the trigger, limit above the open, reached by the high",
        order(SELL, TAKE_PROFIT, "113", "110"), bar("112", "113.50", "111", "112"), ("113", MAKER), previous="105"),
    Row("take-profit sell: triggered in the bar, limit above the high stays triggered",
        order(SELL, TAKE_PROFIT, "113", "110"), bar("105", "112", "104", "108"), None, previous="105",
        left_triggered=True),
    Row("take-profit sell: high below the trigger", order(SELL, TAKE_PROFIT, "110", "110"),
        bar("105", "109.99", "104", "108"), None, previous="105"),
    Row("take-profit buy: triggered in the bar fills at its limit", order(BUY, TAKE_PROFIT, "90", "90"),
        bar("95", "96", "89", "92"), ("90", MAKER), previous="95"),
    # MARKET (backtest: decided on one bar, filled on the next)
    Row("market buy: fills at the next open with slippage", order(BUY, OrderType.MARKET),
        bar("100", "101", "99", "100"), ("100.10", TAKER), previous="99"),
    # OCO
    Row("oco sell: the bar touches both legs, the stop wins",
        order(SELL, STOP, stop="95", cid="a", list_id="L"), bar("100", "111", "94", "100"), ("94.90", TAKER),
        previous="100", extra=(order(SELL, TAKE_PROFIT, "110", "110", cid="b", list_id="L"),)),
    Row("oco sell: the open gaps through the target, which surely came first",
        order(SELL, TAKE_PROFIT, "110", "110", cid="a", list_id="L"), bar("111", "112", "94", "96"),
        ("111", TAKER), previous="100", extra=(order(SELL, STOP, stop="95", cid="b", list_id="L"),)),
]  # fmt: skip


@pytest.mark.parametrize("row", ROWS, ids=[row.rule for row in ROWS])
def test_rule(row: Row) -> None:
    previous = D(row.previous) if row.previous else None
    triggered = {row.order.client_order_id} if row.already_triggered else set()
    result = match_bar([row.order, *row.extra], row.bar, previous, BTC, SLIPPAGE, FEES, triggered)

    if row.expected is None:
        assert result.executions == ()
    else:
        price, liquidity = D(row.expected[0]), row.expected[1]
        assert [(e.client_order_id, e.price, e.liquidity) for e in result.executions] == [("a", price, liquidity)]
        execution = result.executions[0]
        assert execution.quantity == D("0.5")
        assert execution.fee == price * D("0.5") * FEES.rate(liquidity)
    assert (row.order.client_order_id in result.triggered) is row.left_triggered
    assert all(extra.client_order_id not in result.triggered for extra in row.extra)


def test_stops_come_first_and_final_orders_are_skipped() -> None:
    limit = order(BUY, LIMIT, "99", cid="limit")
    stop = order(SELL, STOP, stop="98", cid="stop")
    done = order(BUY, LIMIT, "99", cid="done")
    done.status = OrderStatus.FILLED
    result = match_bar([limit, done, stop], bar("100", "100", "97", "97"), D("100"), BTC, SLIPPAGE, FEES)
    assert [e.client_order_id for e in result.executions] == ["stop", "limit"]


def test_orders_of_another_symbol_are_refused() -> None:
    other = Order("x", "ETH/USDT", BUY, LIMIT, D("1"), AT, price=D("10"), status=OrderStatus.NEW)
    with pytest.raises(InvalidValue):
        match_bar([other], Bar.tick(D("10")), None, BTC, SLIPPAGE, FEES)


@pytest.mark.parametrize(
    ("side", "reference", "expected"),
    [
        (BUY, "100", "100.10"),  # 100.1 exactly
        (BUY, "123.45", "123.58"),  # 123.57345 rounds up, against the buyer
        (SELL, "123.45", "123.32"),  # 123.32655 rounds down, against the seller
        (SELL, "0.01", "0.01"),  # never below one tick
    ],
)
def test_market_fill_price_rounds_against_the_trader(side: OrderSide, reference: str, expected: str) -> None:
    assert market_fill_price(side, D(reference), SLIPPAGE, BTC) == D(expected)


def test_fee_is_exact_and_by_liquidity() -> None:
    assert FEES.fee(D("123.45"), D("0.12345"), MAKER) == D("0.0152399025")
    assert FEES.fee(D("123.45"), D("0.12345"), TAKER) == D("0.030479805")


@pytest.mark.parametrize(
    "prices",
    [("100", "99", "98", "100"), ("100", "101", "101", "100"), ("0", "0", "0", "0"), ("-1", "1", "-1", "1")],
)
def test_bar_refuses_inconsistent_prices(prices: tuple[str, str, str, str]) -> None:
    with pytest.raises(InvalidValue):
        bar(*prices)


def test_bar_refuses_floats_and_tick_is_flat() -> None:
    with pytest.raises(InvalidValue):
        Bar(100.0, D("100"), D("100"), D("100"))  # type: ignore[arg-type]
    assert Bar.tick(D("5")) == bar("5", "5", "5", "5")


@pytest.mark.parametrize("rate", [D("-0.001"), D("1"), D("NaN")])
def test_rates_must_lie_in_zero_to_one(rate: Decimal) -> None:
    with pytest.raises(InvalidValue):
        SlippageModel(rate)
    with pytest.raises(InvalidValue):
        FeeSchedule(rate, D("0"))


@pytest.mark.parametrize(
    ("order_", "price", "expected"),
    [
        (order(SELL, STOP, stop="95"), "95", True),
        (order(SELL, STOP, stop="95"), "95.01", False),
        (order(BUY, STOP, stop="105"), "105", True),
        (order(SELL, TAKE_PROFIT, "110", "110"), "110", True),
        (order(SELL, TAKE_PROFIT, "110", "110"), "109.99", False),
        (order(BUY, TAKE_PROFIT, "90", "90"), "89", True),
        (order(BUY, LIMIT, "100"), "1", False),
    ],
)
def test_is_triggered_by(order_: Order, price: str, expected: bool) -> None:
    assert is_triggered_by(order_, D(price)) is expected
