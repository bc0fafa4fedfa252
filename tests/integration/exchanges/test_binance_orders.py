"""BinanceOrderStream against the fake Binance: the account's order updates pushed over the user-data stream (the
WebSocket API, signed), read into the same OrderReports as REST, through a dropped connection, malformed messages and
the venue ending the subscription. Every wait is on a condition with a deadline; only 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from robson.domain.orders import OrderStatus, OrderType
from robson.domain.values import OrderSide
from robson.execution.adapters.binance import BinanceExchange, BinanceOrderStream
from robson.ports import OcoRequest, OrderReport
from tests.fakes.binance_server import BinanceFake, Fault

from .conftest import KEY, SECRET, TIMEOUT_MS
from .test_binance import ORDER, eventually, order

D = Decimal
SUBSCRIBE = "WS userDataStream.subscribe.signature"


@pytest.fixture
def stream(exchange: BinanceExchange) -> Iterator[BinanceOrderStream]:
    opened = exchange.order_stream(backoff=(0.05, 0.1))
    try:
        eventually(opened.healthy)
        yield opened
    finally:
        opened.close()


def reports_until(stream: BinanceOrderStream, done: Callable[[list[OrderReport]], bool]) -> list[OrderReport]:
    """What the stream hands out until `done` holds of all of it (a deadline, never a sleep)."""
    reports: list[OrderReport] = []

    def arrived() -> bool:
        reports.extend(stream.updates())
        return done(reports)

    eventually(arrived)
    return reports


def until_status(cid: str, status: OrderStatus) -> Callable[[list[OrderReport]], bool]:
    return lambda reports: any(r.client_order_id == cid and r.status is status for r in reports)


def of(reports: list[OrderReport], cid: str) -> list[OrderReport]:
    return [r for r in reports if r.client_order_id == cid]


def trade(fake: BinanceFake, trade_id: str) -> dict[str, Any]:
    return next(t for t in fake.venue.trades if str(t["id"]) == trade_id)


# ---- what arrives ------------------------------------------------------------------------------------------


def test_an_order_filled_in_part_then_in_full_arrives_with_each_fill(
    fake: BinanceFake, exchange: BinanceExchange, stream: BinanceOrderStream
) -> None:
    assert fake.requests_to(SUBSCRIBE)  # subscribed on the WebSocket API, signed with the account's key
    fake.inject(ORDER, Fault.partial_fill("0.5"))
    exchange.place_order(order("u1"))
    fake.set_price("BTCUSDT", "30010.5")  # the rest trades

    reports = of(reports_until(stream, until_status("u1", OrderStatus.FILLED)), "u1")

    assert [(r.status, r.filled_quantity) for r in reports] == [
        (OrderStatus.NEW, 0),
        (OrderStatus.PARTIALLY_FILLED, D("0.0005")),
        (OrderStatus.FILLED, D("0.001")),
    ]
    assert all(
        (r.symbol, r.side, r.type, r.quantity) == ("BTC/USDT", OrderSide.BUY, OrderType.MARKET, D("0.001"))
        for r in reports
    )
    assert reports[0].fills == ()
    first, second = reports[1].fills, reports[2].fills
    assert len(first) == len(second) == 1  # each report carries the one trade it reports
    for fill, price in ((first[0], D("30000")), (second[0], D("30010.5"))):
        venue = trade(fake, fill.trade_id)
        assert (fill.client_order_id, fill.symbol, fill.side) == ("u1", "BTC/USDT", OrderSide.BUY)
        assert (fill.price, fill.quantity) == (price, D("0.0005"))
        assert (fill.fee, fill.fee_asset) == (D(venue["commission"]), "USDT")
        assert fill.fee == price * D("0.0005") * D("0.001")  # exact: read from the wire strings
        assert isinstance(fill.price, Decimal) and isinstance(fill.fee, Decimal)
    assert first[0].trade_id != second[0].trade_id
    assert len({r.exchange_order_id for r in reports}) == 1


def test_a_cancelled_order_arrives_under_its_own_client_order_id(
    fake: BinanceFake, exchange: BinanceExchange, stream: BinanceOrderStream
) -> None:
    fake.inject(ORDER, Fault.partial_fill("0.4"))
    exchange.place_order(order("u2"))  # 0.0004 trades, the rest stays open
    exchange.cancel_order("BTC/USDT", "u2")

    reports = of(reports_until(stream, until_status("u2", OrderStatus.CANCELED)), "u2")

    cancelled = reports[-1]
    assert [r.status for r in reports] == [OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.CANCELED]
    assert (cancelled.filled_quantity, cancelled.fills) == (D("0.0004"), ())  # what filled stays filled; no new fill


def test_a_resting_limit_filled_by_a_price_move_arrives(
    fake: BinanceFake, exchange: BinanceExchange, stream: BinanceOrderStream
) -> None:
    exchange.place_order(order("u3", OrderType.LIMIT, price="29000"))
    (placed,) = of(reports_until(stream, until_status("u3", OrderStatus.NEW)), "u3")
    assert (placed.type, placed.price, placed.filled_quantity) == (OrderType.LIMIT, D("29000"), 0)

    fake.set_price("BTCUSDT", "28990")

    (filled,) = of(reports_until(stream, until_status("u3", OrderStatus.FILLED)), "u3")
    (fill,) = filled.fills
    assert (filled.filled_quantity, fill.price, fill.quantity) == (D("0.001"), D("29000"), D("0.001"))  # its limit
    assert fill.fee == D("0.029") and fill.trade_id == str(fake.venue.trades[-1]["id"])


def test_an_oco_leg_filling_and_its_sibling_expiring_arrive_with_the_list_id(
    fake: BinanceFake, exchange: BinanceExchange, stream: BinanceOrderStream
) -> None:
    exchange.place_order(order("u4"))
    request = OcoRequest(
        "list-1", "BTC/USDT", OrderSide.SELL, D("0.001"), "u4-stop", D("29000"), "u4-target", D("31000")
    )
    exchange.place_oco(request)
    fake.set_price("BTCUSDT", "28900")

    reports = reports_until(stream, until_status("u4-target", OrderStatus.EXPIRED))

    stop, target = of(reports, "u4-stop")[-1], of(reports, "u4-target")[-1]
    assert (stop.status, stop.type, stop.stop_price, stop.list_id) == (
        OrderStatus.FILLED, OrderType.STOP_MARKET, D("29000"), "list-1",
    )  # fmt: skip
    assert stop.fills[0].price == D("28900") and stop.filled_quantity == D("0.001")
    assert (target.type, target.price, target.list_id, target.fills) == (
        OrderType.TAKE_PROFIT_LIMIT, D("31000"), "list-1", (),
    )  # fmt: skip


def test_the_rest_and_the_stream_agree_on_the_same_order(
    fake: BinanceFake, exchange: BinanceExchange, stream: BinanceOrderStream
) -> None:
    fake.inject(ORDER, Fault.partial_fill("0.5"))
    exchange.place_order(order("a1"))
    fake.set_price("BTCUSDT", "30020")
    exchange.place_order(order("a2", OrderType.LIMIT, price="29000"))
    exchange.cancel_order("BTC/USDT", "a2")
    exchange.place_order(order("a3", OrderType.STOP_LIMIT, side=OrderSide.SELL, price="28000", stop="28500"))

    reports = reports_until(stream, lambda rs: until_status("a2", OrderStatus.CANCELED)(rs) and bool(of(rs, "a3")))

    for cid in ("a1", "a2", "a3"):
        streamed, rest = of(reports, cid), exchange.get_order("BTC/USDT", cid)
        last = streamed[-1]
        assert last.fills == () or last.fills[0] in rest.fills
        # every field the same: the one reader and mapping serve both
        assert OrderReport(**{**_fields(last), "fills": rest.fills}) == rest
        assert tuple(fill for r in streamed for fill in r.fills) == rest.fills  # each fill once, in order


def _fields(report: OrderReport) -> dict[str, Any]:
    return {name: getattr(report, name) for name in OrderReport.__slots__}


# ---- what goes wrong ---------------------------------------------------------------------------------------


def test_a_dropped_connection_is_reconnected_and_later_updates_arrive(
    fake: BinanceFake, exchange: BinanceExchange, stream: BinanceOrderStream
) -> None:
    subscribed = len(fake.requests_to(SUBSCRIBE))
    fake.drop_websockets(refuse_reconnects=True)
    eventually(lambda: not stream.healthy())
    exchange.place_order(order("d1"))  # pushed to no one: the backstop sync's to find
    assert not stream.healthy()

    fake.allow_websockets()
    eventually(stream.healthy)
    assert stream.healthy()  # it stays so
    assert len(fake.requests_to(SUBSCRIBE)) > subscribed and stream.reconnects >= 1
    exchange.place_order(order("d2"))

    reports = reports_until(stream, until_status("d2", OrderStatus.FILLED))
    assert of(reports, "d1") == []  # nothing invented, nothing replayed
    assert [r.status for r in of(reports, "d2")] == [OrderStatus.NEW, OrderStatus.FILLED]


MALFORMED: list[str | dict[str, Any]] = [
    "not json at all",
    '{"subscriptionId": 0, "event": {"e": "executionReport", "s": ',
    "[1, 2]",
    {"s": "BTCUSDT", "c": "x"},  # no event type
    '{"subscriptionId": 0, "event": [1]}',
]


def _execution(**changes: object) -> dict[str, Any]:
    """A well-formed executionReport of a trade (then changed): fields as Binance documents them."""
    event: dict[str, Any] = {
        "e": "executionReport", "E": 1, "s": "BTCUSDT", "c": "m1", "S": "BUY", "o": "LIMIT", "f": "GTC",
        "q": "0.00100000", "p": "29000.00000000", "P": "0.00000000", "F": "0.00000000", "g": -1, "C": "",
        "x": "TRADE", "X": "FILLED", "r": "NONE", "i": 77, "l": "0.00100000", "z": "0.00100000",
        "L": "29000.00000000", "n": "0.02900000", "N": "USDT", "T": 1, "t": 88, "I": 1, "w": False, "m": True,
        "M": False, "O": 1, "Z": "29.00000000", "Y": "29.00000000", "Q": "0.00000000",
    }  # fmt: skip
    event.update(changes)
    return {key: value for key, value in event.items() if value is not None}


BAD_REPORTS = {
    "no cumulative quantity": {"z": None},
    "no trade id": {"t": None},
    "a NaN price": {"L": "NaN"},
    "an infinite fee": {"n": "Infinity"},
    "a float quantity": {"l": 0.001},
    "a side that is none": {"S": "SIDEWAYS"},
    "a type Robson does not handle": {"o": "ICEBERG"},
    "a market it does not list": {"s": "DOGEUSDT"},
    "a zero trade price": {"L": "0"},
}


def _refused_then_still_delivering(
    fake: BinanceFake, exchange: BinanceExchange, stream: BinanceOrderStream, message: str | dict[str, Any], cid: str
) -> None:
    fake.send_user_data(message)
    eventually(lambda: stream.malformed == 1)
    assert not stream.healthy()  # once: a report may have been lost, the caller's sync covers it
    assert stream.healthy()
    exchange.place_order(order(cid))
    reports = reports_until(stream, until_status(cid, OrderStatus.FILLED))
    assert {r.client_order_id for r in reports} == {cid}  # the refused message made no report
    (reason,) = stream.refused()
    assert reason and "\n" not in reason
    assert stream.refused() == [] and stream.reconnects == 0  # each handed out once; the connection stays


@pytest.mark.parametrize("message", MALFORMED)
def test_a_malformed_message_is_refused_and_later_ones_arrive(
    fake: BinanceFake, exchange: BinanceExchange, stream: BinanceOrderStream, message: str | dict[str, Any]
) -> None:
    _refused_then_still_delivering(fake, exchange, stream, message, "after-bad")


@pytest.mark.parametrize("change", BAD_REPORTS.values(), ids=BAD_REPORTS.keys())
def test_an_execution_report_that_breaks_the_contract_is_refused(
    fake: BinanceFake, exchange: BinanceExchange, stream: BinanceOrderStream, change: dict[str, object]
) -> None:
    fake.send_user_data(_execution())  # well formed: it is read (its order is not the fake's: nothing checks that)
    reports_until(stream, lambda rs: [(r.client_order_id, r.fills[0].trade_id) for r in rs] == [("m1", "88")])
    _refused_then_still_delivering(fake, exchange, stream, _execution(**change), "after-broken")


def test_the_venue_ending_the_subscription_subscribes_again(
    fake: BinanceFake, exchange: BinanceExchange, stream: BinanceOrderStream
) -> None:
    subscribed = len(fake.requests_to(SUBSCRIBE))
    fake.send_user_data({"e": "eventStreamTerminated", "E": 1})
    eventually(lambda: len(fake.requests_to(SUBSCRIBE)) > subscribed)
    eventually(stream.healthy)
    exchange.place_order(order("t1"))
    assert of(reports_until(stream, until_status("t1", OrderStatus.FILLED)), "t1")
    assert stream.reconnects >= 1


def test_a_key_the_venue_refuses_keeps_the_stream_unhealthy_and_out_of_the_log(
    fake: BinanceFake, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = BinanceExchange("wrong-key-5e1f", SECRET, base_url=fake.url, ws_url=fake.ws_url, timeout_ms=TIMEOUT_MS)
    caplog.set_level(logging.DEBUG)
    opened = wrong.order_stream(backoff=(0.05,))
    try:
        eventually(lambda: len(fake.requests_to(SUBSCRIBE)) >= 2)  # refused, and asked again after the backoff
        assert not opened.healthy()
    finally:
        opened.close()
    assert "-2015" in caplog.text
    assert "wrong-key-5e1f" not in caplog.text and SECRET not in caplog.text


def test_an_explicit_web_socket_api_url_is_used(fake: BinanceFake) -> None:
    exchange = BinanceExchange(KEY, SECRET, base_url=fake.url, ws_api_url=fake.ws_api_url, timeout_ms=TIMEOUT_MS)
    opened = exchange.order_stream()
    try:
        eventually(opened.healthy)
    finally:
        opened.close()
    assert not opened.healthy() and opened.updates() == []


# ---- the fake's user-data stream by listenKey (Binance's older way; ccxt before the WebSocket API used it) ----


def test_the_fake_serves_the_user_data_stream_by_listen_key(fake: BinanceFake, exchange: BinanceExchange) -> None:
    async def follow() -> list[dict[str, Any]]:
        headers = {"X-MBX-APIKEY": KEY}
        async with aiohttp.ClientSession(headers=headers) as session:
            async with session.post(f"{fake.url}/api/v3/userDataStream") as started:
                key = (await started.json())["listenKey"]
            async with session.post(f"{fake.url}/api/v3/userDataStream") as again:
                assert (await again.json())["listenKey"] == key  # the account's active key
            async with session.put(f"{fake.url}/api/v3/userDataStream", params={"listenKey": key}) as kept:
                assert (kept.status, await kept.json()) == (200, {})
            async with session.ws_connect(f"{fake.ws_url}/{key}") as socket:
                await asyncio.to_thread(fake.wait_for_user_data)
                await asyncio.to_thread(exchange.place_order, order("k1"))
                events = [json.loads((await socket.receive(timeout=5)).data) for _ in range(2)]
                async with session.delete(f"{fake.url}/api/v3/userDataStream", params={"listenKey": key}) as ended:
                    assert ended.status == 200
                assert (await socket.receive(timeout=5)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            async with session.put(f"{fake.url}/api/v3/userDataStream", params={"listenKey": key}) as gone:
                assert (gone.status, (await gone.json())["code"]) == (400, -1125)
        return events

    new, traded = asyncio.run(follow())
    assert [(e["e"], e["c"], e["x"], e["X"]) for e in (new, traded)] == [
        ("executionReport", "k1", "NEW", "NEW"),
        ("executionReport", "k1", "TRADE", "FILLED"),
    ]
    assert (traded["l"], traded["L"], traded["t"], traded["N"]) == ("0.00100000", "30000.00000000", 5000, "USDT")


def test_close_ends_the_thread_and_the_connection(fake: BinanceFake, stream: BinanceOrderStream) -> None:
    assert fake.user_data_streams == 1
    stream.close()
    assert not stream.healthy() and stream.updates() == []
    eventually(lambda: fake.user_data_streams == 0)
    stream.close()  # twice is harmless
