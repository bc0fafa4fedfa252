"""The composition root on each venue: Binance and Alpaca built from the settings and the keys in the environment,
against their fakes on 127.0.0.1. The lot rules the sizing uses come from the venue; the paper market is absent."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from robson import bootstrap
from robson.config import Settings
from robson.domain.errors import InvalidValue
from robson.domain.orders import OrderStatus, OrderType
from robson.domain.values import OrderSide
from robson.execution.adapters.binance import BinanceExchange, BinanceFeed, BinanceOrderStream
from robson.execution.adapters.faults import CrashAfterExitSent
from robson.execution.adapters.polling_feed import PollingFeed
from robson.ports import OrderReport, OrderRequest
from tests.fakes.alpaca_server import FAKE_KEY_ID, FAKE_SECRET_KEY, AlpacaFake
from tests.fakes.binance_server import BinanceFake

KEY, SECRET = "bootstrap-test-key", "bootstrap-test-secret"


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        time.sleep(0.02)


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.delenv("ROBSON_CONFIG", raising=False)
    monkeypatch.setenv("ROBSON_DATA_DIR", str(tmp_path))
    return f"sqlite:///{tmp_path / 'robson.db'}"


@pytest.fixture
def binance(monkeypatch: pytest.MonkeyPatch) -> Iterator[BinanceFake]:
    monkeypatch.setenv("ROBSON_BINANCE_API_KEY", KEY)
    monkeypatch.setenv("ROBSON_BINANCE_API_SECRET", SECRET)
    with BinanceFake(api_key=KEY) as fake:
        yield fake


def binance_settings(fake: BinanceFake, **values: object) -> Settings:
    venue = {"base_url": fake.url, "ws_url": fake.ws_url, "symbols": ["BTC/USDT", "SOL/USDT"]}
    return Settings(exchange="binance", binance=venue, **values)  # type: ignore[arg-type]


def test_binance_is_the_venue_its_filters_size_and_its_websocket_feeds(binance: BinanceFake, url: str) -> None:
    app = bootstrap.build(url, settings=binance_settings(binance))
    try:
        assert isinstance(app.context.exchange, BinanceExchange) and app.market is None
        btc = app.context.instrument("BTC/USDT")  # from the venue's exchangeInfo, not from the paper defaults
        assert (btc.tick_size, btc.step_size, btc.min_notional) == (D("0.01"), D("0.00001"), D("5"))
        assert not binance.requests_to("POST /api/v3/order")
        with pytest.raises(InvalidValue, match="works on the paper exchange only; the venue is binance"):
            app.paper_market("robson price")
        feed = app.feed
        assert isinstance(feed, BinanceFeed) and feed.symbols == ["BTC/USDT"]  # SOL/USDT is not listed there
        binance.wait_for_subscribers("BTCUSDT")
        eventually(lambda: feed.connected)  # the first ticker came over the socket
        ticks: list[tuple[str, D]] = []
        binance.set_price("BTCUSDT", "31234.56")

        def streamed() -> bool:
            ticks.extend(feed.poll())
            return ("BTC/USDT", D("31234.56")) in ticks

        eventually(streamed)
    finally:
        app.close()
    assert not feed.connected  # close() ended the stream


def test_binance_pushes_its_order_updates_and_the_other_venues_push_none(binance: BinanceFake, url: str) -> None:
    app = bootstrap.build(url, settings=binance_settings(binance))
    try:
        stream = app.order_stream
        assert isinstance(stream, BinanceOrderStream) and app.order_stream is stream  # opened once, on first use
        eventually(stream.healthy)
        assert binance.requests_to("WS userDataStream.subscribe.signature")  # on the fake, beside its ws_url
        request = OrderRequest("boot-1", "BTC/USDT", OrderSide.BUY, OrderType.MARKET, D("0.001"))
        app.context.exchange.place_order(request)
        reports: list[OrderReport] = []
        eventually(lambda: bool(reports.extend(stream.updates())) or OrderStatus.FILLED in [r.status for r in reports])
    finally:
        app.close()
    assert not stream.healthy()  # close() ended it
    for quiet in (bootstrap.build(url), bootstrap.build(url, settings=binance_settings(binance), offline=True)):
        try:
            assert quiet.open_order_stream is None and quiet.order_stream is None  # paper, a read-only command
        finally:
            quiet.close()


def test_the_crash_drill_wraps_any_venue(binance: BinanceFake, url: str) -> None:
    app = bootstrap.build(url, settings=binance_settings(binance, crash_after_exit_sent=True))
    try:
        assert isinstance(app.context.exchange, CrashAfterExitSent)
        assert app.context.exchange.name == "binance"
    finally:
        app.close()


def test_alpaca_is_the_venue_and_its_last_prices_are_polled(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROBSON_ALPACA_API_KEY", FAKE_KEY_ID)
    monkeypatch.setenv("ROBSON_ALPACA_API_SECRET", FAKE_SECRET_KEY)
    with AlpacaFake(symbols=("AAPL", "MSFT")) as fake:
        fake.set_price("AAPL", D("150.37"))
        fake.set_price("MSFT", D("400.00"))
        venue = {"base_url": fake.url, "symbols": ["AAPL/USD", "MSFT/USD"], "poll_seconds": "0.2"}
        app = bootstrap.build(url, settings=Settings(exchange="alpaca", alpaca=venue))  # type: ignore[arg-type]
        try:
            assert app.context.exchange.name == "alpaca" and app.context.quote == "USD" and app.market is None
            aapl = app.context.instrument("AAPL/USD")
            assert (aapl.tick_size, aapl.step_size) == (D("0.01"), D("1"))
            feed = app.feed
            assert isinstance(feed, PollingFeed) and app.order_stream is None  # Alpaca's trade updates: not yet
            assert feed.poll() == [("AAPL/USD", D("150.37")), ("MSFT/USD", D("400.00"))]
        finally:
            app.close()
