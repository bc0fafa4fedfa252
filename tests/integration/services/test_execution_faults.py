"""Faults lose nothing: timeouts before and after the venue accepts, refusals, and a crash mid-execution."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest

from robson.bootstrap import App
from robson.domain.operation import CloseReason, OperationStatus
from robson.domain.orders import OrderStatus
from robson.domain.values import Side
from robson.ports import ExchangePort, OcoRequest, OrderReport, OrderRequest, Rejected, Retryable
from robson.services import following, planning, trading
from robson.services.context import Context
from robson.services.errors import Refused
from tests.integration.services.conftest import AppFactory


class Crash(BaseException):
    """The process dies here (BaseException, as SystemExit or KeyboardInterrupt are: nothing catches it)."""


class FaultyVenue:
    """Wraps the paper venue and injects one fault into the next order placement."""

    def __init__(self, inner: ExchangePort, fault: str) -> None:
        self.inner = inner
        self.fault = fault
        self.name = inner.name
        self.capabilities = inner.capabilities
        self.placed: list[str] = []
        self.attempts = 0

    def __getattr__(self, attribute: str) -> object:
        return getattr(self.inner, attribute)

    def place_order(self, request: OrderRequest) -> OrderReport:
        fault = self.fault
        if fault in ("timeout_before", "timeout_after", "crash_after"):
            self.fault = "none"  # one fault, then the venue behaves
        if fault in ("timeout_before", "down"):
            self.attempts += 1
            raise Retryable("read timed out before the venue saw the request")
        report = self.inner.place_order(request)
        self.placed.append(request.client_order_id)
        if fault == "timeout_after":
            raise Retryable("read timed out after the venue accepted the order")
        if fault == "crash_after":
            raise Crash
        return report

    def place_oco(self, request: OcoRequest) -> tuple[OrderReport, OrderReport]:
        if self.fault == "reject_oco":
            raise Rejected("The relationship of the prices for the orders is not correct.")
        return self.inner.place_oco(request)


def _plan(app: App) -> int:
    following.push_price(app.context, app.market, "BTC/USDT", D(90000))
    planned = planning.plan(app.context, "BTC/USDT", Side.LONG, D(90000), D(88200))
    assert planned.operation.id is not None
    return planned.operation.id


def _with(app: App, fault: str) -> tuple[Context, FaultyVenue]:
    venue = FaultyVenue(app.context.exchange, fault)
    return dataclasses.replace(app.context, exchange=venue), venue  # type: ignore[arg-type]


def _venue_entries(app: App) -> D:
    return app.context.exchange.balances().get("BTC", None).total  # type: ignore[union-attr]


def test_timeout_after_accept_is_resolved_by_client_id_without_a_second_order(app: App) -> None:
    operation_id = _plan(app)
    ctx, venue = _with(app, "timeout_after")
    outcome = trading.execute(ctx, operation_id)
    op = outcome.operation
    assert op.status is OperationStatus.ACTIVE
    assert venue.placed == ["rb1-e1"]  # one entry, never resent
    assert _venue_entries(app) == op.position.quantity == op.quantity
    assert op.is_protected


def test_timeout_before_the_venue_saw_it_is_sent_again_with_the_same_client_order_id(app: App) -> None:
    operation_id = _plan(app)
    ctx, venue = _with(app, "timeout_before")
    op = trading.execute(ctx, operation_id).operation  # asked for rb1-e1: not there, so it went again
    assert op.status is OperationStatus.ACTIVE
    assert venue.attempts == 1 and venue.placed == ["rb1-e1"]
    assert _venue_entries(app) == op.position.quantity == op.quantity
    with app.context.unit_of_work() as uow:
        [row] = [r for r in uow.executions.list() if r.client_order_id == "rb1-e1"]
    assert row.retries == 1 and row.status == "FILLED" and row.error is not None and "timed out" in row.error


def test_a_venue_that_never_answers_leaves_the_plan_ready_to_execute_again(app: App) -> None:
    operation_id = _plan(app)
    ctx, venue = _with(app, "down")
    with pytest.raises(Refused, match="never reached the venue"):
        trading.execute(ctx, operation_id)
    assert venue.attempts == ctx.retry.attempts  # every attempt asked first, then sent the same id again
    op = planning.load(app.context, operation_id)
    assert op.status is OperationStatus.PLANNED
    assert op.order("rb1-e1").status is OrderStatus.REJECTED
    assert "BTC" not in app.context.exchange.balances() or _venue_entries(app) == 0
    venue.fault = "none"
    op = trading.execute(ctx, operation_id).operation  # executing again gets a new client order id
    assert op.status is OperationStatus.ACTIVE
    assert venue.placed == ["rb1-e2"]


def test_refused_protection_exits_at_once(app: App) -> None:
    operation_id = _plan(app)
    ctx, _ = _with(app, "reject_oco")
    outcome = trading.execute(ctx, operation_id)
    op = outcome.operation
    assert op.status is OperationStatus.CLOSED
    assert op.close_reason is CloseReason.PROTECTION_FAILED
    assert op.position.is_flat and _venue_entries(app) == 0
    assert any("refused the protective orders" in w for w in outcome.warnings)


def test_crash_after_the_venue_filled_the_entry_is_recovered_and_protected(app: App, make_app: AppFactory) -> None:
    operation_id = _plan(app)
    ctx, _ = _with(app, "crash_after")
    with pytest.raises(Crash):
        trading.execute(ctx, operation_id)
    app.close()

    restarted = make_app()
    op = planning.load(restarted.context, operation_id)
    assert op.order("rb1-e1").status is OrderStatus.PENDING_NEW  # the intent was on record before the send
    outcomes = following.sync(restarted.context)
    op = planning.load(restarted.context, operation_id)
    assert op.status is OperationStatus.ACTIVE
    assert op.position.quantity == _venue_entries(restarted)  # the fill was adopted exactly once
    assert op.is_protected  # and the position got its stop
    assert any("protecting it again" in w for o in outcomes for w in o.warnings)
    assert following.sync(restarted.context) == []  # a second pass finds nothing left to do
    with pytest.raises(Exception, match="only PLANNED"):
        trading.execute(restarted.context, operation_id)  # and nothing can place the entry twice
