"""BinanceExchange and BinanceFeed against the fake Binance server: real HTTP and websockets on 127.0.0.1."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import ccxt
import pytest

from robson.clock import ManualClock
from robson.domain.orders import OrderStatus, OrderType
from robson.domain.values import OrderSide
from robson.execution.adapters.binance import BinanceExchange, BinanceFeed, translate
from robson.ports import (
    Banned,
    DuplicateOrder,
    ExchangeError,
    Fatal,
    FilterFailure,
    InsufficientFunds,
    OcoRequest,
    OrderRequest,
    RateLimited,
    Rejected,
    Retryable,
    UnknownOrder,
    UnknownSymbol,
    WouldTriggerImmediately,
)
from tests.fakes.binance_server import BinanceFake, Fault

from .conftest import KEY, SECRET, TIMEOUT_MS

BUY, SELL = OrderSide.BUY, OrderSide.SELL
ORDER = "POST /api/v3/order"


def order(
    cid: str,
    type_: OrderType = OrderType.MARKET,
    quantity: str = "0.001",
    side: OrderSide = BUY,
    price: str | None = None,
    stop: str | None = None,
    symbol: str = "BTC/USDT",
) -> OrderRequest:
    return OrderRequest(
        cid,
        symbol,
        side,
        type_,
        Decimal(quantity),
        Decimal(price) if price is not None else None,
        Decimal(stop) if stop is not None else None,
    )


def sent(fake: BinanceFake, route: str = ORDER) -> dict[str, str]:
    """The parameters of the last request on a route, without the signing ones."""
    params = fake.requests_to(route)[-1].params
    return {k: v for k, v in params.items() if k not in ("timestamp", "recvWindow", "signature")}


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll a condition on state until it holds or the deadline passes."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.01)


def one_clear_line(error: ExchangeError) -> str:
    text = str(error)
    assert text and "\n" not in text
    assert KEY not in text and SECRET not in text
    return text


# ---- reference data, prices, account -------------------------------------------------------------------------


def test_instruments_carry_the_venue_filters(exchange: BinanceExchange) -> None:
    instruments = exchange.instruments()
    btc, eth = instruments["BTC/USDT"], instruments["ETH/USDT"]
    assert (btc.base, btc.quote) == ("BTC", "USDT")
    assert (btc.tick_size, btc.step_size, btc.min_quantity) == (Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"))
    assert btc.min_notional == Decimal("5")  # NOTIONAL
    assert (eth.step_size, eth.min_notional) == (Decimal("0.0001"), Decimal("10"))  # legacy MIN_NOTIONAL


def test_instruments_can_be_limited_to_some_symbols(fake: BinanceFake) -> None:
    exchange = BinanceExchange(KEY, SECRET, base_url=fake.url, symbols=["ETH/USDT"])
    assert list(exchange.instruments()) == ["ETH/USDT"]


def test_balances_fees_and_last_price_are_exact(fake: BinanceFake, exchange: BinanceExchange) -> None:
    balances = exchange.balances()
    assert {asset: (b.free, b.locked) for asset, b in balances.items()} == {
        "USDT": (Decimal("10000"), Decimal("0")),
        "BTC": (Decimal("1"), Decimal("0")),
        "ETH": (Decimal("10"), Decimal("0")),
    }
    rates = exchange.fee_rates("BTC/USDT")
    assert (rates.maker, rates.taker) == (Decimal("0.001"), Decimal("0.001"))
    fake.set_price("BTCUSDT", "30123.45")
    assert exchange.last_price("BTC/USDT") == Decimal("30123.45")
    with pytest.raises(UnknownSymbol):
        exchange.last_price("DOGE/EUR")


# ---- orders -------------------------------------------------------------------------------------------------


def test_market_order_sends_quantity_and_our_exact_client_id(fake: BinanceFake, exchange: BinanceExchange) -> None:
    fake.set_price("BTCUSDT", "30123.45")
    report = exchange.place_order(order("rb1-e1", quantity="0.00037"))

    assert sent(fake) == {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "MARKET",
        "quantity": "0.00037",
        "newClientOrderId": "rb1-e1",
        "newOrderRespType": "FULL",
    }
    assert all("x-TKT5PX2F" not in value for r in fake.requests for value in r.params.values())
    assert (report.client_order_id, report.status, report.type) == ("rb1-e1", OrderStatus.FILLED, OrderType.MARKET)
    assert report.filled_quantity == report.quantity == Decimal("0.00037")
    (fill,) = report.fills
    assert (fill.trade_id, fill.client_order_id, fill.symbol, fill.side) == ("5000", "rb1-e1", "BTC/USDT", BUY)
    assert (fill.price, fill.quantity, fill.fee, fill.fee_asset) == (
        Decimal("30123.45"),
        Decimal("0.00037"),
        Decimal("0.01114568"),  # 0.1% of 11.1456765, to Binance's eight places
        "USDT",
    )
    assert isinstance(fill.time, datetime) and fill.time.tzinfo is not None
    usdt = exchange.balances()["USDT"]
    assert usdt.free == Decimal("10000") - Decimal("11.1456765") - Decimal("0.01114568")


def test_limit_order_rests_then_fills_at_its_price(fake: BinanceFake, exchange: BinanceExchange) -> None:
    report = exchange.place_order(order("rb2-e1", OrderType.LIMIT, "0.01", price="29000.50"))
    assert sent(fake)["timeInForce"] == "GTC" and sent(fake)["price"] == "29000.5"
    assert (report.status, report.filled_quantity, report.price, report.fills) == (
        OrderStatus.NEW,
        Decimal("0"),
        Decimal("29000.5"),
        (),
    )
    assert exchange.balances()["USDT"].locked > 0

    fake.set_price("BTCUSDT", "28990")
    filled = exchange.get_order("BTC/USDT", "rb2-e1")
    assert (filled.status, filled.filled_quantity) == (OrderStatus.FILLED, Decimal("0.01"))
    assert [(f.price, f.quantity, f.fee) for f in filled.fills] == [
        (Decimal("29000.5"), Decimal("0.01"), Decimal("0.290005"))
    ]
    assert exchange.balances()["USDT"].locked == 0


def test_stop_types_map_to_binance_stop_orders(fake: BinanceFake, exchange: BinanceExchange) -> None:
    cases = [
        (order("s1", OrderType.STOP_MARKET, "0.01", SELL, stop="29500"), "STOP_LOSS", None),
        (order("s2", OrderType.STOP_LIMIT, "0.01", SELL, "29400", "29500"), "STOP_LOSS_LIMIT", "29400"),
        (order("s3", OrderType.TAKE_PROFIT_LIMIT, "0.01", SELL, "31000", "31000"), "TAKE_PROFIT_LIMIT", "31000"),
    ]
    for request, binance_type, price in cases:
        report = exchange.place_order(request)
        wire = sent(fake)
        assert (wire["type"], wire["stopPrice"], wire.get("price")) == (binance_type, str(request.stop_price), price)
        assert (report.type, report.status, report.stop_price) == (request.type, OrderStatus.NEW, request.stop_price)
        assert report.price == request.price

    fake.set_price("BTCUSDT", "29450")
    stopped = exchange.get_order("BTC/USDT", "s1")
    stop_limit = exchange.get_order("BTC/USDT", "s2")
    assert stopped.status is OrderStatus.FILLED and stopped.fills[0].price == Decimal("29450")
    assert stop_limit.status is OrderStatus.FILLED and stop_limit.fills[0].price == Decimal("29400")
    assert [r.client_order_id for r in exchange.open_orders()] == ["s3"]


def test_refusals_from_the_venue(fake: BinanceFake, exchange: BinanceExchange) -> None:
    with pytest.raises(WouldTriggerImmediately, match="Order would trigger immediately"):
        exchange.place_order(order("w1", OrderType.STOP_MARKET, "0.01", SELL, stop="30500"))
    with pytest.raises(InsufficientFunds, match="insufficient balance"):
        exchange.place_order(order("w2", quantity="5"))
    with pytest.raises(FilterFailure, match="Filter failure: NOTIONAL"):  # ccxt calls it BadRequest
        exchange.place_order(order("w3", quantity="0.0001"))
    exchange.place_order(order("w4"))
    with pytest.raises(DuplicateOrder, match="Duplicate order sent"):
        exchange.place_order(order("w4"))
    assert [o.client_order_id for o in fake.orders] == ["w4"]


def test_off_grid_amounts_are_refused_before_ccxt_can_round_them(fake: BinanceFake, exchange: BinanceExchange) -> None:
    with pytest.raises(FilterFailure, match="LOT_SIZE"):
        exchange.place_order(order("g1", quantity="0.000015"))
    with pytest.raises(FilterFailure, match="PRICE_FILTER"):
        exchange.place_order(order("g2", OrderType.LIMIT, price="29000.005"))
    with pytest.raises(Rejected, match="no STOP_LOSS orders on ETH/USDT"):  # not in ETHUSDT's orderTypes
        exchange.place_order(order("g3", OrderType.STOP_MARKET, "0.01", SELL, stop="1900", symbol="ETH/USDT"))
    assert fake.requests_to(ORDER) == []


def test_oco_protecting_a_long_puts_the_target_above_and_the_stop_below(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    request = OcoRequest(
        "rb3-p1", "BTC/USDT", SELL, Decimal("0.02"), "rb3-s1", Decimal("29000"), "rb3-t1", Decimal("31000")
    )
    stop, target = exchange.place_oco(request)

    assert sent(fake, "POST /api/v3/orderList/oco") == {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "quantity": "0.02",
        "listClientOrderId": "rb3-p1",
        "newOrderRespType": "FULL",
        "aboveType": "LIMIT_MAKER",
        "abovePrice": "31000",
        "aboveClientOrderId": "rb3-t1",
        "belowType": "STOP_LOSS",
        "belowStopPrice": "29000",
        "belowClientOrderId": "rb3-s1",
    }
    assert (stop.client_order_id, stop.type, stop.stop_price, stop.list_id) == (
        "rb3-s1",
        OrderType.STOP_MARKET,
        Decimal("29000"),
        "rb3-p1",
    )
    assert (target.client_order_id, target.type, target.price, target.list_id) == (
        "rb3-t1",
        OrderType.TAKE_PROFIT_LIMIT,
        Decimal("31000"),
        "rb3-p1",
    )
    assert fake.balance("BTC") == (Decimal("0.98"), Decimal("0.02"))  # the list locks once

    fake.set_price("BTCUSDT", "31000")
    fresh = BinanceExchange(KEY, SECRET, base_url=fake.url, timeout_ms=TIMEOUT_MS)  # knows no list ids yet
    filled, expired = fresh.get_order("BTC/USDT", "rb3-t1"), fresh.get_order("BTC/USDT", "rb3-s1")
    assert (filled.status, filled.fills[0].price, filled.list_id) == (OrderStatus.FILLED, Decimal("31000"), "rb3-p1")
    assert (expired.status, expired.list_id) == (OrderStatus.EXPIRED, "rb3-p1")
    assert fresh.open_orders() == []


def test_oco_protecting_a_short_mirrors_the_legs(fake: BinanceFake, exchange: BinanceExchange) -> None:
    request = OcoRequest(
        "rb4-p1", "BTC/USDT", BUY, Decimal("0.01"), "rb4-s1", Decimal("31000"), "rb4-t1", Decimal("29000")
    )
    stop, target = exchange.place_oco(request)
    wire = sent(fake, "POST /api/v3/orderList/oco")
    assert (wire["aboveType"], wire["aboveStopPrice"], wire["aboveClientOrderId"]) == ("STOP_LOSS", "31000", "rb4-s1")
    assert (wire["belowType"], wire["belowPrice"], wire["belowClientOrderId"]) == ("LIMIT_MAKER", "29000", "rb4-t1")
    assert (stop.client_order_id, target.client_order_id) == ("rb4-s1", "rb4-t1")


def test_cancel_get_and_open_orders(fake: BinanceFake, exchange: BinanceExchange) -> None:
    exchange.place_order(order("c1", OrderType.LIMIT, "0.01", price="29000"))
    exchange.place_order(order("c2", OrderType.LIMIT, "0.1", price="1900", symbol="ETH/USDT"))
    exchange.place_order(order("c3", OrderType.LIMIT, "0.01", SELL, price="31000"))
    assert [r.client_order_id for r in exchange.open_orders()] == ["c1", "c2", "c3"]  # oldest first
    assert [r.client_order_id for r in exchange.open_orders("ETH/USDT")] == ["c2"]

    cancelled = exchange.cancel_order("BTC/USDT", "c1")
    assert (cancelled.client_order_id, cancelled.status, cancelled.price) == (
        "c1",
        OrderStatus.CANCELED,
        Decimal(29000),
    )
    assert exchange.get_order("BTC/USDT", "c1").status is OrderStatus.CANCELED
    with pytest.raises(UnknownOrder, match="Unknown order sent"):
        exchange.cancel_order("BTC/USDT", "c1")
    with pytest.raises(UnknownOrder, match="Order does not exist"):
        exchange.get_order("BTC/USDT", "never-sent")
    with pytest.raises(UnknownOrder):
        exchange.get_order("ETH/USDT", "c3")  # another symbol's order
    with pytest.raises(UnknownSymbol):
        exchange.open_orders("NOPE/USDT")


def test_cancelling_one_oco_leg_cancels_the_list(exchange: BinanceExchange) -> None:
    request = OcoRequest(
        "rb5-p1", "BTC/USDT", SELL, Decimal("0.01"), "rb5-s1", Decimal("29000"), "rb5-t1", Decimal("31000")
    )
    exchange.place_oco(request)
    assert exchange.cancel_order("BTC/USDT", "rb5-s1").status is OrderStatus.CANCELED
    assert exchange.get_order("BTC/USDT", "rb5-t1").status is OrderStatus.CANCELED
    request = OcoRequest(
        "rb5-p2", "BTC/USDT", SELL, Decimal("0.01"), "rb5-s2", Decimal("29000"), "rb5-t2", Decimal("31000")
    )
    exchange.place_oco(request)
    reports = exchange.cancel_list("BTC/USDT", "rb5-p2")
    assert {(r.client_order_id, r.status, r.list_id) for r in reports} == {
        ("rb5-s2", OrderStatus.CANCELED, "rb5-p2"),
        ("rb5-t2", OrderStatus.CANCELED, "rb5-p2"),
    }


# ---- faults -------------------------------------------------------------------------------------------------


def test_timeout_before_the_venue_accepts_leaves_no_order(fake: BinanceFake, exchange: BinanceExchange) -> None:
    fake.inject(ORDER, Fault.timeout_before_accept())
    with pytest.raises(Retryable) as caught:
        exchange.place_order(order("t1"))
    assert "POST /api/v3/order" in one_clear_line(caught.value) and "unknown" in str(caught.value)
    assert fake.orders == []
    with pytest.raises(UnknownOrder):
        exchange.get_order("BTC/USDT", "t1")


def test_timeout_after_the_venue_accepts_finds_exactly_one_order(fake: BinanceFake, exchange: BinanceExchange) -> None:
    fake.inject(ORDER, Fault.timeout_after_accept())
    with pytest.raises(Retryable):
        exchange.place_order(order("t2"))
    found = exchange.get_order("BTC/USDT", "t2")
    assert (found.status, found.filled_quantity, len(found.fills)) == (OrderStatus.FILLED, Decimal("0.001"), 1)
    assert [o.client_order_id for o in fake.orders] == ["t2"]
    assert len(fake.requests_to(ORDER)) == 1  # nothing resent behind our back


@pytest.mark.parametrize(
    ("fault", "kind", "words", "retry_after"),
    [
        (Fault.server_error(), Retryable, "HTTP 500", None),
        (Fault.unavailable(), Retryable, "code -1007", None),
        (Fault.rate_limited(retry_after=7), RateLimited, "HTTP 429", 7.0),
        (Fault.banned(retry_after=120), Banned, "HTTP 418", 120.0),
        (Fault.insufficient_balance(), InsufficientFunds, "insufficient balance", None),
        (Fault.filter_failure("LOT_SIZE"), FilterFailure, "Filter failure: LOT_SIZE", None),
        (Fault.filter_failure("PERCENT_PRICE_BY_SIDE"), FilterFailure, "PERCENT_PRICE_BY_SIDE", None),
        (Fault.error(400, -2010, "Market is closed."), Rejected, "Market is closed.", None),
        (Fault.error(401, -2015, "Invalid API-key, IP, or permissions for action."), Fatal, "API key", None),
    ],
    ids=["500", "503-1007", "429", "418", "2010", "1013", "1013-percent", "closed", "401"],
)
def test_each_fault_is_classified(
    fake: BinanceFake,
    exchange: BinanceExchange,
    fault: Fault,
    kind: type[ExchangeError],
    words: str,
    retry_after: float | None,
) -> None:
    exchange.instruments()
    fake.inject(ORDER, fault)
    with pytest.raises(kind) as caught:
        exchange.place_order(order("f1"))
    assert type(caught.value) is kind
    assert words in one_clear_line(caught.value)
    assert getattr(caught.value, "retry_after", None) == retry_after
    if fault.kind == "reply":
        assert fake.orders == []


def test_partial_fill_is_reported_and_the_rest_fills_later(fake: BinanceFake, exchange: BinanceExchange) -> None:
    fake.inject(ORDER, Fault.partial_fill("0.5"))
    report = exchange.place_order(order("p1", quantity="0.01"))
    assert (report.status, report.filled_quantity, report.quantity) == (
        OrderStatus.PARTIALLY_FILLED,
        Decimal("0.005"),
        Decimal("0.01"),
    )
    assert sum(f.quantity for f in report.fills) == Decimal("0.005")
    assert [r.client_order_id for r in exchange.open_orders()] == ["p1"]

    fake.set_price("BTCUSDT", "30100")
    done = exchange.get_order("BTC/USDT", "p1")
    assert (done.status, done.filled_quantity) == (OrderStatus.FILLED, Decimal("0.01"))
    assert [(f.price, f.quantity) for f in done.fills] == [
        (Decimal("30000"), Decimal("0.005")),
        (Decimal("30100"), Decimal("0.005")),
    ]


def test_wrong_key_is_fatal(fake: BinanceFake) -> None:
    exchange = BinanceExchange("another-key", SECRET, base_url=fake.url, timeout_ms=TIMEOUT_MS)
    with pytest.raises(Fatal, match="API key") as caught:
        exchange.balances()
    assert "another-key" not in str(caught.value)


def test_keys_appear_in_no_message_and_no_log_line(
    fake: BinanceFake, exchange: BinanceExchange, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    exchange.place_order(order("k1"))
    errors: list[ExchangeError] = []
    for fault in (Fault.rate_limited(), Fault.banned(), Fault.timeout_before_accept(), Fault.server_error()):
        fake.inject(ORDER, fault)
        with pytest.raises(ExchangeError) as caught:
            exchange.place_order(order("k2"))
        errors.append(caught.value)
    with pytest.raises(Fatal) as caught:
        BinanceExchange(KEY + "x", SECRET, base_url=fake.url, timeout_ms=TIMEOUT_MS).balances()
    errors.append(caught.value)

    assert "/api/v3/order" in caplog.text  # ccxt's debug lines, request headers included, were logged
    assert KEY not in caplog.text and SECRET not in caplog.text
    for error in errors:
        one_clear_line(error)
    assert all(r.api_key in (KEY, KEY + "x") for r in fake.requests if "signature" in r.params)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (ccxt.DDoSProtection('binance 429 Too Many Requests {"code":-1003,"msg":"Too much weight"}'), RateLimited),
        (ccxt.DDoSProtection('binance 418 I\'m a teapot {"code":-1003,"msg":"IP banned"}'), Banned),
        (ccxt.RateLimitExceeded('binance {"code":-1015,"msg":"Too many new orders."}'), RateLimited),
        (ccxt.RequestTimeout("binance POST http://127.0.0.1:1/api/v3/order"), Retryable),
        (ccxt.NetworkError("binance GET http://127.0.0.1:1/api/v3/account?signature=abc"), Retryable),
        (ccxt.ExchangeNotAvailable("binance 502 Bad Gateway"), Retryable),
        (ccxt.BadRequest('binance {"code":-1013,"msg":"Filter failure: NOTIONAL"}'), FilterFailure),
        (ccxt.InvalidOrder('binance {"code":-2010,"msg":"Duplicate order sent."}'), DuplicateOrder),
        (ccxt.OrderNotFound('binance {"code":-2013,"msg":"Order does not exist."}'), UnknownOrder),
        (ccxt.BadSymbol('binance {"code":-1121,"msg":"Invalid symbol."}'), UnknownSymbol),
        (
            ccxt.ExchangeError('binance {"code":-2010,"msg":"Order would trigger immediately."}'),
            WouldTriggerImmediately,
        ),
        (ccxt.AuthenticationError('binance {"code":-1022,"msg":"Signature for this request is not valid."}'), Fatal),
        (ccxt.DDoSProtection('binance {"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}'), Fatal),
        (
            ccxt.InvalidNonce(
                'binance {"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}'
            ),
            Retryable,
        ),
        (ccxt.OperationFailed('binance {"code":-1000,"msg":"An unknown error occurred while processing."}'), Retryable),
        (ccxt.ExchangeError('binance {"code":-2010,"msg":"Market is closed."}'), Rejected),
        (ccxt.InvalidOrder("binance createOrder() requires a price argument"), Rejected),
        (ValueError("something else entirely"), Fatal),
    ],
)
def test_translate_without_a_reply_reads_ccxt_messages(error: Exception, kind: type[ExchangeError]) -> None:
    translated = translate(error)
    assert type(translated) is kind
    assert "signature" not in one_clear_line(translated)


# ---- the price feed -----------------------------------------------------------------------------------------


@pytest.fixture
def feed(fake: BinanceFake) -> Iterator[BinanceFeed]:
    symbols = ["BTC/USDT", "ETH/USDT"]
    stream = BinanceFeed(symbols, base_url=fake.url, ws_url=fake.ws_url, timeout_ms=TIMEOUT_MS, backoff=(0.05, 0.1))
    try:
        yield stream
    finally:
        stream.close()


def settle(feed: BinanceFeed) -> None:
    """Wait until the socket delivers and every symbol's first price has been polled, so later polls are news."""
    seen: set[str] = set()

    def settled() -> bool:
        seen.update(symbol for symbol, _ in feed.poll())
        return feed.connected and seen == set(feed.symbols)

    eventually(settled)


