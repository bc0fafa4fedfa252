"""Another process writes an operation while the monitor is deciding on it (robson price, sync, reconcile, close):
the monitor reads it again and decides again. It never ends the watch, and nothing is done twice."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal as D
from typing import Any

import pytest

from robson import bootstrap
from robson.domain.errors import ConcurrentChange
from robson.domain.operation import CloseReason, OperationStatus
from robson.domain.orders import OrderRole
from robson.domain.values import Side
from robson.monitor.loop import Monitor
from robson.ports import ExchangePort, OrderReport, OrderRequest
from robson.services import commands, exits, following, planning, trading
from tests.integration.services.conftest import AppFactory
from tests.integration.services.test_monitor import _open


class Meddled:
    """The venue, with another process writing the ledger while this one waits for an order's answer (a slow
    order look-up on a real venue): `meddle` runs once, on the first look-up."""

    def __init__(self, inner: ExchangePort, meddle: Callable[[], object]) -> None:
        self.inner, self.meddle = inner, meddle
        self.name, self.capabilities = inner.name, inner.capabilities
        self.meddled = 0

    def __getattr__(self, attribute: str) -> object:
        return getattr(self.inner, attribute)

    def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        report = self.inner.get_order(symbol, client_order_id)
        if not self.meddled:
            self.meddled += 1
            self.meddle()
        return report


def _monitor(app: bootstrap.App, meddle: Callable[[], object]) -> tuple[Monitor, Meddled]:
    venue = Meddled(app.context.exchange, meddle)
    return Monitor(dataclasses.replace(app.context, exchange=venue), app.feed), venue


def test_a_fill_another_process_booked_first_is_taken_as_it_is(app: bootstrap.App, make_app: AppFactory) -> None:
    operation_id = _open(app)
    other = make_app()  # robson sync in another process, on the same ledger and paper account
    monitor, venue = _monitor(app, lambda: following.sync(other.context))
    monitor.recover()
    other.market.push_price("BTC/USDT", D(88000))  # the venue's stop fills

    monitor.poll_once()  # while it asks about the stop, the other process books the same fill

    assert venue.meddled == 1
    op = planning.load(app.context, operation_id)
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.STOP_LOSS
    assert len([f for f in op.fills if f.side.value == "SELL"]) == 1  # booked once, by whoever came first
    assert operation_id not in monitor.index
    monitor.poll_once()  # and the watch goes on


class MeddledExit(Meddled):
    """The venue, with another process writing the ledger right after it took an order (before this one heard)."""

    def place_order(self, request: OrderRequest) -> OrderReport:
        report = self.inner.place_order(request)
        if not self.meddled:
            self.meddled += 1
            self.meddle()
        return report


def test_an_internal_exit_another_process_booked_first_is_no_failure(
    internal: bootstrap.App, make_internal: AppFactory
) -> None:
    operation_id = _open(internal)
    other = make_internal()  # robson sync in another process: it finds the exit on the venue and books it
    venue = MeddledExit(internal.context.exchange, lambda: following.sync(other.context))
    monitor = Monitor(dataclasses.replace(internal.context, exchange=venue), internal.feed)
    monitor.recover()
    internal.market.push_price("BTC/USDT", D(88000))  # through the internal stop

    outcomes = monitor.poll_once()

    assert venue.meddled == 1
    op = planning.load(internal.context, operation_id)
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.STOP_LOSS
    assert [o.role for o in op.orders].count(OrderRole.EXIT) == 1  # one exit, booked once
    assert monitor.failed_exits == set()  # it went out and was booked: not an EXIT_FAILED
    assert operation_id in [o.operation.id for o in outcomes]
    assert operation_id not in monitor.index


def test_a_conflict_in_any_step_is_survived_and_decided_again(internal: bootstrap.App) -> None:
    operation_id = _open(internal)
    monitor = Monitor(internal.context, internal.feed)
    monitor.recover()
    internal.market.push_price("BTC/USDT", D(88000))  # through the internal stop
    spent = monitor.feed.poll()  # the tick is spent on a pass that another process's write interrupts

    def interrupted() -> None:
        raise ConcurrentChange(f"operation {operation_id} was changed by another process since it was read")

    assert monitor.survive(interrupted) is None  # no exception: the watch goes on
    monitor.last_prices.update(spent)
    outcomes = monitor.poll_once()  # no new tick: the last price is evaluated again on the operation read again

    op = planning.load(internal.context, operation_id)
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.STOP_LOSS
    assert [o.operation.id for o in outcomes] == [operation_id]
    assert [o.role for o in op.orders].count(OrderRole.EXIT) == 1


def test_the_ticks_a_conflict_cut_short_are_acted_on_at_the_next_pass(
    internal: bootstrap.App, make_internal: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One pass reads BTC through its stop and ETH through its stop; another process writes the BTC operation as
    its exit is decided (raised before anything was sent). The ETH tick was read but not acted on: it is taken at
    the next pass, not lost (before, ETH waited for the stale-feed fallback, 30 s on)."""
    btc = _open(internal)
    following.push_price(internal.context, internal.market, "ETH/USDT", D(3000))
    eth = planning.plan(internal.context, "ETH/USDT", Side.LONG, D(3000), D(2940)).operation.id
    assert eth is not None
    commands.execute(internal.context, eth)
    monitor = Monitor(internal.context, internal.feed)
    monitor.recover()
    triggered = exits.trigger

    def conflicted_once(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(exits, "trigger", triggered)
        raise ConcurrentChange(f"operation {btc} was changed by another process")

    monkeypatch.setattr(exits, "trigger", conflicted_once)
    pusher = make_internal()
    assert pusher.market is not None
    following.push_price(pusher.context, pusher.market, "BTC/USDT", D(88000))
    following.push_price(pusher.context, pusher.market, "ETH/USDT", D(2900))

    assert monitor.survive(monitor.poll_once) is None  # the conflict: the watch goes on
    monitor.poll_once()

    for operation_id in (btc, eth):
        op = planning.load(internal.context, operation_id)
        assert (op.status, op.close_reason) == (OperationStatus.CLOSED, CloseReason.STOP_LOSS), operation_id
    assert not monitor.backlog


def test_an_operation_opened_by_another_process_during_a_pass_meets_that_passs_prices(
    internal: bootstrap.App, make_internal: AppFactory
) -> None:
    """The monitor's index predates the operation (opened by another process after the last rebuild); the pass's
    ticks go through its target before the pass rebuilds. After the rebuild, the last accepted price is evaluated
    for the new operation alone: its exit is not left to the next tick, which may never come."""
    _open(internal)
    monitor = Monitor(internal.context, internal.feed)
    monitor.recover()
    other = make_internal()
    assert other.market is not None
    following.push_price(other.context, other.market, "ETH/USDT", D(3000))
    eth = planning.plan(other.context, "ETH/USDT", Side.LONG, D(3000), D(2940), target=D(3120)).operation.id
    assert eth is not None
    commands.execute(other.context, eth)
    following.push_price(other.context, other.market, "ETH/USDT", D(3130))  # through the target, then quiet

    outcomes = monitor.poll_once()

    op = planning.load(internal.context, eth)
    assert (op.status, op.close_reason) == (OperationStatus.CLOSED, CloseReason.TAKE_PROFIT)
    assert eth in {outcome.operation.id for outcome in outcomes}


def test_an_exit_another_process_keeps_getting_in_the_way_of_is_decided_again_without_a_new_tick(
    internal: bootstrap.App, make_internal: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The target is crossed once and the market stays there; the exit conflicts with other processes (robson
    sync, price) on both its tries. The next pass decides again on the last price: the exit is made, with no new
    tick needed (before, it waited for a tick that never came)."""
    operation_id = _open(internal)
    monitor = Monitor(internal.context, internal.feed)
    monitor.recover()
    alone = exits._exit_alone
    tries: list[int] = []

    def conflicted_twice(*args: Any, **kwargs: Any) -> Any:
        tries.append(1)
        if len(tries) <= 2:
            raise ConcurrentChange(f"operation {operation_id} was changed by another process")
        return alone(*args, **kwargs)

    monkeypatch.setattr(exits, "_exit_alone", conflicted_twice)
    pusher = make_internal()
    assert pusher.market is not None
    following.push_price(pusher.context, pusher.market, "BTC/USDT", D(93700))  # through the target, then quiet

    monitor.survive(monitor.poll_once)
    assert planning.load(internal.context, operation_id).status is OperationStatus.ACTIVE
    monitor.survive(monitor.poll_once)

    op = planning.load(internal.context, operation_id)
    assert (op.status, op.close_reason) == (OperationStatus.CLOSED, CloseReason.TAKE_PROFIT)
    assert len(tries) == 3


def test_an_exit_another_process_finished_meanwhile_is_reported_by_the_monitor(
    internal: bootstrap.App, make_internal: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The monitor's exit conflicts with another process that closes the operation meanwhile (a sync booking the
    exit, a close): the monitor reports the operation as it ended, so that robson run says it (it used to say
    nothing: the race test waited for a line that never came)."""
    operation_id = _open(internal)
    monitor = Monitor(internal.context, internal.feed)
    monitor.recover()
    other = make_internal()
    alone = exits._exit_alone

    def closed_by_another(*args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("again"):
            trading.close(other.context, operation_id, "another process")
            raise ConcurrentChange(f"operation {operation_id} was changed by another process")
        return alone(*args, **kwargs)

    monkeypatch.setattr(exits, "_exit_alone", closed_by_another)
    pusher = make_internal()
    assert pusher.market is not None
    following.push_price(pusher.context, pusher.market, "BTC/USDT", D(93700))  # through the target

    outcomes = monitor.poll_once()

    [reported] = [outcome for outcome in outcomes if outcome.operation.id == operation_id]
    assert reported.operation.status is OperationStatus.CLOSED
