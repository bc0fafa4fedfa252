"""The monitor against the real paper venue and database: both protection modes, the backstop, recovery."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal as D

from robson import bootstrap
from robson.clock import ManualClock
from robson.domain.operation import CloseReason, OperationStatus
from robson.domain.orders import OrderRole, OrderStatus
from robson.domain.values import Side
from robson.monitor.loop import Monitor
from robson.notify.log import LogNotifier
from robson.services import commands, following, planning, trading


def _open(app: bootstrap.App, price: D = D(90000), stop: D = D(88200)) -> int:
    ctx = app.context
    following.push_price(ctx, app.market, "BTC/USDT", price)
    planned = planning.plan(ctx, "BTC/USDT", Side.LONG, price, stop)
    assert planned.operation.id is not None
    commands.execute(ctx, planned.operation.id)
    return planned.operation.id


def test_exchange_managed_target_fill_is_only_observed(app: bootstrap.App) -> None:
    operation_id = _open(app)
    monitor = Monitor(app.context, app.feed)
    monitor.recover()
    assert operation_id in monitor.index
    app.market.push_price("BTC/USDT", D(93600))  # another process moves the market; the venue's OCO acts
    monitor.poll_once()
    op = planning.load(app.context, operation_id)
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.TAKE_PROFIT
    assert not [o for o in op.orders if o.role is OrderRole.EXIT]  # Robson sent nothing of its own
    assert [o.status for o in op.orders if o.role is OrderRole.TARGET] == [OrderStatus.FILLED]
    assert app.context.exchange.open_orders() == []
    assert operation_id not in monitor.index


def test_a_vanished_protective_order_is_restored_within_one_tick(app: bootstrap.App) -> None:
    operation_id = _open(app)
    monitor = Monitor(app.context, app.feed)
    monitor.recover()
    stop = planning.load(app.context, operation_id).open_orders(OrderRole.STOP)[0]
    app.context.exchange.cancel_order("BTC/USDT", stop.client_order_id)  # gone from the venue behind our back
    app.market.push_price("BTC/USDT", D(90100))
    monitor.poll_once()  # one tick
    op = planning.load(app.context, operation_id)
    assert op.is_protected and op.status is OperationStatus.ACTIVE
    live = {o.client_order_id for o in app.context.exchange.open_orders("BTC/USDT")}
    assert any(o.client_order_id in live for o in op.open_orders(OrderRole.STOP))


def test_internal_mode_rests_nothing_and_exits_at_the_gapped_price(internal: bootstrap.App) -> None:
    operation_id = _open(internal)
    assert internal.context.exchange.open_orders() == []  # the stop lives on the operation
    monitor = Monitor(internal.context, internal.feed)
    monitor.recover()
    internal.market.push_price("BTC/USDT", D(87000))  # gaps 1,200 through the stop at 88,200
    monitor.poll_once()
    op = planning.load(internal.context, operation_id)
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.STOP_LOSS
    exit_fill = next(f for f in op.fills if f.side is Side.LONG.exit_action)
    assert exit_fill.price < D(87000)  # the market order pays the paper slippage below the gapped price
    assert op.slippage_past_stop == (D(88200) - exit_fill.price) * exit_fill.quantity
    with internal.context.unit_of_work() as uow:
        actions = [r.action for r in uow.audit.list("operation", str(operation_id))]
    assert "StopLossTriggered" in actions


def test_recovery_acts_on_a_stop_crossed_while_down(internal: bootstrap.App) -> None:
    operation_id = _open(internal)
    internal.market.push_price("BTC/USDT", D(88000))  # no monitor running
    assert planning.load(internal.context, operation_id).status is OperationStatus.ACTIVE
    Monitor(internal.context, internal.feed).recover()
    op = planning.load(internal.context, operation_id)
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.STOP_LOSS
    assert len([o for o in op.orders if o.role is OrderRole.EXIT]) == 1


def test_internal_target_exits_at_market_with_take_profit(internal: bootstrap.App) -> None:
    operation_id = _open(internal)
    monitor = Monitor(internal.context, internal.feed)
    monitor.recover()
    internal.market.push_price("BTC/USDT", D(93700))
    monitor.poll_once()
    op = planning.load(internal.context, operation_id)
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.TAKE_PROFIT
    assert op.realized_pnl > 0


def test_a_quiet_feed_alerts_once_and_polls_the_venue(internal: bootstrap.App, clock: ManualClock) -> None:
    operation_id = _open(internal)
    monitor = Monitor(internal.context, internal.feed, stale_after_seconds=D(30))
    monitor.recover()
    monitor.poll_once()  # no tick: the quiet period starts
    clock.advance(timedelta(seconds=31))
    monitor.poll_once()
    monitor.poll_once()
    notifier = internal.context.notifier
    assert isinstance(notifier, LogNotifier)
    assert [a.code for a in notifier.sent].count("FEED_STALE") == 1
    assert planning.load(internal.context, operation_id).status is OperationStatus.ACTIVE


def test_a_crossed_stop_exits_from_the_kept_operation_without_reading_it(internal: bootstrap.App) -> None:
    operation_id = _open(internal)
    monitor = Monitor(internal.context, internal.feed)
    monitor.recover()
    assert operation_id in monitor.operations
    kept = monitor.operations[operation_id]
    outcomes = monitor.on_tick("BTC/USDT", D(88000))
    assert len(outcomes) == 1 and outcomes[0].operation is kept  # the kept object itself went through the exit
    assert kept.status is OperationStatus.CLOSED and kept.close_reason is CloseReason.STOP_LOSS
    assert operation_id not in monitor.operations and operation_id not in monitor.index


def test_an_operation_changed_elsewhere_meanwhile_is_read_again_before_any_exit(internal: bootstrap.App) -> None:
    operation_id = _open(internal)
    monitor = Monitor(internal.context, internal.feed)
    monitor.recover()
    kept = monitor.operations[operation_id]
    # another process (robson close) takes the operation out while the monitor keeps its copy
    trading.close(internal.context, operation_id, "closed by hand in another terminal")
    sent = len(internal.context.exchange.open_orders()) + len(planning.load(internal.context, operation_id).fills)
    assert kept.status is OperationStatus.ACTIVE  # the monitor's copy is stale
    outcomes = monitor.on_tick("BTC/USDT", D(88000))  # its stop is crossed in the stale copy
    assert outcomes == []  # re-read: already CLOSED, so no second exit
    op = planning.load(internal.context, operation_id)
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.MANUAL
    assert len([o for o in op.orders if o.role is OrderRole.EXIT]) == 1
    assert len(internal.context.exchange.open_orders()) + len(op.fills) == sent  # nothing more reached the venue


def test_the_ledger_housekeeping_runs_between_passes_at_most_once_a_minute(
    internal: bootstrap.App, clock: ManualClock
) -> None:
    runs: list[object] = []
    ctx = dataclasses.replace(internal.context, housekeeping=lambda: runs.append(clock.now()))
    monitor = Monitor(ctx, internal.feed)
    monitor.idle()
    monitor.idle()
    clock.advance(timedelta(seconds=59))
    monitor.idle()
    clock.advance(timedelta(seconds=1))
    monitor.idle()
    assert len(runs) == 2
