"""SqlUnitOfWork: commits save and audit together; anything not committed leaves no trace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from robson.domain.fills import Fill
from robson.domain.operation import Operation, OperationStatus
from robson.domain.orders import Order, OrderRole, OrderType
from robson.domain.values import OrderSide, Side
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


def test_it_satisfies_the_port(sessions: sessionmaker[Session]) -> None:
    uow: UnitOfWork = SqlUnitOfWork(sessions)
    with uow:
        assert uow.operations.list() == []


def test_commit_saves_every_seen_operation_and_audits_its_events(sessions: sessionmaker[Session]) -> None:
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


def test_events_recorded_before_the_id_was_assigned_name_the_id(sessions: sessionmaker[Session]) -> None:
    operation = planned()
    operation.cancel(T1, "changed my mind")  # recorded while operation.id is None
    with SqlUnitOfWork(sessions) as uow:
        uow.operations.add(operation)
        uow.commit()
        records = uow.audit.list()
    assert [(r.action, r.entity_id, r.actor) for r in records] == [("OperationCancelled", str(operation.id), "robson")]


def test_a_loaded_operation_changed_in_the_unit_is_saved_on_commit(sessions: sessionmaker[Session]) -> None:
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


def test_leaving_without_commit_writes_nothing(engine: Engine, sessions: sessionmaker[Session]) -> None:
    operation = planned()
    with SqlUnitOfWork(sessions) as uow:
        uow.operations.add(operation)
        operation.apply_fill(entry_fill(), T1)
        uow.operations.save(operation)
    for table in (operations, orders, fills, audit_events):
        assert count(engine, table) == 0
    assert len(operation.events) == 2  # nothing was audited, so nothing was drained


def test_rollback_discards_the_work_and_an_error_rolls_back_too(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    with SqlUnitOfWork(sessions) as uow:
        uow.operations.add(planned())
        uow.rollback()
        uow.commit()  # nothing left to commit
    with pytest.raises(RuntimeError, match="boom"), SqlUnitOfWork(sessions) as uow:
        uow.operations.add(planned())
        raise RuntimeError("boom")
    for table in (operations, orders, fills, audit_events):
        assert count(engine, table) == 0


def test_the_unit_is_reusable_and_refuses_use_outside_a_with_block(sessions: sessionmaker[Session]) -> None:
    uow = SqlUnitOfWork(sessions)
    with pytest.raises(RuntimeError, match="not open"):
        uow.commit()
    for client_order_id in ("rb1-e1", "rb2-e1"):
        with uow:
            uow.operations.add(planned(client_order_id))
            uow.commit()
    with uow:
        assert len(uow.operations.list()) == 2