def collect_until(feed: BinanceFeed, wanted: tuple[str, Decimal]) -> list[tuple[str, Decimal]]:
    ticks: list[tuple[str, Decimal]] = []

    def arrived() -> bool:
        ticks.extend(feed.poll())
        return wanted in ticks

    eventually(arrived)
    return ticks


def test_feed_streams_ticks_in_order(fake: BinanceFake, exchange: BinanceExchange) -> None:
    feed = exchange.price_feed(["BTC/USDT", "ETH/USDT"])
    try:
        fake.wait_for_subscribers("BTCUSDT")
        settle(feed)
        rest_calls = len(fake.requests_to("GET /api/v3/ticker/price"))  # polls before the first tick use REST
        for price in ("30100", "30200", "30300"):
            fake.set_price("BTCUSDT", price)
        ticks = [p for s, p in collect_until(feed, ("BTC/USDT", Decimal("30300"))) if s == "BTC/USDT"]
        assert ticks == sorted(ticks) and ticks[-1] == Decimal("30300")  # in order; ccxt may merge close ticks
        fake.set_price("ETHUSDT", "2000.5")
        assert collect_until(feed, ("ETH/USDT", Decimal("2000.5"))) == [("ETH/USDT", Decimal("2000.5"))]
        assert len(fake.requests_to("GET /api/v3/ticker/price")) == rest_calls  # live: no REST
    finally:
        feed.close()


