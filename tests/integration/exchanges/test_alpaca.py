"""The Alpaca adapter against a fake Alpaca speaking the real wire protocol: orders, fills, groups, faults, keys."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests

from robson.clock import ManualClock
from robson.domain.orders import OrderStatus, OrderType
from robson.domain.values import OrderSide
from robson.execution.adapters.alpaca import AlpacaExchange, MarketClosed, translate
from robson.execution.adapters.alpaca.exchange import INSTRUMENTS_TTL
from robson.ports import (
    DuplicateOrder,
    ExchangeError,
    Fatal,
    FilterFailure,
    InsufficientFunds,
    OcoRequest,
    OrderReport,
    OrderRequest,
    RateLimited,
    Rejected,
    Retryable,
    UnknownOrder,
    UnknownSymbol,
)
from tests.fakes.alpaca_server import FAKE_KEY_ID, FAKE_SECRET_KEY, AlpacaFake, Fault

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
AAPL, MSFT = "AAPL/USD", "MSFT/USD"
NOW = datetime(2030, 1, 2, 15, 0, tzinfo=UTC)
ORDERS = "POST /v2/orders"


@pytest.fixture
def fake() -> Iterator[AlpacaFake]:
    with AlpacaFake(symbols=("AAPL", "MSFT", "HALT")) as server:
        server.add_asset("HALT", tradable=False)
        server.set_price("AAPL", D("150.37"))
        server.set_price("MSFT", D("400.00"))
        yield server


def connect(fake: AlpacaFake, *, timeout: float = 5.0, secret: str = FAKE_SECRET_KEY) -> AlpacaExchange:
    return AlpacaExchange(
        FAKE_KEY_ID, secret, base_url=fake.url, symbols=(AAPL, MSFT), clock=ManualClock(NOW), timeout=timeout
    )


@pytest.fixture
def exchange(fake: AlpacaFake) -> AlpacaExchange:
    return connect(fake)


def order(
    client_order_id: str,
    type_: OrderType = OrderType.MARKET,
    quantity: str = "10",
    price: str | None = None,
    stop: str | None = None,
    side: OrderSide = BUY,
    symbol: str = AAPL,
) -> OrderRequest:
    return OrderRequest(
        client_order_id, symbol, side, type_, D(quantity), D(price) if price else None, D(stop) if stop else None
    )


def oco(stop: str = "140", target: str = "160", quantity: str = "10") -> OcoRequest:
    return OcoRequest("rb1-p1", AAPL, SELL, D(quantity), "rb1-s1", D(stop), "rb1-t1", D(target))


def bought(exchange: AlpacaExchange, quantity: str = "10") -> OrderReport:
    return exchange.place_order(order("rb1-e1", quantity=quantity))


def order_posts(fake: AlpacaFake) -> list[dict[str, object]]:
    return [request.body for request in fake.requests_to("POST", "/v2/orders")]


# ---- reading ----------------------------------------------------------------------------------------


def test_instruments_are_whole_shares_on_a_cent_grid(fake: AlpacaFake) -> None:
    exchange = AlpacaExchange(
        FAKE_KEY_ID, FAKE_SECRET_KEY, base_url=fake.url, symbols=(AAPL, "HALT/USD"), clock=ManualClock(NOW)
    )
    instruments = exchange.instruments()
    assert list(instruments) == [AAPL]  # HALT is not tradable
    aapl = instruments[AAPL]
    assert (aapl.base, aapl.quote, aapl.tick_size, aapl.step_size) == ("AAPL", "USD", D("0.01"), D("1"))
    assert (aapl.min_quantity, aapl.min_notional) == (D("1"), D("0"))
    assert [r.path for r in fake.requests_to("GET", "/v2/assets/AAPL")] == ["/v2/assets/AAPL"]


def test_instruments_are_kept_for_a_while_then_read_again(fake: AlpacaFake) -> None:
    clock = ManualClock(NOW)
    exchange = AlpacaExchange(FAKE_KEY_ID, FAKE_SECRET_KEY, base_url=fake.url, symbols=(AAPL, "HALT/USD"), clock=clock)
    assert list(exchange.instruments()) == list(exchange.instruments()) == [AAPL]
    assert len(fake.requests_to("GET", "/v2/assets/AAPL")) == 1  # every sizing asks: one request per quarter hour
    fake.add_asset("HALT", tradable=True)
    clock.advance(INSTRUMENTS_TTL)
    assert list(exchange.instruments()) == [AAPL, "HALT/USD"]  # trading resumed: seen on the next read
    assert len(fake.requests_to("GET", "/v2/assets/AAPL")) == 2


def test_an_asset_alpaca_does_not_know_is_an_unknown_symbol(fake: AlpacaFake) -> None:
    exchange = AlpacaExchange(
        FAKE_KEY_ID, FAKE_SECRET_KEY, base_url=fake.url, symbols=("NOPE/USD",), clock=ManualClock(NOW)
    )
    with pytest.raises(UnknownSymbol, match="asset not found"):
        exchange.instruments()


def test_symbols_must_be_quoted_in_usd(fake: AlpacaFake) -> None:
    with pytest.raises(UnknownSymbol):
        AlpacaExchange(FAKE_KEY_ID, FAKE_SECRET_KEY, base_url=fake.url, symbols=("AAPL/EUR",), clock=ManualClock(NOW))


def test_last_price_is_the_latest_trade_as_an_exact_decimal(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    assert exchange.last_price(AAPL) == D("150.37")
    assert str(exchange.last_price(AAPL)) == "150.37"
    assert fake.requests_to("GET", "/v2/stocks/trades/latest")[0].query["symbols"] == "AAPL"


def test_last_price_is_none_without_a_trade_and_refuses_other_symbols(fake: AlpacaFake) -> None:
    with AlpacaFake() as quiet:
        assert connect(quiet).last_price(AAPL) is None
    with pytest.raises(UnknownSymbol):
        connect(fake).last_price("TSLA/USD")


def test_fees_are_zero_on_us_equities(exchange: AlpacaExchange) -> None:
    rates = exchange.fee_rates(AAPL)
    assert (rates.maker, rates.taker) == (D("0"), D("0"))
    with pytest.raises(UnknownSymbol):
        exchange.fee_rates("BTC/USDT")


def test_balances_show_cash_held_for_open_buys_and_shares_held_for_open_sells(exchange: AlpacaExchange) -> None:
    bought(exchange)  # 10 @ 150.37
    exchange.place_order(order("rb2-e1", OrderType.LIMIT, "10", price="100.00"))
    balances = exchange.balances()
    assert balances["USD"].free == D("100000") - D("1503.7") - D("1000")
    assert balances["USD"].locked == D("1000")
    assert (balances["AAPL"].free, balances["AAPL"].locked) == (D("10"), D("0"))
    exchange.place_oco(oco())
    assert (exchange.balances()["AAPL"].free, exchange.balances()["AAPL"].locked) == (D("0"), D("10"))


def test_a_margin_debit_is_owed_not_dropped() -> None:
    """Negative cash is a margin account's loan from Alpaca: the account owes it (its equity is held less owed)."""
    with AlpacaFake(symbols=("AAPL",), cash=D("-500")) as debited:
        usd = connect(debited).balances()["USD"]
    assert (usd.free, usd.locked, usd.borrowed, usd.net) == (D("0"), D("0"), D("500"), D("-500"))


