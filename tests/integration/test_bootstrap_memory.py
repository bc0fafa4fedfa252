"""A whole Robson on the memory ledger (bootstrap.build(MEMORY_URL)), the backtester's: the same use cases and the
paper venue, the ledger, the paper account and its price queue in memory, nothing written anywhere."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest

from robson import bootstrap
from robson.clock import ManualClock
from robson.config import ExitSettings, Settings
from robson.domain.operation import CloseReason, OperationStatus
from robson.domain.orders import OrderRole
from robson.domain.values import Side
from robson.monitor.loop import Monitor
from robson.services import commands, following, planning

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("ROBSON_CONFIG", raising=False)
    monkeypatch.delenv("ROBSON_DATABASE_URL", raising=False)
    monkeypatch.setenv("ROBSON_DATA_DIR", str(tmp_path))
    return tmp_path


def memory_robson(mode: str) -> Iterator[bootstrap.App]:
    settings = Settings(exits={"default": ExitSettings(mode=mode)})
    app = bootstrap.build(bootstrap.MEMORY_URL, settings=settings, clock=ManualClock(START), actor="test")
    assert app.market is not None
    app.market.reset({"USDT": D("10000")})
    yield app
    app.close()


@pytest.fixture
def internal(data_dir: Path) -> Iterator[bootstrap.App]:
    yield from memory_robson("internal")


@pytest.fixture
def on_venue(data_dir: Path) -> Iterator[bootstrap.App]:
    yield from memory_robson("exchange")


def opened(app: bootstrap.App) -> int:
    assert app.market is not None
    following.push_price(app.context, app.market, "BTC/USDT", D(90000))
    planned = planning.plan(app.context, "BTC/USDT", Side.LONG, D(90000), D(88200))
    assert planned.operation.id is not None
    commands.execute(app.context, planned.operation.id)
    assert planning.load(app.context, planned.operation.id).status is OperationStatus.ACTIVE
    return planned.operation.id


def test_a_price_through_the_internal_stop_closes_the_operation(internal: bootstrap.App, data_dir: Path) -> None:
    operation_id = opened(internal)
    assert internal.engine is None and internal.context.exchange.open_orders() == []  # the stop lives in Robson
    monitor = Monitor(internal.context, internal.feed)
    monitor.recover()
    assert internal.market is not None
    internal.market.push_price("BTC/USDT", D(88000))
    monitor.poll_once()
    op = planning.load(internal.context, operation_id)
    assert (op.status, op.close_reason) == (OperationStatus.CLOSED, CloseReason.STOP_LOSS)
    assert op.position.is_flat and op.realized_pnl < 0
    assert -op.realized_pnl <= op.risk_amount + op.slippage_past_stop  # the budget, and the gap past the stop
    with internal.context.unit_of_work() as uow:
        actions = [record.action for record in uow.audit.list("operation", str(operation_id))]
        executed = [(record.role, record.status) for record in uow.executions.list()]
    assert "StopLossTriggered" in actions and actions[-1] == "OperationClosed"
    assert executed == [("ENTRY", "FILLED"), ("EXIT", "FILLED")]
    assert list(data_dir.iterdir()) == []  # nothing written anywhere


def test_the_venues_stop_fills_and_the_monitor_books_it(on_venue: bootstrap.App) -> None:
    operation_id = opened(on_venue)
    protection = planning.load(on_venue.context, operation_id).open_orders(OrderRole.STOP, OrderRole.TARGET)
    resting = {o.client_order_id for o in on_venue.context.exchange.open_orders()}
    assert len(protection) == 2 and resting == {o.client_order_id for o in protection}
    monitor = Monitor(on_venue.context, on_venue.feed)
    monitor.recover()
    assert on_venue.market is not None
    on_venue.market.push_price("BTC/USDT", D(88100))  # through the stop resting on the venue
    monitor.poll_once()
    op = planning.load(on_venue.context, operation_id)
    assert (op.status, op.close_reason) == (OperationStatus.CLOSED, CloseReason.STOP_LOSS)
    assert on_venue.context.exchange.open_orders() == []  # the OCO's target went with it


def test_each_memory_robson_has_its_own_ledger(internal: bootstrap.App, data_dir: Path) -> None:
    opened(internal)
    other = bootstrap.build(bootstrap.MEMORY_URL, clock=ManualClock(START))
    try:
        with other.context.unit_of_work() as uow:
            assert uow.operations.list() == []
        assert other.context.exchange.open_orders() == [] and other.feed.poll() == []
    finally:
        other.close()
