"""The exit rules through the monitor, on the paper venue: trailing (both modes), scale-outs, time exits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal as D

import pytest

from robson import bootstrap
from robson.clock import ManualClock
from robson.config import ExitSettings, Settings
from robson.domain.operation import CloseReason, OperationStatus
from robson.domain.orders import OrderRole
from robson.domain.values import Side
from robson.monitor.loop import Monitor
from robson.services import commands, following, planning
from tests.conftest import DatabaseTarget

ENTRY, STOP = D(90000), D(88200)  # R = 1,800 per unit


@pytest.fixture
def build(database_target: DatabaseTarget, clock: ManualClock) -> Iterator[object]:
    built: list[bootstrap.App] = []

    def make(**exits: object) -> bootstrap.App:
        app = bootstrap.build(
            database_target.url,
            schema=database_target.schema,
            clock=clock,
            settings=Settings(exits={"default": ExitSettings(**exits)}),  # type: ignore[arg-type]
            actor="test",
        )
        app.market.reset({"USDT": D("10000")})
        built.append(app)
        return app

    yield make
    for app in built:
        app.close()


def _open(app: bootstrap.App) -> tuple[int, Monitor]:
    following.push_price(app.context, app.market, "BTC/USDT", ENTRY)
    planned = planning.plan(app.context, "BTC/USDT", Side.LONG, ENTRY, STOP, D(99000))
    assert planned.operation.id is not None
    commands.execute(app.context, planned.operation.id)
    monitor = Monitor(app.context, app.feed)
    monitor.recover()
    return planned.operation.id, monitor


def _r(app: bootstrap.App, operation_id: int) -> D:
    """R per unit: from the average entry actually paid (the plan's 90,000 plus slippage) to the initial stop."""
    average = planning.load(app.context, operation_id).position.average_entry
    assert average is not None
    return average - STOP


def _tick(app: bootstrap.App, monitor: Monitor, price: str) -> None:
    app.market.push_price("BTC/USDT", D(price))
    monitor.poll_once()


def test_internal_trailing_ratchets_and_exits_with_trailing_stop(build) -> None:  # type: ignore[no-untyped-def]
    app = build(mode="internal", trailing_activate_r=D(1), trail_r=D(1))
    operation_id, monitor = _open(app)
    _tick(app, monitor, "91000")  # below +1 R: nothing
    assert planning.load(app.context, operation_id).stop_price == STOP
    r = _r(app, operation_id)
    _tick(app, monitor, "92000")  # past +1 R: active, the stop trails 1 R behind the best price
    assert planning.load(app.context, operation_id).stop_price == D(92000) - r
    _tick(app, monitor, "91000")  # a pullback never loosens it
    assert planning.load(app.context, operation_id).stop_price == D(92000) - r
    _tick(app, monitor, "93000")
    assert planning.load(app.context, operation_id).stop_price == D(93000) - r
    _tick(app, monitor, "91100")  # through the trailed stop
    op = planning.load(app.context, operation_id)
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.TRAILING_STOP
    assert op.realized_pnl > 0


def test_exchange_trailing_replaces_the_resting_stop(build) -> None:  # type: ignore[no-untyped-def]
    app = build(mode="exchange", trailing_activate_r=D(1), trail_r=D(1))
    operation_id, monitor = _open(app)
    r = _r(app, operation_id)
    _tick(app, monitor, "92000")
    op = planning.load(app.context, operation_id)
    stops = op.open_orders(OrderRole.STOP)
    assert [o.stop_price for o in stops] == [D(92000) - r]
    live = {o.client_order_id: o for o in app.context.exchange.open_orders("BTC/USDT")}
    assert stops[0].client_order_id in live and len(live) == 2  # one stop and one target, nothing doubled
    _tick(app, monitor, "90100")  # the venue's stop fills; the monitor only observes it
    op = planning.load(app.context, operation_id)
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.TRAILING_STOP
    assert not [o for o in op.orders if o.role is OrderRole.EXIT]


def test_scale_out_thirds_on_the_lot_step(build) -> None:  # type: ignore[no-untyped-def]
    app = build(mode="internal", preset="thirds")
    operation_id, monitor = _open(app)
    entered = planning.load(app.context, operation_id).position.quantity
    _tick(app, monitor, "91900")  # past 1 R
    op = planning.load(app.context, operation_id)
    first = [o.quantity for o in op.orders if o.role is OrderRole.EXIT]
    assert len(first) == 1 and first[0] * 3 <= entered and op.status is OperationStatus.ACTIVE
    _tick(app, monitor, "93700")  # past 2 R
    _tick(app, monitor, "95500")  # past 3 R: the last third takes the rest
    op = planning.load(app.context, operation_id)
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.SCALE_OUT
    exits = [o.quantity for o in op.orders if o.role is OrderRole.EXIT]
    assert len(exits) == 3 and sum(exits) == entered


def test_time_exit_closes_a_position_that_did_not_move(build, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    app = build(mode="exchange", time_exit_hours=D(2), time_exit_min_move_percent=D("0.5"))
    operation_id, monitor = _open(app)
    clock.advance(timedelta(hours=1))
    _tick(app, monitor, "90100")
    assert planning.load(app.context, operation_id).status is OperationStatus.ACTIVE  # too early
    clock.advance(timedelta(hours=1, minutes=1))
    _tick(app, monitor, "90200")
    op = planning.load(app.context, operation_id)
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.TIME_EXIT
    assert app.context.exchange.open_orders() == []  # the OCO was cancelled first