# ---- simple orders ------------------------------------------------------------------------------------


def test_a_market_buy_fills_at_the_price_with_one_exact_fill(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    report = bought(exchange)
    assert (report.client_order_id, report.symbol, report.side, report.type) == ("rb1-e1", AAPL, BUY, OrderType.MARKET)
    assert (report.status, report.quantity, report.filled_quantity) == (OrderStatus.FILLED, D("10"), D("10"))
    assert report.exchange_order_id == fake.orders_with_client_id("rb1-e1")[0].id
    [fill] = report.fills
    assert (str(fill.price), str(fill.quantity), fill.fee, fill.fee_asset) == ("150.37", "10", D("0"), "USD")
    assert (fill.client_order_id, fill.symbol, fill.side) == ("rb1-e1", AAPL, BUY)
    assert fill.trade_id == fake.activities[0]["id"]
    assert fake.position("AAPL") == D("10") and fake.cash == D("100000") - D("1503.70")


def test_the_client_order_id_goes_on_the_wire_exactly(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    exchange.place_order(order("rb42-e7", quantity="3"))
    [body] = order_posts(fake)
    assert body["client_order_id"] == "rb42-e7"
    assert (body["symbol"], body["side"], body["type"], body["time_in_force"]) == ("AAPL", "buy", "market", "day")
    assert D(str(body["qty"])) == D("3")
    assert fake.requests[-2].key_id == FAKE_KEY_ID


def test_a_limit_below_the_market_rests_then_fills_at_its_price(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    report = exchange.place_order(order("rb1-e1", OrderType.LIMIT, price="149.50"))
    assert (report.status, report.type, report.price, report.fills) == (
        OrderStatus.NEW,
        OrderType.LIMIT,
        D("149.5"),
        (),
    )
    assert order_posts(fake)[0]["time_in_force"] == "gtc"
    fake.set_price("AAPL", D("149.00"))
    filled = exchange.get_order(AAPL, "rb1-e1")
    assert filled.status is OrderStatus.FILLED
    assert [f.price for f in filled.fills] == [D("149.50")]


def test_a_marketable_limit_fills_at_the_market(exchange: AlpacaExchange) -> None:
    report = exchange.place_order(order("rb1-e1", OrderType.LIMIT, price="151.00"))
    assert report.status is OrderStatus.FILLED
    assert [f.price for f in report.fills] == [D("150.37")]


def test_a_stop_sell_triggers_when_the_price_falls_through_it(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    bought(exchange)
    stop = exchange.place_order(order("rb1-s1", OrderType.STOP_MARKET, stop="145.00", side=SELL))
    assert (stop.status, stop.type, stop.stop_price, stop.price) == (
        OrderStatus.NEW,
        OrderType.STOP_MARKET,
        D(145),
        None,
    )
    fake.set_price("AAPL", D("145.01"))
    assert exchange.get_order(AAPL, "rb1-s1").status is OrderStatus.NEW
    fake.set_price("AAPL", D("144.90"))
    report = exchange.get_order(AAPL, "rb1-s1")
    assert report.status is OrderStatus.FILLED
    assert [(f.price, f.quantity, f.side) for f in report.fills] == [(D("144.90"), D("10"), SELL)]
    assert fake.position("AAPL") == D("0")


def test_a_stop_limit_becomes_a_limit_at_its_trigger(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    bought(exchange)
    report = exchange.place_order(order("rb1-s1", OrderType.STOP_LIMIT, price="144.50", stop="145.00", side=SELL))
    assert (report.type, report.price, report.stop_price) == (OrderType.STOP_LIMIT, D("144.5"), D("145"))
    fake.set_price("AAPL", D("144.80"))
    assert [f.price for f in exchange.get_order(AAPL, "rb1-s1").fills] == [D("144.80")]


def test_a_take_profit_limit_is_sent_as_a_limit_only_when_trigger_and_limit_agree(
    fake: AlpacaFake, exchange: AlpacaExchange
) -> None:
    bought(exchange)
    report = exchange.place_order(
        order("rb1-t1", OrderType.TAKE_PROFIT_LIMIT, price="160.00", stop="160.00", side=SELL)
    )
    assert (report.type, report.price, report.status) == (OrderType.LIMIT, D("160"), OrderStatus.NEW)
    with pytest.raises(Rejected, match="take-profit"):
        exchange.place_order(order("rb1-t2", OrderType.TAKE_PROFIT_LIMIT, price="160.00", stop="159.00", side=SELL))
    assert len(order_posts(fake)) == 2


def test_parameters_an_order_type_does_not_take_are_refused_before_sending(
    fake: AlpacaFake, exchange: AlpacaExchange
) -> None:
    with pytest.raises(Rejected, match="takes no price"):
        exchange.place_order(order("rb1-e1", OrderType.MARKET, price="150.00"))
    with pytest.raises(Rejected, match="needs a price"):
        exchange.place_order(order("rb1-e1", OrderType.LIMIT))
    with pytest.raises(UnknownSymbol):
        exchange.place_order(order("rb1-e1", symbol="TSLA/USD"))
    assert order_posts(fake) == []


def test_the_venue_refuses_a_used_client_order_id(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    bought(exchange, "1")
    with pytest.raises(DuplicateOrder, match="client_order_id must be unique"):
        bought(exchange, "1")
    assert len(fake.orders_with_client_id("rb1-e1")) == 1


@pytest.mark.parametrize(
    ("request_", "words"),
    [
        (order("rb1-e1", OrderType.LIMIT, "1.5", price="100.00"), "fractional"),
        (order("rb1-e1", OrderType.LIMIT, "1", price="100.005"), "sub-penny"),
    ],
    ids=["fractional-limit", "sub-penny"],
)
def test_filters_the_venue_enforces_come_back_as_filter_failures(
    exchange: AlpacaExchange, request_: OrderRequest, words: str
) -> None:
    with pytest.raises(FilterFailure, match=words):
        exchange.place_order(request_)


def test_buying_more_than_the_buying_power_is_insufficient_funds(exchange: AlpacaExchange) -> None:
    with pytest.raises(InsufficientFunds, match="insufficient buying power"):
        exchange.place_order(order("rb1-e1", quantity="1000"))


def test_selling_shares_not_held_is_insufficient_funds(exchange: AlpacaExchange) -> None:
    with pytest.raises(InsufficientFunds, match="insufficient qty available"):
        exchange.place_order(order("rb1-x1", OrderType.LIMIT, price="200.00", side=SELL))


# ---- reading orders, cancelling ---------------------------------------------------------------------------


def test_get_order_asks_for_the_client_order_id(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    placed = exchange.place_order(order("rb1-e1", OrderType.LIMIT, price="100.00"))
    assert exchange.get_order(AAPL, "rb1-e1") == placed
    assert fake.requests_to("GET", "/v2/orders:by_client_order_id")[0].query == {"client_order_id": "rb1-e1"}
    with pytest.raises(UnknownOrder, match="rb9-e1"):
        exchange.get_order(AAPL, "rb9-e1")
    with pytest.raises(UnknownOrder):
        exchange.get_order(MSFT, "rb1-e1")


def test_cancel_looks_the_order_up_then_deletes_it_by_alpaca_id(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    placed = exchange.place_order(order("rb1-e1", OrderType.LIMIT, price="100.00"))
    cancelled = exchange.cancel_order(AAPL, "rb1-e1")
    assert (cancelled.status, cancelled.client_order_id) == (OrderStatus.CANCELED, "rb1-e1")
    assert [r.path for r in fake.requests if r.method == "DELETE"] == [f"/v2/orders/{placed.exchange_order_id}"]
    assert exchange.balances()["USD"].locked == D("0")
    with pytest.raises(UnknownOrder):
        exchange.cancel_order(AAPL, "rb1-e1")
    with pytest.raises(UnknownOrder):
        exchange.cancel_order(AAPL, "rb9-e1")


def test_a_filled_order_cannot_be_cancelled(exchange: AlpacaExchange) -> None:
    bought(exchange)
    with pytest.raises(UnknownOrder, match="filled"):
        exchange.cancel_order(AAPL, "rb1-e1")


def test_open_orders_are_oldest_first_and_filter_by_symbol(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    exchange.place_order(order("rb1-e1", OrderType.LIMIT, price="100.00"))
    exchange.place_order(order("rb2-e1", OrderType.LIMIT, "1", price="300.00", symbol=MSFT))
    exchange.place_order(order("rb3-e1", OrderType.LIMIT, price="101.00"))
    exchange.place_order(order("rb4-e1"))  # filled: not open
    exchange.place_order(order("rb5-e1", OrderType.LIMIT, price="99.00"))
    exchange.cancel_order(AAPL, "rb5-e1")
    assert [r.client_order_id for r in exchange.open_orders()] == ["rb1-e1", "rb2-e1", "rb3-e1"]
    assert [r.client_order_id for r in exchange.open_orders(MSFT)] == ["rb2-e1"]
    assert fake.requests_to("GET", "/v2/orders")[-1].query["symbols"] == "MSFT"


# ---- exchange-managed groups ---------------------------------------------------------------------------


def test_a_bracket_sends_three_legs_and_the_target_cancels_the_stop(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    fake.set_price("AAPL", D("150.00"))
    entry, stop, target = exchange.place_bracket(order("rb1-e1"), D("140.00"), D("160.00"))
    [body] = order_posts(fake)
    assert (body["order_class"], body["client_order_id"], body["time_in_force"]) == ("bracket", "rb1-e1", "gtc")
    assert D(str(body["take_profit"]["limit_price"])) == D(160)
    assert D(str(body["stop_loss"]["stop_price"])) == D(140)
    assert (entry.status, entry.client_order_id, [f.price for f in entry.fills]) == (
        OrderStatus.FILLED,
        "rb1-e1",
        [D(150)],
    )
    assert (stop.type, stop.stop_price, stop.side, stop.status) == (
        OrderType.STOP_MARKET,
        D(140),
        SELL,
        OrderStatus.NEW,
    )
    assert (target.type, target.price, target.side, target.status) == (OrderType.LIMIT, D(160), SELL, OrderStatus.NEW)
    assert entry.list_id == stop.list_id == target.list_id == "rb1-e1"
    fake.set_price("AAPL", D("161.00"))
    assert exchange.get_order(AAPL, target.client_order_id).status is OrderStatus.FILLED
    assert exchange.get_order(AAPL, stop.client_order_id).status is OrderStatus.CANCELED
    assert fake.position("AAPL") == D(0) and fake.cash == D("100100")


def test_a_bracket_stop_fill_cancels_the_target(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    fake.set_price("AAPL", D("150.00"))
    _, stop, target = exchange.place_bracket(order("rb1-e1"), D("140.00"), D("160.00"))
    fake.set_price("AAPL", D("139.00"))
    assert [f.price for f in exchange.get_order(AAPL, stop.client_order_id).fills] == [D(139)]
    assert exchange.get_order(AAPL, target.client_order_id).status is OrderStatus.CANCELED
    assert exchange.open_orders() == []


def test_the_legs_of_a_resting_bracket_wait_for_the_entry(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    entry, stop, _ = exchange.place_bracket(order("rb1-e1", OrderType.LIMIT, price="149.00"), D("140.00"), D("160.00"))
    assert entry.status is OrderStatus.NEW
    assert exchange.open_orders()[0].client_order_id == "rb1-e1"
    fake.set_price("AAPL", D("139.00"))  # fills the entry at 149, releases the legs, then trips the stop
    assert exchange.get_order(AAPL, "rb1-e1").status is OrderStatus.FILLED
    assert [f.price for f in exchange.get_order(AAPL, stop.client_order_id).fills] == [D(139)]


def test_a_bracket_entry_must_be_market_or_limit_and_prices_must_make_sense(
    fake: AlpacaFake, exchange: AlpacaExchange
) -> None:
    with pytest.raises(Rejected, match="MARKET or LIMIT"):
        exchange.place_bracket(order("rb1-e1", OrderType.STOP_MARKET, stop="155.00"), D(140), D(160))
    assert order_posts(fake) == []
    with pytest.raises(Rejected, match=r"stop_loss\.stop_price"):
        exchange.place_bracket(order("rb1-e1"), D("151.00"), D("160.00"))  # stop above the market


def test_an_oco_protects_an_existing_position_under_robson_ids(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    bought(exchange)
    stop, target = exchange.place_oco(oco())
    body = order_posts(fake)[-1]
    assert (body["order_class"], body["type"], body["side"], body["client_order_id"]) == (
        "oco",
        "limit",
        "sell",
        "rb1-t1",
    )
    assert (stop.client_order_id, stop.type, stop.stop_price, stop.list_id) == (
        "rb1-s1",
        OrderType.STOP_MARKET,
        D(140),
        "rb1-p1",
    )
    assert (target.client_order_id, target.type, target.price, target.list_id) == (
        "rb1-t1",
        OrderType.LIMIT,
        D(160),
        "rb1-p1",
    )
    assert {r.client_order_id for r in exchange.open_orders(AAPL)} == {"rb1-s1", "rb1-t1"}
    fake.set_price("AAPL", D("139.50"))
    filled = exchange.get_order(AAPL, "rb1-s1")
    assert (filled.status, [f.price for f in filled.fills], filled.fills[0].client_order_id) == (
        OrderStatus.FILLED,
        [D("139.5")],
        "rb1-s1",
    )
    assert exchange.get_order(AAPL, "rb1-t1").status is OrderStatus.CANCELED
    assert fake.position("AAPL") == D(0)


def test_an_oco_target_fill_cancels_the_stop(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    bought(exchange)
    exchange.place_oco(oco())
    fake.set_price("AAPL", D("162.00"))
    assert [f.price for f in exchange.get_order(AAPL, "rb1-t1").fills] == [D(160)]
    assert exchange.get_order(AAPL, "rb1-s1").status is OrderStatus.CANCELED


def test_cancelling_one_oco_leg_cancels_the_other(exchange: AlpacaExchange) -> None:
    bought(exchange)
    exchange.place_oco(oco())
    assert exchange.cancel_order(AAPL, "rb1-s1").status is OrderStatus.CANCELED
    assert exchange.get_order(AAPL, "rb1-t1").status is OrderStatus.CANCELED
    assert exchange.open_orders() == []


def test_an_oco_needs_the_shares_and_sensible_prices(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    with pytest.raises(InsufficientFunds, match="insufficient qty"):
        exchange.place_oco(oco())
    with pytest.raises(UnknownOrder):
        exchange.get_order(AAPL, "rb1-s1")  # a refused OCO leaves no names behind
    bought(exchange)
    with pytest.raises(Rejected, match=r"take_profit\.limit_price must be >"):
        exchange.place_oco(oco(stop="165", target="160"))
    with pytest.raises(DuplicateOrder):
        exchange.place_oco(OcoRequest("rb1-p1", AAPL, SELL, D(10), "rb1-x", D(140), "rb1-x", D(160)))
    exchange.place_oco(oco())
    with pytest.raises(DuplicateOrder, match="stop of OCO"):
        exchange.place_order(order("rb1-s1", OrderType.LIMIT, price="100.00"))


@pytest.mark.parametrize(
    ("trail", "first_stop", "raised_stop"),
    [({"trail_percent": D("5")}, D("95"), D("104.5")), ({"trail_price": D("2.00")}, D("98"), D("108"))],
    ids=["percent", "price"],
)
def test_a_trailing_stop_follows_the_high_water_mark_and_triggers(
    fake: AlpacaFake,
    exchange: AlpacaExchange,
    trail: dict[str, Decimal],
    first_stop: Decimal,
    raised_stop: Decimal,
) -> None:
    fake.set_price("AAPL", D("100.00"))
    bought(exchange)
    report = exchange.place_trailing_stop("rb1-s1", AAPL, SELL, D(10), **trail)
    body = order_posts(fake)[-1]
    assert (body["type"], body["client_order_id"], body["time_in_force"]) == ("trailing_stop", "rb1-s1", "gtc")
    assert (report.type, report.stop_price, report.status) == (OrderType.STOP_MARKET, first_stop, OrderStatus.NEW)
    fake.set_price("AAPL", D("110.00"))
    fake.set_price("AAPL", D("108.01"))
    assert exchange.get_order(AAPL, "rb1-s1").stop_price == raised_stop
    fake.set_price("AAPL", raised_stop - D("0.01"))
    report = exchange.get_order(AAPL, "rb1-s1")
    assert (report.status, [f.price for f in report.fills]) == (OrderStatus.FILLED, [raised_stop - D("0.01")])


def test_a_trailing_stop_needs_exactly_one_trail(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    with pytest.raises(Rejected, match="exactly one"):
        exchange.place_trailing_stop("rb1-s1", AAPL, SELL, D(10))
    with pytest.raises(Rejected, match="exactly one"):
        exchange.place_trailing_stop("rb1-s1", AAPL, SELL, D(10), trail_percent=D(1), trail_price=D(1))
    assert order_posts(fake) == []


# ---- market hours ---------------------------------------------------------------------------------------


def test_a_market_order_is_refused_while_the_market_is_closed(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    fake.set_clock(False, next_open=datetime(2030, 1, 3, 14, 30, tzinfo=UTC))
    with pytest.raises(MarketClosed) as refused:
        bought(exchange)
    assert isinstance(refused.value, Rejected) and refused.value.kind == "MARKET_CLOSED"
    assert "market is closed" in str(refused.value) and "2030-01-03T14:30:00+00:00" in str(refused.value)
    assert "in 23h 30m" in str(refused.value)
    with pytest.raises(MarketClosed):
        exchange.place_bracket(order("rb2-e1"), D(140), D(160))
    assert order_posts(fake) == []
    resting = exchange.place_order(order("rb3-e1", OrderType.LIMIT, price="100.00"))
    assert resting.status is OrderStatus.NEW  # a limit may wait for the open


# ---- faults ---------------------------------------------------------------------------------------------


def test_a_timeout_before_the_venue_accepts_leaves_no_order(fake: AlpacaFake) -> None:
    exchange = connect(fake, timeout=0.3)
    fake.inject(ORDERS, Fault.TIMEOUT_BEFORE)
    with pytest.raises(Retryable, match="did not answer in time") as error:
        bought(exchange)
    assert not isinstance(error.value, RateLimited)
    with pytest.raises(UnknownOrder):
        exchange.get_order(AAPL, "rb1-e1")
    assert fake.orders_with_client_id("rb1-e1") == [] and len(order_posts(fake)) == 1


def test_a_timeout_after_the_venue_accepts_leaves_exactly_one_order(fake: AlpacaFake) -> None:
    exchange = connect(fake, timeout=0.3)
    fake.inject(ORDERS, Fault.TIMEOUT_AFTER)
    with pytest.raises(Retryable, match="outcome is unknown"):
        bought(exchange)
    report = exchange.get_order(AAPL, "rb1-e1")
    assert (report.status, report.filled_quantity, len(report.fills)) == (OrderStatus.FILLED, D(10), 1)
    assert len(fake.orders_with_client_id("rb1-e1")) == 1 and len(order_posts(fake)) == 1


def test_a_timeout_placing_an_oco_is_resolved_through_both_robson_ids(fake: AlpacaFake) -> None:
    exchange = connect(fake, timeout=0.3)
    bought(exchange)
    fake.inject(ORDERS, Fault.TIMEOUT_AFTER)
    with pytest.raises(Retryable):
        exchange.place_oco(oco())
    assert exchange.get_order(AAPL, "rb1-s1").stop_price == D(140)
    assert exchange.get_order(AAPL, "rb1-t1").price == D(160)


@pytest.mark.parametrize("fault", [Fault.HTTP_500, Fault.HTTP_504], ids=["500", "504"])
def test_a_server_error_is_retryable_and_not_retried_by_alpaca_py(
    fake: AlpacaFake, exchange: AlpacaExchange, fault: Fault
) -> None:
    fake.inject(ORDERS, fault)
    with pytest.raises(Retryable) as error:
        bought(exchange)
    assert f"HTTP {fault.value[-3:]}" in str(error.value) and not isinstance(error.value, RateLimited)
    assert len(order_posts(fake)) == 1 and fake.orders_with_client_id("rb1-e1") == []


def test_a_429_is_rate_limited_with_the_venues_retry_after(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    fake.inject(ORDERS, Fault.RATE_LIMITED, retry_after=7)
    with pytest.raises(RateLimited, match="HTTP 429") as error:
        bought(exchange)
    assert error.value.retry_after == 7.0
    assert len(order_posts(fake)) == 1  # alpaca-py would have slept 3 s and sent it again


def test_an_injected_403_is_insufficient_funds(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    fake.inject(ORDERS, Fault.INSUFFICIENT_BUYING_POWER)
    with pytest.raises(InsufficientFunds, match="HTTP 403 code 40310000: insufficient buying power"):
        bought(exchange)


def test_an_injected_422_is_a_rejection_with_the_venues_message(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    fake.inject(ORDERS, Fault.REJECTED, message="order is not allowed\nfor this account")
    with pytest.raises(Rejected) as error:
        bought(exchange)
    assert type(error.value) is Rejected
    assert str(error.value) == "Alpaca HTTP 422 code 42210000: order is not allowed for this account"


def test_a_partial_fill_reports_each_execution_once(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    fake.inject(ORDERS, Fault.PARTIAL_FILL, quantity=D(4))
    report = bought(exchange)
    assert (report.status, report.filled_quantity) == (OrderStatus.PARTIALLY_FILLED, D(4))
    assert [(f.quantity, f.price) for f in report.fills] == [(D(4), D("150.37"))]
    assert [r.client_order_id for r in exchange.open_orders()] == ["rb1-e1"]
    fake.set_price("AAPL", D("150.40"))
    report = exchange.get_order(AAPL, "rb1-e1")
    assert (report.status, report.filled_quantity) == (OrderStatus.FILLED, D(10))
    assert [(f.quantity, f.price) for f in report.fills] == [(D(4), D("150.37")), (D(6), D("150.40"))]
    assert len({f.trade_id for f in report.fills}) == 2


def test_faults_apply_to_any_route(fake: AlpacaFake) -> None:
    exchange = connect(fake, timeout=0.3)
    fake.inject("GET /v2/account", Fault.RATE_LIMITED, retry_after=2)
    with pytest.raises(RateLimited):
        exchange.balances()
    fake.inject("GET /v2/orders:by_client_order_id", Fault.TIMEOUT_BEFORE)
    with pytest.raises(Retryable):
        exchange.get_order(AAPL, "rb1-e1")
    with pytest.raises(ValueError, match="no route"):
        fake.inject("GET /v2/nowhere", Fault.HTTP_500)


@pytest.mark.parametrize(
    ("status", "code", "message", "expected"),
    [
        (404, 40410000, "order not found", UnknownOrder),
        (422, 40010001, "client_order_id must be unique", DuplicateOrder),
        (422, 42210000, "invalid limit_price 1.005. sub-penny increment does not fulfill", FilterFailure),
        (422, 40010001, 'asset "ZZZZ" not found', UnknownSymbol),
        (403, 40310000, "insufficient qty available for order (requested: 5, available: 0)", InsufficientFunds),
        (403, 40310000, "trade denied due to pattern day trading protection", Rejected),
        (403, None, "forbidden.", Fatal),
        (401, 40110000, "request is not authorized", Fatal),
        (400, 40010000, "request body format is invalid", Rejected),
        (503, 50310000, "service unavailable", Retryable),
        (429, 42910000, "too many requests", RateLimited),
    ],
)
def test_translate_maps_each_alpaca_answer_once(
    fake: AlpacaFake, exchange: AlpacaExchange, status: int, code: int | None, message: str, expected: type
) -> None:
    fake.inject(ORDERS, Fault.ERROR, status=status, code=code or 0, message=message)
    with pytest.raises(ExchangeError) as error:
        bought(exchange)
    assert type(error.value) is expected
    assert str(error.value).startswith(f"Alpaca HTTP {status}") and message in str(error.value)


def test_a_non_json_error_page_is_one_retryable_line(fake: AlpacaFake, exchange: AlpacaExchange) -> None:
    fake.inject(ORDERS, Fault.ERROR, status=502, body="<html>\n<h1>502 Bad Gateway</h1>\n</html>")
    with pytest.raises(Retryable) as error:
        bought(exchange)
    assert str(error.value) == "Alpaca HTTP 502: <html> <h1>502 Bad Gateway</h1> </html>"


def test_errors_raised_outside_http_are_translated_too() -> None:
    assert type(translate(requests.exceptions.ReadTimeout("read timed out"))) is Retryable
    assert type(translate(requests.exceptions.ConnectionError("refused"))) is Retryable
    assert type(translate(requests.exceptions.MissingSchema("no scheme"))) is Fatal
    assert type(translate(RuntimeError("boom"))) is Fatal
    already = Rejected("already translated")
    assert translate(already) is already


def test_an_unreachable_venue_is_retryable() -> None:
    with AlpacaFake() as gone:
        exchange = connect(gone, timeout=0.3)
    with pytest.raises(Retryable, match="ConnectionError"):
        exchange.balances()


# ---- keys -----------------------------------------------------------------------------------------------


def test_bad_keys_are_fatal(fake: AlpacaFake) -> None:
    with pytest.raises(Fatal, match="HTTP 401"):
        connect(fake, secret="wrong-secret").balances()


def test_keys_never_reach_a_message_or_a_log(fake: AlpacaFake, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    exchange = connect(fake, timeout=0.3)
    messages = [repr(exchange)]
    fake.inject(ORDERS, Fault.REJECTED, message=f"bad key {FAKE_KEY_ID} with {FAKE_SECRET_KEY}")
    for fault in (Fault.REJECTED, Fault.TIMEOUT_BEFORE, Fault.HTTP_500, Fault.RATE_LIMITED):
        if fault is not Fault.REJECTED:
            fake.inject(ORDERS, fault)
        with pytest.raises(ExchangeError) as error:
            bought(exchange)
        messages.append(str(error.value))
    with pytest.raises(Fatal) as error:
        connect(fake, secret="wrong-secret").balances()
    messages.append(str(error.value))
    assert "bad key *** with ***" in messages[1]
    for text in [*messages, caplog.text]:
        assert FAKE_KEY_ID not in text and FAKE_SECRET_KEY not in text and "wrong-secret" not in text
    assert all("\n" not in message for message in messages)
