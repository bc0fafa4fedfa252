"""No price moves anything unless it is a real price: the monitor refuses NaN, infinities, zero, negatives and
prices outside the instrument's filter; a jump beyond the band is held as suspect until confirmed; nothing about a
price ends robson run."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D
from typing import Any

import pytest

from robson import bootstrap
from robson.config import Settings
from robson.domain.operation import CloseReason, OperationStatus
from robson.monitor.loop import Monitor
from robson.notify.log import LogNotifier
from robson.services import following, planning

from .test_monitor import _open


def _codes(app: bootstrap.App) -> list[str]:
    notifier = app.context.notifier
    assert isinstance(notifier, LogNotifier)
    return [alert.code for alert in notifier.sent]


class Scripted:
    """A feed that hands out one batch of ticks per poll, then nothing."""

    def __init__(self, *batches: list[tuple[str, D]]) -> None:
        self.batches = list(batches)
        self.polls = 0

    def poll(self) -> list[tuple[str, D]]:
        self.polls += 1
        return self.batches.pop(0) if self.batches else []


@pytest.mark.parametrize("bad", ["Infinity", "-Infinity", "1E+30", "0", "-5", "0.001", "1E+7"])
def test_a_tick_that_is_no_real_price_closes_nothing(internal: bootstrap.App, bad: str) -> None:
    operation_id = _open(internal)  # long at 90,000, stop 88,200, target 93,600
    monitor = Monitor(internal.context, internal.feed)
    monitor.recover()

    assert monitor.on_tick("BTC/USDT", D(bad)) == []

    op = planning.load(internal.context, operation_id)
    assert op.status is OperationStatus.ACTIVE and op.position.quantity > 0
    assert operation_id in monitor.index
    assert _codes(internal).count("PRICE_REFUSED") == 1
    assert monitor.refused_prices == 1


def test_a_nan_tick_does_not_end_robson_run_and_the_next_real_crossing_exits(internal: bootstrap.App) -> None:
    operation_id = _open(internal)
    assert internal.market is not None
    internal.market.push_price("BTC/USDT", D(88000))  # the venue really moved through the stop
    feed = Scripted([("BTC/USDT", D("NaN"))], [("BTC/USDT", D("sNaN"))], [("BTC/USDT", D(88000))])
    monitor = Monitor(internal.context, feed)

    monitor.run(lambda: feed.polls >= 4, poll_seconds=0)

    op = planning.load(internal.context, operation_id)
    assert (op.status, op.close_reason) == (OperationStatus.CLOSED, CloseReason.STOP_LOSS)
    assert monitor.refused_prices == 2
    assert _codes(internal).count("PRICE_REFUSED") == 1  # once until a real price came


def test_a_jump_beyond_the_band_the_venue_does_not_confirm_is_held_and_moves_nothing(internal: bootstrap.App) -> None:
    operation_id = _open(internal)
    monitor = Monitor(internal.context, internal.feed)
    monitor.recover()

    assert monitor.on_tick("BTC/USDT", D(72000)) == []  # 20% down; the venue still says 90,000
    assert monitor.on_tick("BTC/USDT", D(99500)) == []  # 10.6% up, past the target: suspect too
    assert monitor.on_tick("BTC/USDT", D(90100)) == []  # back with the market

    assert planning.load(internal.context, operation_id).status is OperationStatus.ACTIVE
    assert _codes(internal).count("PRICE_SUSPECT") == 2  # once per suspect price the venue did not confirm


def test_a_real_crash_beyond_the_band_is_confirmed_by_the_venue_and_exits(internal: bootstrap.App) -> None:
    operation_id = _open(internal)
    monitor = Monitor(internal.context, internal.feed)
    monitor.recover()
    assert internal.market is not None
    internal.market.push_price("BTC/USDT", D(72000))  # the venue's own last price says so too

    outcomes = monitor.on_tick("BTC/USDT", D(72000))

    assert [(o.operation.id, o.operation.close_reason) for o in outcomes] == [(operation_id, CloseReason.STOP_LOSS)]
    assert _codes(internal).count("PRICE_SUSPECT") == 1


def test_robson_price_refuses_what_is_no_price_and_stores_nothing(app: bootstrap.App) -> None:
    assert app.market is not None
    following.push_price(app.context, app.market, "BTC/USDT", D(90000))
    for bad in ("0", "-1", "1E+20", "1E+30", "Infinity", "NaN", "0.001"):
        with pytest.raises(Exception) as refused:
            following.push_price(app.context, app.market, "BTC/USDT", D(bad))
        assert "price" in str(refused.value)
    assert app.context.exchange.last_price("BTC/USDT") == D(90000)


def test_the_band_is_the_configured_one(internal: bootstrap.App, database_url: str, database_target: Any) -> None:
    operation_id = _open(internal)
    wide = Monitor(dataclasses.replace(internal.context, price_band_percent=D(25)), internal.feed)
    wide.recover()
    outcomes = wide.on_tick("BTC/USDT", D(72000))  # 20%: within a 25% band, acted on at once
    assert [o.operation.id for o in outcomes] == [operation_id]
    assert "PRICE_SUSPECT" not in _codes(internal)

    settings = Settings(monitor_price_band_percent=D(5), monitor_price_band_seconds=D(30))
    built = bootstrap.build(database_url, schema=database_target.schema, settings=settings)
    try:
        guard = Monitor(built.context, built.feed).prices
        assert (guard.band_percent, guard.window_seconds) == (D(5), D(30))
    finally:
        built.close()
