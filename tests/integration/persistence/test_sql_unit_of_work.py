"""SqlUnitOfWork: commits save and audit together; anything not committed leaves no trace (in the tables themselves;
what every unit of work promises through the port is tests/contract/test_unit_of_work.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import Engine, func, select

from robson.domain.errors import ConcurrentChange
from robson.domain.fills import Fill
from robson.domain.operation import Operation, OperationStatus
from robson.domain.orders import Order, OrderRole, OrderType
from robson.domain.values import OrderSide, Side
from robson.persistence.database import Sessions
from robson.persistence.tables import audit_events, fills, operations, orders
from robson.persistence.unit_of_work import SqlUnitOfWork
from robson.ports import UnitOfWork

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)


def planned(client_order_id: str = "rb1-e1") -> Operation:
    operation = Operation(
        "BTC/USDT", Side.LONG, "default", D("90000"), D("88200"), D("93600"), D("0.00555"), D("9.99"), "USDT", T0
    )
    operation.add_order(
        Order(client_order_id, "BTC/USDT", OrderSide.BUY, OrderType.MARKET, D("0.00555"), T0, role=OrderRole.ENTRY)
    )
    return operation


def entry_fill() -> Fill:
    return Fill("t1", "rb1-e1", "BTC/USDT", OrderSide.BUY, D("90000"), D("0.00555"), D("0.4995"), "USDT", T1)


def count(engine: Engine, table: object) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


def test_it_satisfies_the_port(sessions: Sessions) -> None:
    uow: UnitOfWork = SqlUnitOfWork(sessions)
    with uow:
        assert uow.operations.list() == []


def test_commit_saves_every_seen_operation_and_audits_its_events(sessions: Sessions) -> None:
    operation = planned()
    with SqlUnitOfWork(sessions, actor="cli:ana") as uow:
        uow.operations.add(operation)
        operation.apply_fill(entry_fill(), T1)  # after add: no explicit save, the commit does it
        uow.commit()
    assert operation.events == []
    with SqlUnitOfWork(sessions) as uow:
        loaded = uow.operations.get(operation.id or 0)
        assert loaded is not None and loaded.status is OperationStatus.ACTIVE and loaded.fills == [entry_fill()]
        records = uow.audit.list(entity="operation", entity_id=str(operation.id))
    assert [r.action for r in records] == ["TrancheAdded", "OperationActive"]
    assert {r.actor for r in records} == {"cli:ana"}


def test_events_recorded_before_the_id_was_assigned_name_the_id(sessions: Sessions) -> None:
    operation = planned()
    operation.cancel(T1, "changed my mind")  # recorded while operation.id is None
    with SqlUnitOfWork(sessions) as uow:
        uow.operations.add(operation)
        uow.commit()
        records = uow.audit.list()
    assert [(r.action, r.entity_id, r.actor) for r in records] == [("OperationCancelled", str(operation.id), "robson")]


def test_a_loaded_operation_changed_in_the_unit_is_saved_on_commit(sessions: Sessions) -> None:
    with SqlUnitOfWork(sessions) as uow:
        operation_id = uow.operations.add(planned()).id
        uow.commit()
    assert operation_id is not None
    with SqlUnitOfWork(sessions) as uow:
        loaded = uow.operations.get(operation_id)
        assert loaded is not None
        loaded.cancel(T1, "too late")
        uow.commit()
    with SqlUnitOfWork(sessions) as uow:
        again = uow.operations.get(operation_id)
        assert again is not None and again.status is OperationStatus.CANCELLED and again.note == "too late"
        assert [r.action for r in uow.audit.list()] == ["OperationCancelled"]


def test_leaving_without_commit_writes_nothing(engine: Engine, sessions: Sessions) -> None:
    operation = planned()
    with SqlUnitOfWork(sessions) as uow:
        uow.operations.add(operation)
        operation.apply_fill(entry_fill(), T1)
        uow.operations.save(operation)
    for table in (operations, orders, fills, audit_events):
        assert count(engine, table) == 0
    assert len(operation.events) == 2  # nothing was audited, so nothing was drained


def test_rollback_discards_the_work_and_an_error_rolls_back_too(engine: Engine, sessions: Sessions) -> None:
    with SqlUnitOfWork(sessions) as uow:
        uow.operations.add(planned())
        uow.rollback()
        uow.commit()  # nothing left to commit
    with pytest.raises(RuntimeError, match="boom"), SqlUnitOfWork(sessions) as uow:
        uow.operations.add(planned())
        raise RuntimeError("boom")
    for table in (operations, orders, fills, audit_events):
        assert count(engine, table) == 0


# ---- optimistic concurrency: a write based on an operation another process changed meanwhile is refused ----


def _stored(sessions: Sessions) -> int:
    with SqlUnitOfWork(sessions) as uow:
        operation = uow.operations.add(planned())
        uow.commit()
    assert operation.id is not None
    return operation.id


def test_a_write_over_a_newer_version_is_refused_and_writes_nothing(engine: Engine, sessions: Sessions) -> None:
    operation_id = _stored(sessions)
    with SqlUnitOfWork(sessions) as first, SqlUnitOfWork(sessions) as second:
        mine, theirs = first.operations.get(operation_id), second.operations.get(operation_id)
        assert mine is not None and theirs is not None
        theirs.note = "changed by the other process"
        second.commit()
        mine.note = "changed here"
        audited = count(engine, audit_events)
        with pytest.raises(ConcurrentChange, match=f"operation {operation_id} was changed by another process"):
            mine.cancel(T1, "cancelled here")
            first.commit()
    assert count(engine, audit_events) == audited  # the refused unit of work left no trace
    with SqlUnitOfWork(sessions) as uow:
        kept = uow.operations.get(operation_id)
        assert kept is not None
        assert kept.note == "changed by the other process" and kept.status is OperationStatus.PLANNED
        assert kept.version == 1
