"""What the risk rules read: the open operations, those created or closed since a moment, and the last closed
ones; never the whole history."""

from __future__ import annotations

from decimal import Decimal as D

from robson.domain.operation import Operation
from robson.domain.orders import OrderRole, OrderType
from robson.domain.values import OrderSide
from robson.persistence.database import Sessions
from robson.persistence.repositories import SqlOperationRepository

from .test_sql_operations import at, enter, fill, order, plan


def _closed(prefix: str, minute: int) -> Operation:
    operation = plan(prefix)
    enter(operation, prefix)
    held = operation.position.quantity
    operation.add_order(order(f"{prefix}-x1", OrderSide.SELL, OrderType.MARKET, str(held), OrderRole.EXIT))
    operation.apply_fill(
        fill(f"{prefix}-t9", f"{prefix}-x1", OrderSide.SELL, "91000", str(held), "0.1", "USDT", minute), at(minute)
    )
    assert operation.closed_at == at(minute)  # the last fill closed it
    return operation


def test_recent_reads_the_open_the_recent_and_the_last_closed(sessions: Sessions) -> None:
    active = plan("c")
    enter(active, "c")
    cancelled = plan("e")
    cancelled.cancel(at(2000), "changed my mind")
    stored = {
        "old": _closed("a", 10),
        "last of the old": _closed("b", 20),
        "active": active,
        "planned": plan("d"),
        "cancelled since": cancelled,
        "closed since": _closed("f", 1500),
    }
    with sessions() as session:
        repository = SqlOperationRepository(session)
        for operation in stored.values():
            repository.add(operation)
        session.commit()

    with sessions() as session:
        found = {op.note for op in SqlOperationRepository(session).recent(at(1000), 2)}  # f, then b
    wanted = ("last of the old", "active", "planned", "cancelled since", "closed since")
    assert found == {stored[name].note for name in wanted}

    with sessions() as session:  # the last three closed: the oldest too, and never a duplicate
        again = [op.note for op in SqlOperationRepository(session).recent(at(1000), 3)]
    assert sorted(again) == sorted(op.note for op in stored.values())
    assert D(len(again)) == len(stored)