def test_feed_falls_back_to_rest_while_the_socket_is_down_and_reconnects(fake: BinanceFake, feed: BinanceFeed) -> None:
    settle(feed)
    rest_calls = len(fake.requests_to("GET /api/v3/ticker/price"))  # polls before the first tick use REST

    fake.drop_websockets(refuse_reconnects=True)
    eventually(lambda: not feed.connected)
    fake.set_price("BTCUSDT", "29500")
    assert feed.poll() == [("BTC/USDT", Decimal("29500"))]  # from GET /api/v3/ticker/price
    assert feed.poll() == []  # nothing changed since
    assert len(fake.requests_to("GET /api/v3/ticker/price")) > rest_calls

    fake.allow_websockets()
    eventually(lambda: feed.connected)
    rest_calls = len(fake.requests_to("GET /api/v3/ticker/price"))
    fake.set_price("BTCUSDT", "29600")
    assert ("BTC/USDT", Decimal("29600")) in collect_until(feed, ("BTC/USDT", Decimal("29600")))
    assert len(fake.requests_to("GET /api/v3/ticker/price")) == rest_calls  # live again: no REST
    assert feed.reconnects >= 1


def test_a_symbol_binance_does_not_list_is_dropped_from_the_rest_fallback(fake: BinanceFake) -> None:
    fake.drop_websockets(refuse_reconnects=True)
    stream = BinanceFeed(
        ["BTC/USDT", "DOGE/USDT"], base_url=fake.url, ws_url=fake.ws_url, timeout_ms=TIMEOUT_MS, backoff=(0.05,)
    )
    try:
        assert stream.poll() == [("BTC/USDT", Decimal("30000"))]  # the unlisted one neither raises nor stops the rest
        fake.set_price("BTCUSDT", "30100")
        asked = len(fake.requests)
        assert stream.poll() == [("BTC/USDT", Decimal("30100"))]
        assert all("DOGE" not in str(r.params) for r in fake.requests[asked:])  # not asked for again
    finally:
        stream.close()


def test_after_a_ban_nothing_is_sent_until_it_ends(fake: BinanceFake) -> None:
    clock = ManualClock(datetime(2030, 1, 2, tzinfo=UTC))
    exchange = BinanceExchange(KEY, SECRET, base_url=fake.url, timeout_ms=TIMEOUT_MS, clock=clock)
    exchange.balances()
    fake.inject(ORDER, Fault.banned(retry_after=120))
    with pytest.raises(Banned):
        exchange.place_order(order("b1"))
    asked = len(fake.requests)

    clock.advance(timedelta(seconds=119))
    for call in (lambda: exchange.place_order(order("b1")), exchange.balances, lambda: exchange.last_price("BTC/USDT")):
        with pytest.raises(Banned, match=r"nothing is sent for 1 s more") as caught:
            call()
        assert caught.value.retry_after == pytest.approx(1)
    assert len(fake.requests) == asked  # every request during a ban lengthens it: none was made

    clock.advance(timedelta(seconds=1))
    assert exchange.place_order(order("b1")).status is OrderStatus.FILLED
