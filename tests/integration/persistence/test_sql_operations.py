"""SqlOperationRepository: an operation's whole life survives a save and a reload in a new session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import Engine, event, func, select

from robson.domain.fills import Fill
from robson.domain.operation import CloseReason, Operation, OperationStatus
from robson.domain.orders import Order, OrderRole, OrderStatus, OrderType
from robson.domain.position import PositionStatus
from robson.domain.values import OrderSide, Side
from robson.persistence.database import Sessions
from robson.persistence.repositories import SqlOperationRepository
from robson.persistence.tables import fills, orders

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def plan(prefix: str = "rb1") -> Operation:
    operation = Operation(
        symbol="BTC/USDT",
        side=Side.LONG,
        strategy="default",
        entry_price=D("90000"),
        stop_price=D("88200"),
        target_price=D("93600"),
        quantity=D("0.00555"),
        risk_amount=D("9.99"),
        quote="USDT",
        created_at=T0,
        note=f"{prefix} thesis",
    )
    operation.add_order(order(f"{prefix}-e1", OrderSide.BUY, OrderType.MARKET, "0.00555", OrderRole.ENTRY))
    return operation


def order(
    cid: str,
    side: OrderSide,
    kind: OrderType,
    quantity: str,
    role: OrderRole,
    price: D | None = None,
    stop_price: D | None = None,
) -> Order:
    return Order(
        client_order_id=cid,
        symbol="BTC/USDT",
        side=side,
        type=kind,
        quantity=D(quantity),
        created_at=T0,
        role=role,
        price=price,
        stop_price=stop_price,
    )


def fill(
    trade_id: str, cid: str, side: OrderSide, price: str, quantity: str, fee: str, asset: str, minute: int
) -> Fill:
    return Fill(trade_id, cid, "BTC/USDT", side, D(price), D(quantity), D(fee), asset, at(minute))


def enter(operation: Operation, prefix: str = "rb1") -> None:
    """Two entry fills, the first paying its fee in the base asset: two tranches."""
    operation.apply_fill(
        fill(f"{prefix}-t1", f"{prefix}-e1", OrderSide.BUY, "90000", "0.003", "0.000003", "BTC", 1), at(1)
    )
    operation.apply_fill(
        fill(f"{prefix}-t2", f"{prefix}-e1", OrderSide.BUY, "90010.5", "0.00255", "0.2295", "USDT", 2), at(2)
    )


def exit_partly(operation: Operation) -> None:
    operation.add_order(order("rb1-x1", OrderSide.SELL, OrderType.MARKET, "0.002", OrderRole.EXIT))
    operation.apply_fill(fill("rb1-t3", "rb1-x1", OrderSide.SELL, "91000", "0.002", "0.182", "USDT", 3), at(3))
    operation.add_order(
        order("rb1-s1", OrderSide.SELL, OrderType.STOP_MARKET, "0.00355", OrderRole.STOP, stop_price=D("88200"))
    )
    operation.add_order(order("rb1-p1", OrderSide.SELL, OrderType.LIMIT, "0.00355", OrderRole.TARGET, price=D("93600")))
    for protective in operation.open_orders(OrderRole.STOP, OrderRole.TARGET):
        protective.list_id = "rb1-oco"
        protective.exchange_order_id = f"x-{protective.client_order_id}"
        protective.move_to(OrderStatus.NEW, at(3))


def exit_fully(operation: Operation) -> None:
    operation.apply_fill(fill("rb1-t4", "rb1-p1", OrderSide.SELL, "93600", "0.001", "0.0936", "USDT", 4), at(4))
    operation.order("rb1-s1").move_to(OrderStatus.CANCELED, at(5))
    operation.apply_fill(fill("rb1-t5", "rb1-p1", OrderSide.SELL, "93600", "0.00255", "0.23868", "USDT", 5), at(5))


def assert_same(loaded: Operation, expected: Operation) -> None:
    for name in ("id", "symbol", "side", "strategy", "entry_price", "stop_price", "target_price", "quantity"):
        assert getattr(loaded, name) == getattr(expected, name), name
    for name in ("risk_amount", "quote", "created_at", "status", "close_reason", "note", "activated_at", "closed_at"):
        assert getattr(loaded, name) == getattr(expected, name), name
    assert loaded.orders == expected.orders
    assert [o.id for o in loaded.orders] == [o.id for o in expected.orders]
    assert loaded.fills == expected.fills
    got, want = loaded.position, expected.position
    assert (got.status, got.quantity, got.average_entry, got.cost_basis) == (
        want.status,
        want.quantity,
        want.average_entry,
        want.cost_basis,
    )
    assert (got.realized_pnl, got.fees_paid, got.open_entry_fees) == (
        want.realized_pnl,
        want.fees_paid,
        want.open_entry_fees,
    )
    assert got.tranches == want.tranches
    assert got.trades == want.trades
    assert loaded.events == []


def reload(sessions: Sessions, operation_id: int) -> Operation:
    with sessions() as session:
        loaded = SqlOperationRepository(session).get(operation_id)
    assert loaded is not None
    return loaded


def test_add_assigns_ids_to_the_operation_and_its_orders(sessions: Sessions) -> None:
    operation = plan()
    with sessions() as session:
        SqlOperationRepository(session).add(operation)
        session.commit()
    assert operation.id is not None
    assert [(o.operation_id, o.id is not None) for o in operation.orders] == [(operation.id, True)]
    assert_same(reload(sessions, operation.id), operation)


def test_a_whole_life_survives_save_and_reload(sessions: Sessions) -> None:
    operation = plan()
    with sessions() as session:
        SqlOperationRepository(session).add(operation)
        session.commit()
    assert operation.id is not None

    enter(operation)
    exit_partly(operation)
    with sessions() as session:
        SqlOperationRepository(session).save(operation)
        session.commit()
    halfway = reload(sessions, operation.id)
    assert_same(halfway, operation)
    assert halfway.status is OperationStatus.ACTIVE
    assert halfway.position.status is PositionStatus.REDUCING
    assert halfway.position.quantity == D("0.00355")
    assert len(halfway.position.tranches) == 2 and len(halfway.position.trades) == 1

    exit_fully(halfway)  # the reloaded operation carries on exactly as the original would
    exit_fully(operation)
    with sessions() as session:
        SqlOperationRepository(session).save(halfway)
        session.commit()
    loaded = reload(sessions, operation.id)
    operation.events.clear()
    assert_same(loaded, operation)
    assert loaded.status is OperationStatus.CLOSED
    assert loaded.close_reason is CloseReason.TAKE_PROFIT
    assert loaded.position.status is PositionStatus.CLOSED and loaded.position.is_flat
    assert loaded.position.average_entry is None
    assert len(loaded.position.trades) == 3
    assert loaded.realized_pnl == operation.realized_pnl != 0
    assert [o.status for o in loaded.orders] == [
        OrderStatus.FILLED,
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.FILLED,
    ]
    assert loaded.order("rb1-p1").list_id == "rb1-oco" and loaded.order("rb1-p1").exchange_order_id == "x-rb1-p1"


def test_saving_again_writes_no_duplicates(engine: Engine, sessions: Sessions) -> None:
    operation = plan()
    enter(operation)
    with sessions() as session:
        repository = SqlOperationRepository(session)
        repository.add(operation)
        repository.save(operation)
        repository.save(operation)
        session.commit()
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(fills)) == 2
        assert connection.scalar(select(func.count()).select_from(orders)) == 1
        assert connection.scalars(select(fills.c.trade_id).order_by(fills.c.id)).all() == ["rb1-t1", "rb1-t2"]


def test_get_returns_none_for_an_unknown_id(sessions: Sessions) -> None:
    with sessions() as session:
        assert SqlOperationRepository(session).get(404) is None


def test_list_filters_by_status_in_id_order_with_three_queries(engine: Engine, sessions: Sessions) -> None:
    planned, active, cancelled = plan("a"), plan("b"), plan("c")
    enter(active, "b")
    cancelled.cancel(at(1), "changed my mind")
    with sessions() as session:
        repository = SqlOperationRepository(session)
        for operation in (planned, active, cancelled):
            repository.add(operation)
        session.commit()

    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with sessions() as session:
        everything = SqlOperationRepository(session).list()
    # operations, their orders, their fills, and their versions again (what makes the read consistent when another
    # process writes between the queries): no query per operation (it was 3 before issue 12 asked for consistency)
    assert len(statements) == 4
    assert [o.id for o in everything] == [planned.id, active.id, cancelled.id]
    assert_same(everything[1], active)

    with sessions() as session:
        open_ones = SqlOperationRepository(session).list([OperationStatus.PLANNED, OperationStatus.ACTIVE])
        assert [o.id for o in open_ones] == [planned.id, active.id]
        assert SqlOperationRepository(session).list([OperationStatus.CLOSED]) == []


def test_a_session_hands_out_one_object_per_operation(sessions: Sessions) -> None:
    operation = plan()
    with sessions() as session:
        SqlOperationRepository(session).add(operation)
        session.commit()
    assert operation.id is not None
    with sessions() as session:
        repository = SqlOperationRepository(session)
        first = repository.get(operation.id)
        assert repository.get(operation.id) is first
        assert repository.list() == [first] and repository.list()[0] is first
        assert repository.seen() == [first]


@pytest.mark.parametrize("side", [Side.SHORT])
def test_a_short_operation_round_trips(sessions: Sessions, side: Side) -> None:
    operation = Operation("ETH/USDT", side, "breakdown", D("3000"), D("3090"), None, D("1.5"), D("135"), "USDT", T0)
    operation.add_order(Order("s-e1", "ETH/USDT", OrderSide.SELL, OrderType.MARKET, D("1.5"), T0, role=OrderRole.ENTRY))
    operation.apply_fill(
        Fill("s-t1", "s-e1", "ETH/USDT", OrderSide.SELL, D("2999.99"), D("1.5"), D("0"), "USDT", at(1)), at(1)
    )
    with sessions() as session:
        SqlOperationRepository(session).add(operation)
        session.commit()
    assert operation.id is not None
    operation.events.clear()
    assert_same(reload(sessions, operation.id), operation)


def test_an_operation_another_process_writes_between_the_queries_is_read_again(
    engine: Engine, sessions: Sessions
) -> None:
    operation = plan()
    enter(operation)
    exit_partly(operation)
    with sessions() as session:
        SqlOperationRepository(session).add(operation)
        session.commit()
    meddled: list[str] = []

    def another_process_fills_the_target(_c: object, _cursor: object, statement: str, *_args: object) -> None:
        if "FROM fills" in statement and not meddled:  # after this read of the orders, before that of the fills
            meddled.append(statement)
            with sessions() as other:
                repository = SqlOperationRepository(other)
                stored = repository.get(operation.id or 0)
                assert stored is not None
                exit_fully(stored)
                repository.save(stored)
                other.commit()

    event.listen(engine, "before_cursor_execute", another_process_fills_the_target)
    try:
        with sessions() as session:
            loaded = SqlOperationRepository(session).get(operation.id or 0)
    finally:
        event.remove(engine, "before_cursor_execute", another_process_fills_the_target)
    assert meddled and loaded is not None
    exit_fully(operation)  # what the other process wrote: read whole, never half of it
    assert_same(loaded, operation)
    assert loaded.status is OperationStatus.CLOSED and loaded.order("rb1-p1").status is OrderStatus.FILLED
