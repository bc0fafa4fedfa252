"""On fill: what the venue says about orders, applied to the operations that own them, whatever brings it (the
simulator's fills, a stream's reports); and the monitor taking a stream's reports, with sync as the backstop."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal as D

import pytest

from robson import bootstrap
from robson.clock import ManualClock
from robson.domain.operation import CloseReason, OperationStatus
from robson.domain.orders import OrderRole, OrderStatus
from robson.domain.values import Side
from robson.monitor import loop as monitor_loop
from robson.monitor.loop import Monitor
from robson.ports import OrderReport
from robson.services import commands, following, on_fill, planning
from robson.services.working import Outcome
from tests.integration.services.conftest import AppFactory


def _open(app: bootstrap.App) -> int:
    assert app.market is not None
    following.push_price(app.context, app.market, "BTC/USDT", D(90000))
    planned = planning.plan(app.context, "BTC/USDT", Side.LONG, D(90000), D(88200))
    assert planned.operation.id is not None
    commands.execute(app.context, planned.operation.id)
    return planned.operation.id


def _target_filled(app: bootstrap.App, operation_id: int) -> OrderReport:
    """The market reaches the target; the venue's OCO fills it. What the venue reports of the target leg."""
    assert app.market is not None
    target = planning.load(app.context, operation_id).open_orders(OrderRole.TARGET)[0]
    assert target.price is not None
    fills = app.market.push_price("BTC/USDT", target.price + 10)  # the venue moves; nobody told the ledger yet
    assert [fill.client_order_id for fill in fills] == [target.client_order_id]
    return app.context.exchange.get_order("BTC/USDT", target.client_order_id)


def test_the_fills_a_pushed_price_returns_close_the_operation(app: bootstrap.App) -> None:
    operation_id = _open(app)
    assert app.market is not None
    target = planning.load(app.context, operation_id).target_price
    assert target is not None
    fills = app.market.push_price("BTC/USDT", target)
    [outcome] = on_fill.apply_fills(app.context, fills)
    op = planning.load(app.context, operation_id)
    assert outcome.operation.id == operation_id and outcome.changes
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.TAKE_PROFIT
    assert [o.status for o in op.orders if o.role is OrderRole.STOP] == [OrderStatus.CANCELED]


def test_a_report_delivered_twice_changes_nothing_the_second_time(app: bootstrap.App) -> None:
    operation_id = _open(app)
    report = _target_filled(app, operation_id)
    assert on_fill.apply_reports(app.context, [report])
    before = planning.load(app.context, operation_id)
    assert on_fill.apply_reports(app.context, [report, report]) == []  # a stream's repeat, then a sync's
    after = planning.load(app.context, operation_id)
    assert after.fills == before.fills and after.version == before.version
    assert after.realized_pnl == before.realized_pnl


def test_a_report_of_an_order_no_operation_holds_is_left_to_reconciliation(app: bootstrap.App) -> None:
    operation_id = _open(app)
    report = dataclasses.replace(_target_filled(app, operation_id), client_order_id="placed-by-hand-1")
    assert on_fill.apply_reports(app.context, [report]) == []
    assert planning.load(app.context, operation_id).status is OperationStatus.ACTIVE


def test_a_report_applies_to_the_operation_as_another_process_left_it(app: bootstrap.App, make_app: AppFactory) -> None:
    """Another process wrote the operation since this one read it: the report is applied to it as stored."""
    operation_id = _open(app)
    other = make_app()
    with other.context.unit_of_work() as uow:
        op = uow.operations.get(operation_id)
        assert op is not None
        op.note = "touched elsewhere"
        uow.operations.save(op)
        uow.commit()
    [outcome] = on_fill.apply_reports(app.context, [_target_filled(app, operation_id)])
    op = planning.load(app.context, operation_id)
    assert op.status is OperationStatus.CLOSED and op.note == "touched elsewhere"
    assert outcome.operation.status is OperationStatus.CLOSED


class _Stream:
    """An OrderStream the test feeds: what the venue would push."""

    def __init__(self) -> None:
        self.pending: list[OrderReport] = []
        self.up = True

    def updates(self) -> list[OrderReport]:
        pending, self.pending = self.pending, []
        return pending

    def healthy(self) -> bool:
        return self.up

    def close(self) -> None:
        self.up = False


@pytest.fixture
def syncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the syncs (the backstop that asks the venue about every working order; the monitor's, and any other
    use case's: a test clears it once set up)."""
    calls: list[int] = []
    real = monitor_loop.following.sync

    def counted(*args: object, **kwargs: object) -> list[Outcome]:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(monitor_loop.following, "sync", counted)
    return calls


def test_the_monitor_applies_what_the_stream_pushes_at_once(
    app: bootstrap.App, clock: ManualClock, syncs: list[int]
) -> None:
    operation_id = _open(app)
    stream = _Stream()
    monitor = Monitor(app.context, app.feed, orders=stream)
    monitor.recover()
    assert operation_id in monitor.index
    stream.pending.append(_target_filled(app, operation_id))
    [outcome] = monitor.poll_once()
    assert outcome.operation.id == operation_id and outcome.operation.status is OperationStatus.CLOSED
    assert operation_id not in monitor.index  # followed from the outcome
    assert planning.load(app.context, operation_id).close_reason is CloseReason.TAKE_PROFIT


def test_with_a_healthy_stream_sync_is_only_the_backstop(
    app: bootstrap.App, clock: ManualClock, syncs: list[int]
) -> None:
    _open(app)
    assert app.market is not None
    stream = _Stream()
    monitor = Monitor(app.context, app.feed, orders=stream, sync_seconds=D(30))
    monitor.recover()  # reconciling asked the venue about every order
    syncs.clear()
    for second in range(1, 30):
        clock.advance(timedelta(seconds=1))
        app.market.push_price("BTC/USDT", D(90000) + second)
        monitor.poll_once()
    assert syncs == []  # 29 passes with ticks, the stream healthy: no sync
    clock.advance(timedelta(seconds=1))
    app.market.push_price("BTC/USDT", D(90100))
    monitor.poll_once()
    assert syncs == [1]  # 30 s since the last look: the backstop
    stream.up = False  # the stream dropped: every pass with ticks syncs again
    app.market.push_price("BTC/USDT", D(90101))
    monitor.poll_once()
    assert syncs == [1, 1]


def test_without_a_stream_every_pass_with_ticks_syncs(app: bootstrap.App, syncs: list[int]) -> None:
    _open(app)
    assert app.market is not None
    monitor = Monitor(app.context, app.feed)
    monitor.recover()
    syncs.clear()
    app.market.push_price("BTC/USDT", D(90010))
    monitor.poll_once()
    assert syncs == [1]


def test_an_operation_another_process_opened_is_watched_without_a_rebuild(
    internal: bootstrap.App, make_internal: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The monitor finds it by the ACTIVE operations' versions (one light read), reads only it, and the next tick
    through its stop exits it."""
    assert internal.market is not None
    following.push_price(internal.context, internal.market, "BTC/USDT", D(90000))
    monitor = Monitor(internal.context, internal.feed)
    monitor.recover()
    monkeypatch.setattr(Monitor, "rebuild", lambda self: pytest.fail("the index is rebuilt"))
    operation_id = _open(make_internal())
    internal.market.push_price("BTC/USDT", D(90050))
    monitor.poll_once()
    assert operation_id in monitor.index
    internal.market.push_price("BTC/USDT", D(88000))
    monitor.poll_once()
    op = planning.load(internal.context, operation_id)
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.STOP_LOSS
    assert operation_id not in monitor.index
