"""Manual and emergency closes: cancel the protection, then a marketable limit 0.1% through the price, then the
market for whatever it left."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

from robson import bootstrap
from robson.domain.operation import CloseReason, OperationStatus
from robson.domain.orders import OrderRole, OrderType
from robson.domain.values import Side
from robson.ports import ExchangePort, OrderReport, OrderRequest
from robson.services import commands, following, planning, trading


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


def test_an_unfilled_limit_falls_back_to_market_after_its_looks(app: bootstrap.App) -> None:
    operation_id = _open(app)
    looks: list[int] = []
    ctx = dataclasses.replace(
        app.context,
        exchange=RestingLimits(app.context.exchange),  # type: ignore[arg-type]
        close_fallback_checks=3,
        wait=lambda: looks.append(1),
    )
    outcome = trading.close(ctx, operation_id, "emergency")
    op = planning.load(app.context, operation_id)
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.MANUAL
    exits = [(o.type, o.status.value) for o in op.orders if o.role is OrderRole.EXIT]
    assert exits == [(OrderType.LIMIT, "CANCELED"), (OrderType.MARKET, "FILLED")]
    assert len(looks) == 3
    assert any("sent at market" in w for w in outcome.warnings)
    assert app.context.exchange.open_orders() == []
