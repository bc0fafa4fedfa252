"""Plan -> validate -> execute -> exit on the paper venue, and everything survives a restart."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from robson.bootstrap import App
from robson.clock import ManualClock
from robson.domain.errors import InvalidValue
from robson.domain.operation import CloseReason, OperationStatus
from robson.domain.orders import OrderRole, OrderStatus
from robson.domain.values import Side
from robson.services import audit, following, planning, trading
from robson.services.errors import NotFound, Refused
from robson.services.views import operation_view
from tests.integration.services.conftest import AppFactory


def _open_long(app: App) -> int:
    ctx = app.context
    following.push_price(ctx, app.market, "BTC/USDT", D(90000))
    planned = planning.plan(ctx, "BTC/USDT", Side.LONG, D(90000), D(88200), reward_risk=D(2))
    assert planned.operation.id is not None
    outcome = trading.execute(ctx, planned.operation.id)
    assert outcome.operation.status is OperationStatus.ACTIVE
    return planned.operation.id


def test_stop_fill_closes_the_operation_within_its_budget(app: App) -> None:
    operation_id = _open_long(app)
    op = planning.load(app.context, operation_id)
    assert op.is_protected
    assert {o.role for o in op.open_orders()} == {OrderRole.STOP, OrderRole.TARGET}
    following.push_price(app.context, app.market, "BTC/USDT", D(89000))
    following.push_price(app.context, app.market, "BTC/USDT", D(88200))  # touches the stop exactly
    op = planning.load(app.context, operation_id)
    assert op.status is OperationStatus.CLOSED
    assert op.close_reason is CloseReason.STOP_LOSS
    assert op.position.is_flat
    assert -op.realized_pnl <= op.risk_amount <= D(100)  # 1% of 10,000, fees and slippage included
    assert op.order("rb1-t1").status is OrderStatus.CANCELED


def test_target_fill_closes_with_take_profit_and_positive_r(app: App) -> None:
    operation_id = _open_long(app)
    following.push_price(app.context, app.market, "BTC/USDT", D(93600))
    op = planning.load(app.context, operation_id)
    assert op.close_reason is CloseReason.TAKE_PROFIT
    trade = op.position.trades[0]
    assert trade.r_multiple is not None and trade.r_multiple > D("1.8")


def test_restart_sees_identical_operation_orders_tranches_balances_and_audit(
    app: App, make_app: AppFactory, clock: ManualClock
) -> None:
    operation_id = _open_long(app)
    before = operation_view(planning.load(app.context, operation_id), detail=True)
    balances = app.context.exchange.balances()
    open_orders = app.context.exchange.open_orders()
    trail = audit.history(app.context)
    app.close()

    again = make_app()  # a new engine, new sessions, the paper venue loaded from the database
    assert operation_view(planning.load(again.context, operation_id), detail=True) == before
    assert again.context.exchange.balances() == balances
    assert again.context.exchange.open_orders() == open_orders
    assert audit.history(again.context) == trail
    # and it carries on where it was: the resting stop still protects the position
    following.push_price(again.context, again.market, "BTC/USDT", D(88000))
    assert planning.load(again.context, operation_id).close_reason is CloseReason.STOP_LOSS


def test_manual_close_cancels_protection_then_exits_at_market(app: App) -> None:
    operation_id = _open_long(app)
    outcome = trading.close(app.context, operation_id, "thesis invalidated")
    op = outcome.operation
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.MANUAL
    assert op.note == "thesis invalidated"
    assert not app.context.exchange.open_orders()
    statuses = {o.client_order_id: o.status for o in op.orders}
    assert statuses == {
        "rb1-e1": OrderStatus.FILLED,
        "rb1-s1": OrderStatus.CANCELED,
        "rb1-t1": OrderStatus.CANCELED,
        "rb1-x1": OrderStatus.FILLED,
    }
    assert app.context.exchange.balances()["BTC"].total == 0


def test_closing_a_plan_cancels_it(app: App) -> None:
    planned = planning.plan(app.context, "ETH/USDT", Side.LONG, D(3000))
    assert planned.operation.id is not None
    op = trading.close(app.context, planned.operation.id, "changed my mind").operation
    assert op.status is OperationStatus.CANCELLED


def test_plan_refuses_a_short_on_a_spot_venue_and_stores_nothing(app: App) -> None:
    ctx = app.context
    following.push_price(ctx, app.market, "ETH/USDT", D(3000))
    with pytest.raises(Refused, match="VENUE_SIDE") as refusal:
        planning.plan(ctx, "ETH/USDT", Side.SHORT, D(3000))
    assert [c.code for c in refusal.value.details] == ["VENUE_SIDE"]  # type: ignore[attr-defined]
    assert planning.operations(ctx) == []


def test_execute_refuses_when_the_market_left_the_thesis(app: App) -> None:
    ctx = app.context
    following.push_price(ctx, app.market, "BTC/USDT", D(90000))
    planned = planning.plan(ctx, "BTC/USDT", Side.LONG, D(90000), D(88200))
    following.push_price(ctx, app.market, "BTC/USDT", D(88000))
    assert planned.operation.id is not None
    with pytest.raises(Refused, match="through the stop"):
        trading.execute(ctx, planned.operation.id)
    following.push_price(ctx, app.market, "BTC/USDT", D(91800))
    with pytest.raises(Refused, match="from the planned entry"):
        trading.execute(ctx, planned.operation.id)


def test_execute_shrinks_the_size_when_the_market_is_worse_than_the_plan(app: App) -> None:
    ctx = app.context
    following.push_price(ctx, app.market, "BTC/USDT", D(90000))
    planned = planning.plan(ctx, "BTC/USDT", Side.LONG, D(90000), D(88200), D(95000))
    following.push_price(ctx, app.market, "BTC/USDT", D(90500))
    assert planned.operation.id is not None
    outcome = trading.execute(ctx, planned.operation.id)
    assert outcome.operation.quantity < planned.operation.quantity
    assert outcome.warnings and "resized" in outcome.warnings[0]
    assert outcome.operation.risk_amount <= D(100)


def test_bad_input_writes_nothing(app: App) -> None:
    ctx = app.context
    cases = [
        lambda: planning.plan(ctx, "BTC/USDT", Side.LONG, D(90000), D(91000)),  # stop on the wrong side
        lambda: planning.plan(ctx, "BTC/USDT", Side.LONG, D(90000), D(90000)),  # stop on the entry
        lambda: planning.plan(ctx, "DOGE/USDT", Side.LONG, D(1), D("0.5")),  # unknown symbol
        lambda: planning.plan(ctx, "BTC/USDT", Side.LONG, D("90000.001")),  # off the tick
        lambda: planning.plan(ctx, "BTC/USDT", Side.SHORT, D(90000), target=D(95000)),  # target wrong side
        lambda: planning.plan(ctx, "BTC/USDT", Side.LONG, D(90000), strategy="nope"),  # unknown strategy
    ]
    for case in cases:
        with pytest.raises(InvalidValue):
            case()
    with pytest.raises(NotFound):
        trading.execute(ctx, 42)
    with ctx.unit_of_work() as uow:
        assert uow.operations.list() == []
        assert uow.audit.list() == []


def test_adopt_derives_levels_toward_the_entry_and_protects_what_is_held(app: App) -> None:
    app.market.reset({"USDT": D(1000), "BTC": D("0.00033")})
    following.push_price(app.context, app.market, "BTC/USDT", D(89000))
    outcome = following.adopt(app.context, "BTC/USDT", D("0.00033"), D("88837.92"))
    op = outcome.operation
    assert (op.stop_price, op.target_price) == (D("87061.17"), D("92391.43"))
    assert op.status is OperationStatus.ACTIVE and op.is_protected
    assert not outcome.warnings


def test_adopt_refuses_what_the_venue_does_not_hold(app: App) -> None:
    """Issue 12 changes this: adopting a position the account does not hold was recorded (ACTIVE, unprotected,
    with a warning); it is now refused, and nothing is stored."""
    with pytest.raises(Refused, match=r"HELD: the account holds 0 BTC \(0 free\): not 0.00033"):
        following.adopt(app.context, "BTC/USDT", D("0.00033"), D("88837.92"), side=Side.LONG)
    assert planning.operations(app.context) == []
