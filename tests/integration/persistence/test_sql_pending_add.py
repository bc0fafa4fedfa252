"""An operation's pending tranche (Operation.pending_add) is stored in its row's add_* columns."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update

from robson.domain.operation import Operation, OperationStatus, PendingAdd
from robson.domain.position import PositionStatus
from robson.domain.values import Side
from robson.persistence.database import Sessions, migrate, session_factory
from robson.persistence.repositories import SqlOperationRepository
from robson.persistence.tables import operations
from robson.persistence.unit_of_work import SqlUnitOfWork

from .statements import recorded
from .test_sql_operations import enter, plan

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ADD = PendingAdd(
    entry_price=D("91500.50"),
    quantity=D("0.00300"),
    stop_price=D("89100"),
    risk_amount=D("9.9900"),
    planned_at=T0 + timedelta(hours=2, microseconds=123456),
)
ADD_COLUMNS = [
    operations.c.add_entry_price,
    operations.c.add_quantity,
    operations.c.add_stop_price,
    operations.c.add_risk_amount,
    operations.c.add_planned_at,
]


def stored(sessions: Sessions, operation: Operation) -> int:
    enter(operation)
    with sessions() as session:
        SqlOperationRepository(session).add(operation)
        session.commit()
    assert operation.id is not None
    return operation.id


def reload(sessions: Sessions, operation_id: int) -> Operation:
    with SqlUnitOfWork(sessions) as uow:
        loaded = uow.operations.get(operation_id)
    assert loaded is not None
    return loaded


def add_columns(engine: Engine, operation_id: int) -> tuple[Any, ...]:
    with engine.connect() as connection:
        return tuple(connection.execute(select(*ADD_COLUMNS).where(operations.c.id == operation_id)).one())


def operation_updates(engine: Engine) -> AbstractContextManager[list[str]]:
    return recorded(engine, "UPDATE OPERATIONS")


def test_a_pending_add_survives_a_reload_exactly(sessions: Sessions) -> None:
    operation = plan()
    operation.pending_add = ADD
    operation_id = stored(sessions, operation)
    loaded = reload(sessions, operation_id)
    assert loaded.status is OperationStatus.ACTIVE
    assert loaded.pending_add == ADD
    assert loaded.pending_add is not None
    assert [str(v) for v in (loaded.pending_add.entry_price, loaded.pending_add.quantity)] == ["91500.50", "0.00300"]
    assert str(loaded.pending_add.risk_amount) == "9.9900"


def test_no_pending_add_is_five_nulls(sessions: Sessions, engine: Engine) -> None:
    operation_id = stored(sessions, plan())
    assert add_columns(engine, operation_id) == (None,) * 5
    assert reload(sessions, operation_id).pending_add is None


def test_the_unit_of_work_saves_a_change_of_the_pending_add_alone(sessions: Sessions, engine: Engine) -> None:
    operation_id = stored(sessions, plan())
    with operation_updates(engine) as updates, SqlUnitOfWork(sessions) as uow:
        loaded = uow.operations.get(operation_id)
        assert loaded is not None
        uow.commit()
        assert updates == []  # nothing changed: nothing written
        loaded.pending_add = ADD
        uow.commit()
        assert len(updates) == 1
    assert reload(sessions, operation_id).pending_add == ADD
    assert add_columns(engine, operation_id) == (
        ADD.entry_price,
        ADD.quantity,
        ADD.stop_price,
        ADD.risk_amount,
        ADD.planned_at,
    )

    with SqlUnitOfWork(sessions) as uow:
        loaded = uow.operations.get(operation_id)
        assert loaded is not None
        loaded.pending_add = PendingAdd(D("92000"), D("0.001"), D("89500"), D("8.5"), T0 + timedelta(hours=3))
        uow.commit()
    assert reload(sessions, operation_id).pending_add == PendingAdd(
        D("92000"), D("0.001"), D("89500"), D("8.5"), T0 + timedelta(hours=3)
    )

    with SqlUnitOfWork(sessions) as uow:
        loaded = uow.operations.get(operation_id)
        assert loaded is not None
        loaded.pending_add = None  # the tranche filled or was given up
        uow.commit()
    assert add_columns(engine, operation_id) == (None,) * 5


def test_a_partly_stored_pending_add_is_refused(sessions: Sessions, engine: Engine) -> None:
    operation = plan()
    operation.pending_add = ADD
    operation_id = stored(sessions, operation)
    with engine.begin() as connection:
        connection.execute(update(operations).where(operations.c.id == operation_id).values(add_stop_price=None))
    with pytest.raises(ValueError, match="partial pending add: add_stop_price null"):
        reload(sessions, operation_id)


def test_operations_stored_before_0002_load_without_a_pending_add(unmigrated_engine: Engine) -> None:
    migrate(unmigrated_engine, "0001")
    with unmigrated_engine.begin() as connection:  # only 0001's columns
        connection.execute(
            insert(operations).values(
                id=7,
                symbol="BTC/USDT",
                side=Side.LONG.value,
                strategy="default",
                status=OperationStatus.PLANNED.value,
                entry_price=D("90000"),
                stop_price=D("88200"),
                quantity=D("0.00555"),
                risk_amount=D("9.99"),
                quote="USDT",
                note="",
                position_status=PositionStatus.CLOSED.value,
                created_at=T0,
            )
        )
    migrate(unmigrated_engine)
    loaded = reload(session_factory(unmigrated_engine), 7)
    assert loaded.pending_add is None
    assert (loaded.entry_price, loaded.created_at) == (D("90000"), T0)
