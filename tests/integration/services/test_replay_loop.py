"""The replay loop: bars through the live services on a manual clock, on the memory ledger and on SQL.

The simulator's fills are applied as they happen (on fill), the monitor's index sees each bar's path, a working
order's deadline is met on the replay's clock, and a bar that changes nothing asks the ledger nothing."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from robson import bootstrap
from robson.clock import ManualClock
from robson.config import ExitSettings, Settings
from robson.domain.bars import Bar
from robson.domain.operation import CloseReason, OperationStatus
from robson.domain.orders import OrderRole, OrderStatus, OrderType
from robson.domain.values import OrderSide, Side
from robson.monitor.replay import ReplayLoop
from robson.ports import ExchangePort, OrderReport, OrderRequest, UnitOfWork
from robson.services import commands, following, planning
from robson.services.context import Context
from robson.services.routing import ExecutionRules
from tests.conftest import DATABASES, database_at

SYMBOL = "BTC/USDT"


@pytest.fixture(params=[pytest.param("memory", id="memory"), *DATABASES])
def build(
    request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> Iterator[Callable[[str], bootstrap.App]]:
    """Builds a Robson on the memory ledger, SQLite or PostgreSQL, with protection `mode`, funded."""
    built: list[bootstrap.App] = []
    with contextlib.ExitStack() as stack:
        target = None if request.param == "memory" else stack.enter_context(database_at(request.param, tmp_path))

        def factory(mode: str) -> bootstrap.App:
            settings = Settings(exits={"default": ExitSettings(mode=mode)})
            url = target.url if target is not None else bootstrap.MEMORY_URL
            schema = target.schema if target is not None else None
            app = bootstrap.build(url, schema=schema, settings=settings, clock=clock, actor="test")
            built.append(app)
            assert app.market is not None
            app.market.reset({"USDT": D(10000)})
            return app

        yield factory
        for app in built:
            app.close()


def _opened(ctx: Context, loop: ReplayLoop, stop: D = D(88200), target: D | None = None) -> int:
    planned = planning.plan(ctx, SYMBOL, Side.LONG, D(90000), stop, target)
    assert planned.operation.id is not None
    loop.follow([commands.execute(ctx, planned.operation.id)])
    return planned.operation.id


def _loop(app: bootstrap.App, clock: ManualClock, price: D = D(90000)) -> ReplayLoop:
    assert app.market is not None
    following.push_price(app.context, app.market, SYMBOL, price)
    return ReplayLoop(app.context, app.market, clock)


def _at(clock: ManualClock, minutes: int) -> datetime:
    return clock.now() + timedelta(minutes=minutes)


class _CountingUnits:
    def __init__(self, inner: Callable[[], UnitOfWork]) -> None:
        self.inner = inner
        self.opened = 0

    def __call__(self) -> UnitOfWork:
        self.opened += 1
        return self.inner()


class _RestingEntries:
    """A venue where a limit entry does not fill at once (a thin book): it rests at 90,000, under the market."""

    def __init__(self, exchange: ExchangePort) -> None:
        self._exchange = exchange

    def place_order(self, request: OrderRequest) -> OrderReport:
        if request.type is OrderType.LIMIT and request.side is OrderSide.BUY:
            request = dataclasses.replace(request, price=D(90000))
        return self._exchange.place_order(request)

    def __getattr__(self, name: str) -> object:
        return getattr(self._exchange, name)


def _resting_entries(ctx: Context) -> Context:
    """Entries go as limits (the slippage allowed is below the paper venue's), which rest; each works 5 minutes."""
    return dataclasses.replace(
        ctx,
        exchange=_RestingEntries(ctx.exchange),  # type: ignore[arg-type]
        execution=ExecutionRules(max_slippage_bps=D(1), on_excess_slippage="limit", fill_seconds=D(300)),
    )


def test_an_internal_stop_crossed_inside_a_bar_exits_at_once(
    build: Callable[[str], bootstrap.App], clock: ManualClock
) -> None:
    app = build("internal")
    loop = _loop(app, clock)
    operation_id = _opened(app.context, loop)
    assert app.context.exchange.open_orders() == []  # nothing rests: the loop's index holds the stop
    assert loop.step(SYMBOL, Bar(D(90000), D(90400), D(89500), D(90100)), _at(clock, 1)) == []
    # the open is nearer the high: the path goes up first, then down through the stop, then closes above it
    [outcome] = loop.step(SYMBOL, Bar(D(90100), D(90300), D(88000), D(89000)), _at(clock, 2))
    op = planning.load(app.context, operation_id)
    assert outcome.operation.id == operation_id
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.STOP_LOSS
    assert operation_id not in loop.monitor.index


def test_a_target_the_simulator_fills_is_booked_from_its_fill(
    build: Callable[[str], bootstrap.App], clock: ManualClock
) -> None:
    app = build("exchange")
    loop = _loop(app, clock)
    operation_id = _opened(app.context, loop)
    target = planning.load(app.context, operation_id).target_price
    assert target is not None and app.context.exchange.open_orders(SYMBOL)  # the OCO rests on the venue
    outcomes = loop.step(SYMBOL, Bar(D(90000), target + 100, D(89900), target), _at(clock, 1))
    op = planning.load(app.context, operation_id)
    assert [o.operation.id for o in outcomes][:1] == [operation_id]
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.TAKE_PROFIT
    assert [o.status for o in op.orders if o.role is OrderRole.TARGET] == [OrderStatus.FILLED]
    assert operation_id not in loop.monitor.index and app.context.exchange.open_orders() == []


def test_a_bar_that_changes_nothing_asks_the_ledger_nothing(
    build: Callable[[str], bootstrap.App], clock: ManualClock
) -> None:
    app = build("internal")
    loop = _loop(app, clock)
    _opened(app.context, loop)
    counting = _CountingUnits(app.context.unit_of_work)
    loop.ctx = dataclasses.replace(app.context, unit_of_work=counting)
    loop.monitor.ctx = loop.ctx
    loop.last_mark[SYMBOL] = clock.now()
    for _ in range(30):  # half an hour inside the range: no level crossed, no mark due
        assert loop.step(SYMBOL, Bar(D(90000), D(90200), D(89800), D(90000)), _at(clock, 1)) == []
    assert counting.opened == 0
    loop.step(SYMBOL, Bar(D(90000), D(90200), D(89800), D(90000)), _at(clock, 60))  # the hourly mark
    assert counting.opened > 0


def test_a_resting_entry_ends_at_its_deadline_on_the_replays_clock(
    build: Callable[[str], bootstrap.App], clock: ManualClock
) -> None:
    """execute returns once the entry is sent; the limit rests (the market ran away from the plan); the loop's bar
    at the deadline cancels it, and the plan that filled nothing stays PLANNED. Nothing waits."""
    app = build("exchange")
    loop = _loop(app, clock, D(90500))
    ctx = _resting_entries(app.context)
    loop.ctx = loop.monitor.ctx = ctx
    operation_id = _opened(ctx, loop, target=D(96000))
    [entry] = planning.load(ctx, operation_id).open_orders(OrderRole.ENTRY)
    assert entry.type is OrderType.LIMIT and entry.deadline == clock.now() + timedelta(seconds=300)
    assert loop.step(SYMBOL, Bar(D(90500), D(90600), D(90400), D(90500)), _at(clock, 1)) == []
    [outcome] = loop.step(SYMBOL, Bar(D(90500), D(90600), D(90400), D(90500)), _at(clock, 5))
    op = planning.load(ctx, operation_id)
    assert outcome.operation.id == operation_id and not op.open_orders()
    assert op.status is OperationStatus.PLANNED
    assert [o.status for o in op.orders] == [OrderStatus.CANCELED]


def test_a_resting_entry_a_bar_reaches_is_filled_and_protected(
    build: Callable[[str], bootstrap.App], clock: ManualClock
) -> None:
    app = build("exchange")
    loop = _loop(app, clock, D(90500))
    ctx = _resting_entries(app.context)
    loop.ctx = loop.monitor.ctx = ctx
    operation_id = _opened(ctx, loop, target=D(96000))
    outcomes = loop.step(SYMBOL, Bar(D(90500), D(90500), D(89950), D(90200)), _at(clock, 1))
    op = planning.load(ctx, operation_id)
    assert [o.operation.id for o in outcomes][:1] == [operation_id]
    assert op.status is OperationStatus.ACTIVE and op.is_protected
    assert operation_id not in loop.deadlines
    assert operation_id in loop.monitor.index  # watched from the outcome: no ledger read to find it
