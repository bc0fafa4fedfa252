"""robson run keeps watching through venue faults: a feed or a venue that fails is tried again at the next pass,
alerted once per run of faults; only a fatal error other than a ban (nothing will work) ends the watch."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal as D

import pytest

from robson import bootstrap
from robson.domain.operation import CloseReason, OperationStatus
from robson.monitor.loop import Monitor
from robson.notify.log import LogNotifier
from robson.ports import (
    Banned,
    ExchangeError,
    ExchangePort,
    Fatal,
    InsufficientFunds,
    OrderReport,
    OrderRequest,
    Retryable,
)
from robson.services import planning

from .test_monitor import _open


class Flaky:
    """A feed that fails with the given errors first, then gives these ticks once."""

    def __init__(self, errors: list[ExchangeError], ticks: list[tuple[str, D]]) -> None:
        self.errors, self.ticks = errors, ticks
        self.polls = 0

    def poll(self) -> list[tuple[str, D]]:
        self.polls += 1
        if self.errors:
            raise self.errors.pop(0)
        ticks, self.ticks = self.ticks, []
        return ticks


def _after(passes: int, feed: Flaky) -> Callable[[], bool]:
    return lambda: feed.polls >= passes


def _codes(app: bootstrap.App) -> list[str]:
    notifier = app.context.notifier
    assert isinstance(notifier, LogNotifier)
    return [alert.code for alert in notifier.sent]


def test_a_failing_feed_does_not_end_the_watch_and_the_stop_is_still_taken(internal: bootstrap.App) -> None:
    operation_id = _open(internal)
    assert internal.market is not None
    internal.market.push_price("BTC/USDT", D(88000))
    feed = Flaky([Retryable("read timed out"), Retryable("503 Service Unavailable")], [("BTC/USDT", D(88000))])
    Monitor(internal.context, feed).run(_after(4, feed), poll_seconds=0)

    op = planning.load(internal.context, operation_id)
    assert (op.status, op.close_reason) == (OperationStatus.CLOSED, CloseReason.STOP_LOSS)
    assert _codes(internal).count("VENUE_UNREACHABLE") == 1  # one alert for the run of faults


def test_a_ban_is_alerted_once_and_the_watch_goes_on(internal: bootstrap.App) -> None:
    operation_id = _open(internal)
    bans: list[ExchangeError] = [Banned("HTTP 418", retry_after=120) for _ in range(3)]
    feed = Flaky(bans, [])
    Monitor(internal.context, feed).run(_after(5, feed), poll_seconds=0)

    assert _codes(internal).count("VENUE_BANNED") == 1
    assert planning.load(internal.context, operation_id).status is OperationStatus.ACTIVE


def test_a_fatal_error_ends_the_watch(internal: bootstrap.App) -> None:
    _open(internal)
    feed = Flaky([Fatal("Binance refused the API key")], [])
    with pytest.raises(Fatal, match="refused the API key"):
        Monitor(internal.context, feed).run(_after(10, feed), poll_seconds=0)


class RefusesExitsOf:
    """The paper venue, refusing every exit order of one operation (a venue-side problem with that one)."""

    def __init__(self, inner: ExchangePort, operation_id: int) -> None:
        self.inner, self.prefix = inner, f"rb{operation_id}-x"
        self.name, self.capabilities = inner.name, inner.capabilities

    def __getattr__(self, attribute: str) -> object:
        return getattr(self.inner, attribute)

    def place_order(self, request: OrderRequest) -> OrderReport:
        if request.client_order_id.startswith(self.prefix):
            raise InsufficientFunds("Account has insufficient balance for requested action.")
        return self.inner.place_order(request)


def test_one_refused_exit_does_not_hold_back_the_others_and_is_tried_again(internal: bootstrap.App) -> None:
    first, second = _open(internal, stop=D(88300)), _open(internal, stop=D(88200))
    ctx = dataclasses.replace(internal.context, exchange=RefusesExitsOf(internal.context.exchange, first))
    monitor = Monitor(ctx, Flaky([], []))
    monitor.recover()
    assert internal.market is not None
    for price in (D(88000), D(87900)):  # two ticks through both stops
        internal.market.push_price("BTC/USDT", price)
        monitor.on_tick("BTC/USDT", price)

    assert planning.load(ctx, second).status is OperationStatus.CLOSED
    refused = planning.load(ctx, first)
    assert refused.status is OperationStatus.ACTIVE and not refused.position.is_flat
    assert first in monitor.index  # still watched: the next crossing tick tries again
    exits_sent = [o for o in refused.orders if o.client_order_id.startswith(f"rb{first}-x")]
    assert len(exits_sent) == 2  # one per crossing tick, each refused and recorded
    assert _codes(internal).count("EXIT_FAILED") == 1
