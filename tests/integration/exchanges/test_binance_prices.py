"""BinanceFeed against the fake Binance server: a message that carries no real price on the ticker or the
aggregate-trade stream is refused, counted and the streams subscribed again at once; the feed goes on delivering
(before, NaN stopped ccxt's receive loop: the feed said connected and delivered nothing). Every trade of a
followed symbol reaches the feed, in order."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from robson.execution.adapters.binance import BinanceFeed
from tests.fakes.binance_server import BinanceFake

from .test_binance import TIMEOUT_MS, eventually

BAD_PRICES = ["0", "-5", "NaN", "Infinity", "-Infinity", "0E-8"]
MALFORMED = ["not json at all", '{"e": "24hrMiniTicker", "s": "BTCUSDT", "c": ', "[1, 2]", '{"s": "BTCUSDT"}']


@pytest.fixture
def fake() -> Iterator[BinanceFake]:
    with BinanceFake() as venue:
        yield venue


@pytest.fixture
def feed(fake: BinanceFake) -> Iterator[BinanceFeed]:
    stream = BinanceFeed(
        ["BTC/USDT", "ETH/USDT"], base_url=fake.url, ws_url=fake.ws_url, timeout_ms=TIMEOUT_MS, backoff=(5.0,)
    )
    stream.follow_trades(frozenset({"BTC/USDT"}))
    try:
        fake.wait_for_subscribers("BTCUSDT", kind="aggTrade")
        eventually(lambda: stream.connected)
        stream.poll()
        yield stream
    finally:
        stream.close()


def _ticker(price: str) -> dict[str, Any]:
    return {"e": "24hrMiniTicker", "E": 1, "s": "BTCUSDT", "c": price, "o": price, "h": price, "l": price}


def _trade(price: str) -> dict[str, Any]:
    return {"e": "aggTrade", "E": 1, "s": "BTCUSDT", "a": 7, "p": price, "q": "0.001", "T": 1}


def _after_a_real_move(fake: BinanceFake, feed: BinanceFeed, price: str) -> tuple[list[tuple[str, Decimal]], float]:
    """Move the market for real; collect what the feed hands out until that price arrives. Returns the ticks and
    the seconds it took."""
    started = time.monotonic()
    fake.set_price("BTCUSDT", price)
    ticks: list[tuple[str, Decimal]] = []

    def arrived() -> bool:
        ticks.extend(feed.poll())
        return ("BTC/USDT", Decimal(price)) in ticks

    eventually(arrived, timeout=4.0)  # the stale-feed fallback would take 30 s
    return ticks, time.monotonic() - started


def _socket_delivers_again(fake: BinanceFake, feed: BinanceFeed) -> None:
    """The websocket itself delivers again (not only the REST fallback): the market moves until a socket tick has
    come. The first move may reach only the old connection while the new one subscribes, hence more than one."""
    for step in range(40):
        fake.set_price("BTCUSDT", str(29000 + step + 1))
        sent = time.monotonic()
        while not feed.connected and time.monotonic() - sent < 0.1:
            time.sleep(0.01)
        if feed.connected:
            return
    raise AssertionError("the websocket never delivered again")


def refused_after(fake: BinanceFake, feed: BinanceFeed, kind: str, message: str | dict[str, Any]) -> None:
    """Send the message until the feed has refused it: a stream being subscribed again may miss one sent while
    its old connection closes (polling real state with a deadline)."""
    refused, deadline = feed.malformed, time.monotonic() + 4.0
    while feed.malformed == refused:
        assert time.monotonic() < deadline, "the feed never refused the message"
        fake.send_raw("BTCUSDT", kind, message)
        sent = time.monotonic()
        while feed.malformed == refused and time.monotonic() - sent < 0.25:
            time.sleep(0.01)


@pytest.mark.parametrize("kind", ["miniTicker", "aggTrade"])
@pytest.mark.parametrize("bad", BAD_PRICES)
def test_a_price_that_is_no_real_price_is_refused_and_the_stream_keeps_delivering(
    fake: BinanceFake, feed: BinanceFeed, kind: str, bad: str
) -> None:
    refused_after(fake, feed, kind, _ticker(bad) if kind == "miniTicker" else _trade(bad))

    ticks, _ = _after_a_real_move(fake, feed, "29000")

    assert all(price > 0 and price.is_finite() for _, price in ticks)
    assert feed.resubscribes >= 1
    _socket_delivers_again(fake, feed)
    refused = feed.refused()
    assert refused and all(bad in reason for reason in refused)
    assert feed.refused() == []  # each handed out once


@pytest.mark.parametrize("kind", ["miniTicker", "aggTrade"])
@pytest.mark.parametrize("message", MALFORMED)
def test_a_malformed_message_is_refused_and_the_stream_keeps_delivering(
    fake: BinanceFake, feed: BinanceFeed, kind: str, message: str
) -> None:
    refused_after(fake, feed, kind, message)

    ticks, _ = _after_a_real_move(fake, feed, "29000")

    assert ("BTC/USDT", Decimal("29000")) in ticks
    assert feed.resubscribes >= 1 and feed.refused()


@pytest.mark.parametrize("field", ["c", "s"])
def test_a_ticker_missing_its_price_or_symbol_is_refused(fake: BinanceFake, feed: BinanceFeed, field: str) -> None:
    event = _ticker("30000")
    del event[field]
    refused_after(fake, feed, "miniTicker", json.dumps(event))
    ticks, _ = _after_a_real_move(fake, feed, "29000")
    assert ("BTC/USDT", Decimal("29000")) in ticks


def test_every_trade_of_a_followed_symbol_arrives_in_order_wicks_included(fake: BinanceFake, feed: BinanceFeed) -> None:
    for price in ("30000.5", "28000", "30001"):  # a wick down and back between two ticker samples
        fake.send_raw("BTCUSDT", "aggTrade", _trade(price))
    ticks: list[tuple[str, Decimal]] = []

    def arrived() -> bool:
        ticks.extend(feed.poll())
        return ("BTC/USDT", Decimal("30001")) in ticks

    eventually(arrived)
    prices = [price for symbol, price in ticks if symbol == "BTC/USDT"]
    assert prices == [Decimal("30000.5"), Decimal("28000"), Decimal("30001")]
    assert feed.malformed == 0


def test_following_another_symbol_subscribes_its_trades(fake: BinanceFake, feed: BinanceFeed) -> None:
    feed.follow_trades(frozenset({"BTC/USDT", "ETH/USDT"}))
    fake.wait_for_subscribers("ETHUSDT", kind="aggTrade")
    fake.send_raw("ETHUSDT", "aggTrade", {**_trade("1990"), "s": "ETHUSDT"})
    ticks: list[tuple[str, Decimal]] = []

    def arrived() -> bool:
        ticks.extend(feed.poll())
        return ("ETH/USDT", Decimal("1990")) in ticks

    eventually(arrived)
