"""Reconciliation against the paper venue: fills while away adopted once, vanished orders marked and the position
protected again, and what cannot be repaired safely flagged for the trader, untouched."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

from robson.bootstrap import App
from robson.domain.operation import OperationStatus
from robson.domain.orders import OrderRole, OrderStatus, OrderType
from robson.domain.values import OrderSide, Side
from robson.ports import ExchangePort, OrderReport, OrderRequest, UnknownOrder
from robson.services import commands, planning
from robson.services.reconcile import reconcile


def _open(app: App) -> int:
    app.market.push_price("BTC/USDT", D(90000))
    planned = planning.plan(app.context, "BTC/USDT", Side.LONG, D(90000), D(88200))
    assert planned.operation.id is not None
    commands.execute(app.context, planned.operation.id)
    return planned.operation.id


def test_a_ledger_that_matches_the_venue_shows_no_difference(app: App) -> None:
    _open(app)
    assert reconcile(app.context).differences == []


def test_a_target_filled_while_away_is_adopted_once(app: App) -> None:
    operation_id = _open(app)
    app.market.push_price("BTC/USDT", D(93700))  # the venue's OCO fills while no Robson process runs
    first = reconcile(app.context)
    assert any("TARGET" in d.detail for d in first.differences) and first.flagged == []
    op = planning.load(app.context, operation_id)
    assert op.status is OperationStatus.CLOSED and len(op.fills) == 2
    assert op.realized_pnl == sum(  # to the cent and beyond: the ledger's P&L is the venue's fills and fees
        (f.price * f.quantity * (1 if f.side is OrderSide.SELL else -1) - f.fee for f in op.fills), D(0)
    )
    assert reconcile(app.context).differences == []  # a second pass finds nothing


class Forgetful:
    """The paper venue, except that it has forgotten one order (as a venue may after an incident)."""

    def __init__(self, inner: ExchangePort, forgotten: str) -> None:
        self.inner, self.forgotten = inner, forgotten
        self.name, self.capabilities = inner.name, inner.capabilities

    def __getattr__(self, attribute: str) -> object:
        return getattr(self.inner, attribute)

    def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        if client_order_id == self.forgotten:
            raise UnknownOrder("Order does not exist.")
        return self.inner.get_order(symbol, client_order_id)

    def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        return [r for r in self.inner.open_orders(symbol) if r.client_order_id != self.forgotten]


def test_a_vanished_stop_is_marked_expired_and_the_position_protected_again(app: App) -> None:
    operation_id = _open(app)
    stop = planning.load(app.context, operation_id).open_orders(OrderRole.STOP)[0]
    app.context.exchange.cancel_order("BTC/USDT", stop.client_order_id)  # its list goes with it
    ctx = dataclasses.replace(app.context, exchange=Forgetful(app.context.exchange, stop.client_order_id))
    result = reconcile(ctx)
    assert any("unknown to the venue: recorded as EXPIRED" in d.detail for d in result.differences)
    op = planning.load(app.context, operation_id)
    assert op.order(stop.client_order_id).status is OrderStatus.EXPIRED
    assert op.is_protected and op.status is OperationStatus.ACTIVE
    live = {r.client_order_id for r in app.context.exchange.open_orders()}
    assert {o.client_order_id for o in op.open_orders(OrderRole.STOP)} <= live


def test_a_position_and_an_order_no_operation_knows_are_flagged_and_left_alone(app: App) -> None:
    _open(app)
    stray = OrderRequest("by-hand-1", "BTC/USDT", OrderSide.BUY, OrderType.MARKET, D("0.001"))
    app.context.exchange.place_order(stray)  # bought outside Robson
    resting = OrderRequest("by-hand-2", "BTC/USDT", OrderSide.BUY, OrderType.LIMIT, D("0.001"), D(80000))
    app.context.exchange.place_order(resting)
    result = reconcile(app.context)
    subjects = {d.subject: d.detail for d in result.flagged}
    assert set(subjects) == {"BTC", "by-hand-2"}
    assert "0.00100 BTC belong to no operation" in subjects["BTC"]
    assert "does not know" in subjects["by-hand-2"]
    assert app.context.exchange.get_order("BTC/USDT", "by-hand-2").status is OrderStatus.NEW  # untouched


class BothLegs(Forgetful):
    """The paper venue, except that it says both legs of an OCO list were executed (as a venue did when two
    processes moved a stale copy of the paper account at once); it forgets nothing."""

    def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        report = self.inner.get_order(symbol, client_order_id)
        if client_order_id != self.forgotten:
            return report
        return dataclasses.replace(report, status=OrderStatus.FILLED, filled_quantity=report.quantity)

    def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        return self.inner.open_orders(symbol)


def test_an_oco_whose_two_legs_both_executed_on_the_venue_is_flagged(app: App) -> None:
    operation_id = _open(app)
    app.market.push_price("BTC/USDT", D(93700))  # the target fills; the venue cancels the stop with it
    assert reconcile(app.context).flagged == []
    op = planning.load(app.context, operation_id)
    (stop,) = [o for o in op.orders if o.role is OrderRole.STOP]
    assert op.status is OperationStatus.CLOSED and stop.status is OrderStatus.CANCELED
    ctx = dataclasses.replace(app.context, exchange=BothLegs(app.context.exchange, stop.client_order_id))

    result = reconcile(ctx)

    (flagged,) = result.flagged
    assert flagged.subject == stop.client_order_id
    assert f"operation {operation_id}'s STOP order: the venue says FILLED" in flagged.detail
    assert "the ledger CANCELED with 0" in flagged.detail
