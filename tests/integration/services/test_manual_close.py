"""Manual and emergency closes: cancel the protection, then a marketable limit 0.1% through the price, then the
market for whatever it left."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal as D

from robson import bootstrap
from robson.clock import ManualClock
from robson.domain.operation import CloseReason, OperationStatus
from robson.domain.orders import OrderRole, OrderType
from robson.domain.values import Side
from robson.monitor.finish import finish_flatten
from robson.ports import ExchangePort, OrderReport, OrderRequest
from robson.services import commands, deadlines, following, planning, trading


def _open(app: bootstrap.App) -> int:
    following.push_price(app.context, app.market, "BTC/USDT", D(90000))
    planned = planning.plan(app.context, "BTC/USDT", Side.LONG, D(90000), D(88200))
    assert planned.operation.id is not None
    commands.execute(app.context, planned.operation.id)
    return planned.operation.id


def test_a_manual_close_is_a_marketable_limit_through_the_price(app: bootstrap.App) -> None:
    operation_id = _open(app)
    following.push_price(app.context, app.market, "BTC/USDT", D(91000))
    trading.close(app.context, operation_id, "taking it off")
    op = planning.load(app.context, operation_id)
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.MANUAL
    exits = [o for o in op.orders if o.role is OrderRole.EXIT]
    assert [(o.type, o.price) for o in exits] == [(OrderType.LIMIT, D("90909.00"))]  # 91,000 less 0.1%, on the tick
    assert app.context.exchange.open_orders() == []


class RestingLimits:
    """A venue where a limit exit does not fill (a thin book): it rests, far from the market."""

    def __init__(self, exchange: ExchangePort) -> None:
        self._exchange = exchange

    def place_order(self, request: OrderRequest) -> OrderReport:
        if request.type is OrderType.LIMIT:
            request = dataclasses.replace(request, price=D(99000))
        return self._exchange.place_order(request)

    def __getattr__(self, name: str) -> object:
        return getattr(self._exchange, name)


def test_an_unfilled_limit_falls_back_to_market_at_its_deadline(app: bootstrap.App, clock: ManualClock) -> None:
    """The close returns once its limit is sent (nothing waits); the limit works for close_fallback_seconds, and
    the loop's pass at that time (on the clock) cancels it and sends the rest at market."""
    operation_id = _open(app)
    ctx = dataclasses.replace(
        app.context,
        exchange=RestingLimits(app.context.exchange),  # type: ignore[arg-type]
        close_fallback_seconds=D(3),
    )
    outcome = trading.close(ctx, operation_id, "emergency")
    op = outcome.operation
    assert op.status is OperationStatus.ACTIVE
    [working] = op.open_orders(OrderRole.EXIT)
    assert working.type is OrderType.LIMIT and working.deadline == clock.now() + timedelta(seconds=3)
    assert any("works until" in w for w in outcome.warnings)

    clock.advance(timedelta(seconds=2))
    assert deadlines.expire(ctx) == []  # not yet: it works on
    clock.advance(timedelta(seconds=1))
    [expired] = deadlines.expire(ctx)

    op = planning.load(app.context, operation_id)
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.MANUAL
    exits = [(o.type, o.status.value) for o in op.orders if o.role is OrderRole.EXIT]
    assert exits == [(OrderType.LIMIT, "CANCELED"), (OrderType.MARKET, "FILLED")]
    assert any("sent at market" in w for w in expired.warnings)
    assert app.context.exchange.open_orders() == []


def test_a_second_close_leaves_a_working_exit_to_its_deadline(app: bootstrap.App, clock: ManualClock) -> None:
    """Closing again (or the kill switch's flatten at every pass) while the limit works must not cancel it and send
    another: the market fallback would never come."""
    operation_id = _open(app)
    ctx = dataclasses.replace(
        app.context,
        exchange=RestingLimits(app.context.exchange),  # type: ignore[arg-type]
        close_fallback_seconds=D(3),
    )
    trading.close(ctx, operation_id, "emergency")
    again = trading.close(ctx, operation_id, "emergency, again")
    assert [o.type for o in again.operation.orders if o.role is OrderRole.EXIT] == [OrderType.LIMIT]
    assert any("its exit is working" in w for w in again.warnings)
    clock.advance(timedelta(seconds=3))
    deadlines.expire(ctx)
    assert planning.load(app.context, operation_id).status is OperationStatus.CLOSED


def test_with_no_time_given_the_limits_rest_goes_at_market_at_once(app: bootstrap.App) -> None:
    operation_id = _open(app)
    ctx = dataclasses.replace(
        app.context,
        exchange=RestingLimits(app.context.exchange),  # type: ignore[arg-type]
        close_fallback_seconds=D(0),
    )
    outcome = trading.close(ctx, operation_id, "emergency")
    assert outcome.operation.status is OperationStatus.CLOSED
    exits = [(o.type, o.status.value) for o in outcome.operation.orders if o.role is OrderRole.EXIT]
    assert exits == [(OrderType.LIMIT, "CANCELED"), (OrderType.MARKET, "FILLED")]


def test_the_kill_switch_from_a_command_sees_its_limits_through(app: bootstrap.App, clock: ManualClock) -> None:
    """robson kill returns from the use case with the marketable limit working; the command then follows it on
    its clock (here a sleep that moves the manual clock) until the deadline sends the rest at market: flat."""
    operation_id = _open(app)
    ctx = dataclasses.replace(
        app.context,
        exchange=RestingLimits(app.context.exchange),  # type: ignore[arg-type]
        close_fallback_seconds=D(2),
    )
    flattened = trading.kill(ctx, "test")
    assert not flattened.flat and any("still working" in line for line in flattened.undone)

    done = finish_flatten(ctx, flattened, "kill switch: test", lambda s: clock.advance(timedelta(seconds=s)))

    assert done.flat, done.undone
    op = planning.load(app.context, operation_id)
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.KILL_SWITCH
    exits = [(o.type, o.status.value) for o in op.orders if o.role is OrderRole.EXIT]
    assert exits == [(OrderType.LIMIT, "CANCELED"), (OrderType.MARKET, "FILLED")]
    assert app.context.exchange.open_orders() == []
