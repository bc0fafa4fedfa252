"""robson run syncs with the venue on every pass: what rests there unchanged costs one listing per symbol, not a
request per order (two per protected position), and the account is read to mark to market after a change or every
few seconds, not on every pass: a venue's request weights would soon refuse or throttle that."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import timedelta
from decimal import Decimal as D

from robson import bootstrap
from robson.clock import ManualClock
from robson.domain.operation import CloseReason, OperationStatus
from robson.domain.orders import OrderRole
from robson.monitor.loop import Monitor
from robson.ports import Balance, ExchangePort, OrderReport, Retryable
from robson.services import following, planning

from .test_monitor import _open


class Counting:
    """The paper venue, counting the requests that ask about orders."""

    def __init__(self, inner: ExchangePort) -> None:
        self.inner, self.calls = inner, Counter[str]()
        self.listing_fails = False
        self.name, self.capabilities = inner.name, inner.capabilities

    def __getattr__(self, attribute: str) -> object:
        return getattr(self.inner, attribute)

    def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        self.calls["get_order"] += 1
        return self.inner.get_order(symbol, client_order_id)

    def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        self.calls["open_orders"] += 1
        if self.listing_fails:
            raise Retryable("read timed out")
        return self.inner.open_orders(symbol)

    def balances(self) -> dict[str, Balance]:
        self.calls["balances"] += 1
        return self.inner.balances()


class Ticks:
    """A feed with one tick per poll."""

    def __init__(self, price: D) -> None:
        self.price = price

    def poll(self) -> list[tuple[str, D]]:
        return [("BTC/USDT", self.price)]


def _three_protected(app: bootstrap.App) -> list[int]:
    app.market.reset({"USDT": D(100000)})
    return [_open(app, stop=D(80000) - i) for i in range(3)]


def test_protection_resting_unchanged_costs_one_listing_per_symbol(app: bootstrap.App) -> None:
    opened = _three_protected(app)
    venue = Counting(app.context.exchange)
    ctx = dataclasses.replace(app.context, exchange=venue)

    assert following.sync(ctx, enforce_policy=False) == []
    assert venue.calls == {"open_orders": 1}  # not 6 requests, one per resting leg
    assert all(planning.load(ctx, op).is_protected for op in opened)


def test_a_listing_that_fails_falls_back_to_asking_about_each_order(app: bootstrap.App) -> None:
    opened = _three_protected(app)
    venue = Counting(app.context.exchange)
    venue.listing_fails = True
    ctx = dataclasses.replace(app.context, exchange=venue)

    assert following.sync(ctx, enforce_policy=False) == []  # the pass goes on
    assert venue.calls["get_order"] == 6  # both legs of each, as before the listing
    assert all(planning.load(ctx, op).is_protected for op in opened)


def test_only_the_orders_that_changed_are_asked_about(app: bootstrap.App) -> None:
    opened = _three_protected(app)
    stop = planning.load(app.context, opened[0]).open_orders(OrderRole.STOP)[0]
    app.context.exchange.cancel_order("BTC/USDT", stop.client_order_id)  # gone from the venue behind our back
    venue = Counting(app.context.exchange)
    ctx = dataclasses.replace(app.context, exchange=venue)

    outcomes = following.sync(ctx, enforce_policy=False)

    assert [o.operation.id for o in outcomes] == [opened[0]]  # re-protected within the pass
    assert planning.load(ctx, opened[0]).is_protected
    assert venue.calls["get_order"] <= 4  # its two legs (and the OCO's sibling when cancelling), no one else's


def test_a_target_filled_on_the_venue_is_still_seen_in_one_pass(app: bootstrap.App) -> None:
    opened = _three_protected(app)
    targets = [planning.load(app.context, op).target_price for op in opened]
    app.market.push_price("BTC/USDT", max(t for t in targets if t is not None) + 100)  # every target fills there
    outcomes = following.sync(app.context, enforce_policy=False)

    assert sorted(o.operation.id for o in outcomes if o.operation.id is not None) == opened
    for operation_id in opened:
        op = planning.load(app.context, operation_id)
        assert (op.status, op.close_reason) == (OperationStatus.CLOSED, CloseReason.TAKE_PROFIT)


def test_run_marks_to_market_after_a_change_or_every_few_seconds_not_on_every_pass(
    app: bootstrap.App, clock: ManualClock
) -> None:
    _three_protected(app)
    venue = Counting(app.context.exchange)
    monitor = Monitor(dataclasses.replace(app.context, exchange=venue), Ticks(D(90100)), mark_seconds=D(5))
    monitor.recover()
    venue.calls.clear()

    for _ in range(10):  # ten passes within a second, nothing changing
        clock.advance(timedelta(milliseconds=100))
        monitor.poll_once()
    assert venue.calls["balances"] == 1  # the first pass marks; the next nine are within 5 s
    assert venue.calls["open_orders"] == 10 and venue.calls["get_order"] == 0  # each pass still syncs

    clock.advance(timedelta(seconds=5))
    monitor.poll_once()
    assert venue.calls["balances"] == 2
