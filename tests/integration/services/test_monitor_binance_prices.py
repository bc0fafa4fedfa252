"""The monitor over the fake Binance on 127.0.0.1 with an internally protected operation: bad prices on the ticker
and the aggregate-trade streams move nothing and are alerted; the stream goes on delivering, so a real move through
the stop right after is acted on at once (not after the 30 s stale-feed fallback); a wick seen only on the trade
stream is acted on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest

from robson import bootstrap
from robson.config import ExitSettings, Settings
from robson.domain.operation import CloseReason, OperationStatus
from robson.domain.values import Side
from robson.execution.adapters.binance import BinanceFeed
from robson.monitor.loop import Monitor
from robson.notify.log import LogNotifier
from robson.services import commands, planning
from robson.services.working import Outcome
from tests.fakes.binance_server import BinanceFake
from tests.integration.exchanges.test_binance_prices import refused_after

KEY, SECRET = "monitor-prices-key", "monitor-prices-secret"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[BinanceFake]:
    monkeypatch.setenv("ROBSON_BINANCE_API_KEY", KEY)
    monkeypatch.setenv("ROBSON_BINANCE_API_SECRET", SECRET)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    with BinanceFake(balances={"USDT": "10000"}, prices={"BTCUSDT": "30000.00"}, api_key=KEY) as venue:
        yield venue


@pytest.fixture
def app(fake: BinanceFake, database_url: str, database_target: Any) -> Iterator[bootstrap.App]:
    settings = Settings(
        exchange="binance",
        binance={"base_url": fake.url, "ws_url": fake.ws_url, "symbols": ["BTC/USDT"]},  # type: ignore[arg-type]
        exits={"default": ExitSettings(mode="internal")},
    )
    built = bootstrap.build(database_url, schema=database_target.schema, settings=settings, notifier=LogNotifier())
    try:
        yield built
    finally:
        built.close()


def _watching(fake: BinanceFake, app: bootstrap.App) -> tuple[Monitor, int]:
    planned = planning.plan(app.context, "BTC/USDT", Side.LONG, D(30000), D(29400))
    assert planned.operation.id is not None
    commands.execute(app.context, planned.operation.id)
    monitor = Monitor(app.context, app.feed)
    monitor.recover()  # tells the feed to follow BTC/USDT trade by trade
    fake.wait_for_subscribers("BTCUSDT", kind="aggTrade")
    feed = app.feed
    assert isinstance(feed, BinanceFeed)
    _until(lambda: feed.connected and (monitor.poll_once() or True))
    return monitor, planned.operation.id


def _until(check: Any, timeout: float = 4.0) -> float:
    """Poll real state until the check holds; the seconds it took (the stale fallback would need 30)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, "not before the deadline"
        time.sleep(0.01)
    return time.monotonic() - started


def _codes(app: bootstrap.App) -> list[str]:
    notifier = app.context.notifier
    assert isinstance(notifier, LogNotifier)
    return [alert.code for alert in notifier.sent]


def _ticker(price: str) -> dict[str, Any]:
    return {"e": "24hrMiniTicker", "E": 1, "s": "BTCUSDT", "c": price, "o": price, "h": price, "l": price}


def _trade(price: str) -> dict[str, Any]:
    return {"e": "aggTrade", "E": 1, "s": "BTCUSDT", "a": 9, "p": price, "q": "0.001", "T": 1}


def test_bad_prices_on_both_streams_move_nothing_and_a_real_crossing_right_after_exits(
    fake: BinanceFake, app: bootstrap.App
) -> None:
    monitor, operation_id = _watching(fake, app)
    feed = app.feed
    assert isinstance(feed, BinanceFeed)
    bad: list[tuple[str, str | dict[str, Any]]] = [
        ("miniTicker", _ticker("0")),
        ("aggTrade", _trade("-5")),
        ("miniTicker", _ticker("NaN")),
        ("aggTrade", _trade("Infinity")),
        ("aggTrade", "not json"),
    ]
    for kind, message in bad:
        refused_after(fake, feed, kind, message)
        monitor.poll_once()
    assert planning.load(app.context, operation_id).status is OperationStatus.ACTIVE

    outcomes: list[Outcome] = []
    fake.set_price("BTCUSDT", "29300")  # a real move through the stop at 29,400

    def exited() -> bool:
        outcomes.extend(monitor.poll_once())
        return any(o.operation.status is OperationStatus.CLOSED for o in outcomes)

    _until(exited)
    op = planning.load(app.context, operation_id)
    assert (op.status, op.close_reason) == (OperationStatus.CLOSED, CloseReason.STOP_LOSS)
    assert "FEED_MALFORMED" in _codes(app) and "PRICE_REFUSED" not in _codes(app)  # refused at the feed already
    assert monitor.malformed_messages == feed.malformed >= len(bad)


def test_a_wick_seen_only_on_the_trade_stream_is_acted_on(fake: BinanceFake, app: bootstrap.App) -> None:
    monitor, operation_id = _watching(fake, app)
    for price in ("29350", "30010"):  # down through the stop and back between two ticker samples
        fake.send_raw("BTCUSDT", "aggTrade", _trade(price))
    outcomes: list[Outcome] = []

    def exited() -> bool:
        outcomes.extend(monitor.poll_once())
        return bool(outcomes)

    _until(exited)
    op = planning.load(app.context, operation_id)
    assert (op.status, op.close_reason) == (OperationStatus.CLOSED, CloseReason.STOP_LOSS)
