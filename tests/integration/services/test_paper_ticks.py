"""Internal stops see every pushed price, not samples: the paper venue queues each price pushed (a bar as its path:
open, the extreme nearer the open, the other extreme, close) and the monitor's paper feed takes them in order. Each
Robson built here is a fresh process's view of the same database."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import insert

from robson import bootstrap
from robson.clock import ManualClock
from robson.domain.operation import CloseReason, OperationStatus
from robson.domain.values import Side
from robson.execution.matching import Bar
from robson.monitor.loop import Monitor
from robson.persistence.tables import paper_ticks
from robson.services import following, planning

from .conftest import AppFactory
from .test_monitor import _open  # long BTC/USDT at 90,000, stop 88,200, target 93,600


def _one_pass(make: AppFactory) -> Monitor:
    """robson monitor --once: a new process recovers, then reads the feed once."""
    app = make()
    monitor = Monitor(app.context, app.feed)
    monitor.recover()
    monitor.poll_once()
    return monitor


def _exits(app: bootstrap.App, operation_id: int) -> int:
    op = planning.load(app.context, operation_id)
    return sum(1 for fill in op.fills if fill.side is Side.LONG.exit_action)


def test_every_pushed_price_reaches_the_feed_in_order(internal: bootstrap.App, make_internal: AppFactory) -> None:
    assert internal.market is not None
    internal.feed.poll()
    other = make_internal()  # robson price from another process
    assert other.market is not None
    for price in ("90100", "89900", "90200"):
        following.push_price(other.context, other.market, "BTC/USDT", D(price))
    following.push_price(internal.context, internal.market, "ETH/USDT", D(3000))
    assert internal.feed.poll() == [
        ("BTC/USDT", D("90100")),
        ("BTC/USDT", D("89900")),
        ("BTC/USDT", D("90200")),
        ("ETH/USDT", D(3000)),
    ]
    assert internal.feed.poll() == []  # each once


def test_a_flash_crash_through_the_stop_between_two_passes_is_acted_on(
    internal: bootstrap.App, make_internal: AppFactory
) -> None:
    operation_id = _open(internal)
    _one_pass(make_internal)
    pusher = make_internal()
    assert pusher.market is not None
    following.push_price(pusher.context, pusher.market, "BTC/USDT", D(88000))  # below the stop at 88,200
    following.push_price(pusher.context, pusher.market, "BTC/USDT", D(90000))  # and back
    assert planning.load(internal.context, operation_id).status is OperationStatus.ACTIVE

    _one_pass(make_internal)

    op = planning.load(internal.context, operation_id)
    assert (op.status, op.close_reason) == (OperationStatus.CLOSED, CloseReason.STOP_LOSS)
    assert _exits(internal, operation_id) == 1


@pytest.mark.parametrize(
    ("bar", "reason"),
    [
        ((D(90000), D(94000), D(88000), D(90500)), CloseReason.STOP_LOSS),  # the low is nearer the open
        ((D(93000), D(94000), D(88000), D(90000)), CloseReason.TAKE_PROFIT),  # the high is nearer: target first
        ((D(91100), D(94200), D(88000), D(91000)), CloseReason.STOP_LOSS),  # as near: the low first (conservative)
    ],
)
def test_a_bar_through_both_stop_and_target_exits_once_by_its_path(
    internal: bootstrap.App, make_internal: AppFactory, bar: tuple[D, D, D, D], reason: CloseReason
) -> None:
    operation_id = _open(internal)
    _one_pass(make_internal)
    assert internal.market is not None
    following.push_bar(internal.context, internal.market, "BTC/USDT", bar)

    _one_pass(make_internal)
    _one_pass(make_internal)

    op = planning.load(internal.context, operation_id)
    assert (op.status, op.close_reason) == (OperationStatus.CLOSED, reason)
    assert _exits(internal, operation_id) == 1


def test_a_price_pushed_before_an_operation_was_opened_never_touches_it(
    internal: bootstrap.App, make_internal: AppFactory, clock: ManualClock
) -> None:
    """88,000 was pushed while no monitor ran, before the operation existed; a pass afterwards must not take it
    for a crossing of that operation's stop at 88,200 (it did: CLOSED STOP_LOSS at once). A flash crash after
    the opening still is one."""
    pusher = make_internal()
    assert pusher.market is not None
    for price in (D(90000), D(88000), D(90000)):
        following.push_price(pusher.context, pusher.market, "BTC/USDT", price)
    clock.advance(timedelta(seconds=1))
    operation_id = _open(internal)

    _one_pass(make_internal)
    assert planning.load(internal.context, operation_id).status is OperationStatus.ACTIVE

    clock.advance(timedelta(seconds=1))
    following.push_price(pusher.context, pusher.market, "BTC/USDT", D(88000))
    following.push_price(pusher.context, pusher.market, "BTC/USDT", D(90000))
    _one_pass(make_internal)
    op = planning.load(internal.context, operation_id)
    assert (op.status, op.close_reason) == (OperationStatus.CLOSED, CloseReason.STOP_LOSS)


def test_prices_a_killed_monitor_had_not_acted_on_go_to_its_successor(
    internal: bootstrap.App, make_internal: AppFactory
) -> None:
    """The queue keeps a price until the monitor has acted on it: a monitor killed between reading and acting
    loses nothing."""
    operation_id = _open(internal)
    _one_pass(make_internal)
    assert internal.market is not None
    following.push_price(internal.context, internal.market, "BTC/USDT", D(88000))  # through the stop
    following.push_price(internal.context, internal.market, "BTC/USDT", D(90000))  # and back

    killed = make_internal()
    assert [price for _, price in killed.feed.poll()] == [D(88000), D(90000)]  # read; the process dies here

    successor = _one_pass(make_internal)

    op = planning.load(internal.context, operation_id)
    assert (op.status, op.close_reason) == (OperationStatus.CLOSED, CloseReason.STOP_LOSS)
    assert _exits(internal, operation_id) == 1
    assert successor.feed.poll() == []  # acted on: no longer queued


def test_a_price_whose_commit_lands_after_a_later_ones_is_not_skipped(
    internal: bootstrap.App, clock: ManualClock
) -> None:
    """Two processes push at once: ids are given in insertion order, but commits may land out of it (PostgreSQL's
    sequences). A price with a lower id that shows up after a higher one was handed out is handed out all the
    same (a feed going by a cursor skipped it, and robson run missed a target: the race test)."""
    internal.feed.poll()

    def queued(price_id: int, symbol: str, price: D) -> None:  # as another process's commit lands
        with internal.engine.begin() as connection:
            row = {"id": price_id, "symbol": symbol, "price": price, "at": clock.now()}
            connection.execute(insert(paper_ticks), [row])

    queued(1_000_001, "ETH/USDT", D(3130))
    assert internal.feed.poll() == [("ETH/USDT", D(3130))]
    queued(1_000_000, "BTC/USDT", D(93700))  # the lower id, committed later
    assert internal.feed.poll() == [("BTC/USDT", D(93700))]
    assert internal.feed.poll() == []


def test_a_reset_empties_the_queue(internal: bootstrap.App) -> None:
    assert internal.market is not None
    following.push_price(internal.context, internal.market, "BTC/USDT", D(90000))
    internal.market.reset({"USDT": D(10000)})
    assert internal.feed.poll() == []


@pytest.mark.parametrize(
    ("bar", "path"),
    [
        ((90000, 94000, 88000, 90500), (90000, 88000, 94000, 90500)),
        ((93000, 94000, 88000, 90000), (93000, 94000, 88000, 90000)),
        ((91000, 94000, 88000, 91000), (91000, 88000, 94000, 91000)),
        ((100, 100, 100, 100), (100,)),
        ((100, 101, 100, 101), (100, 101)),
    ],
)
def test_a_bar_is_taken_as_open_nearer_extreme_other_extreme_close(
    bar: tuple[int, int, int, int], path: tuple[int, ...]
) -> None:
    assert Bar(*(D(p) for p in bar)).path() == tuple(D(p) for p in path)
