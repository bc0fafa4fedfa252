"""The unit-of-work contract: what every ledger promises the services, held against the memory ledger, SQLite and
PostgreSQL (when ROBSON_TEST_POSTGRES_URL is set) alike. Each test talks to the ledger through the UnitOfWork port
only; "another process" is a second unit of work over the same ledger."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal as D
from pathlib import Path

import pytest

from robson.domain.errors import ConcurrentChange
from robson.domain.events import (
    Alert,
    AlertLevel,
    Event,
    ExitTriggered,
    FillApplied,
    HoldAdded,
    HoldLifted,
    OperationActivated,
    OperationCancelled,
    OperationClosed,
    OperationEvent,
    OperationPlanned,
    OperationRejected,
    OperationResized,
    OperationStatusChanged,
    OperationValidated,
    OrderAccepted,
    OrderCancelled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRecorded,
    OrderRejected,
    OrderStatusChanged,
    PolicyEvent,
    PositionReduced,
    RiskAlerted,
    ScaleOutTriggered,
    StopLossTriggered,
    StopMoved,
    StopRebased,
    TradingHalted,
    TradingReduced,
    TradingRestored,
    TradingResumed,
    TradingStateChanged,
    TrancheAdded,
    TrancheDropped,
    TranchePlanned,
)
from robson.domain.fills import Fill
from robson.domain.operation import CloseReason, Operation, OperationStatus
from robson.domain.orders import OrderRole, OrderStatus, OrderType
from robson.domain.states import TradingState
from robson.domain.values import OrderSide, Side
from robson.persistence.database import open_ledger, session_factory
from robson.persistence.memory import MemoryLedger, MemoryUnitOfWork
from robson.persistence.unit_of_work import SqlUnitOfWork
from robson.ports import AuditEntry, ExecutionRecord, UnitOfWork
from robson.services.bus import InProcessBus
from tests.conftest import DATABASES, database_at
from tests.integration.persistence.test_policy_codec import rich_state
from tests.integration.persistence.test_sql_operations import (
    assert_same,
    at,
    enter,
    exit_fully,
    exit_partly,
    fill,
    order,
    plan,
)

ENTERED = ["TrancheAdded", "OperationActive", "TrancheAdded"]  # the audit trail of enter(): two entry fills
ENTERED_EVENTS = [TrancheAdded, OperationActivated, TrancheAdded]  # and its events


@dataclass(frozen=True)
class Ledger:
    """A ledger under test: `open()` is a new unit of work over it (each one as another process would have it);
    `open(bus=...)` one that hands what it commits to that event bus."""

    kind: str
    open: Callable[..., UnitOfWork]


@pytest.fixture(params=[pytest.param("memory", id="memory"), *DATABASES])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    if request.param == "memory":
        memory = MemoryLedger()
        yield Ledger("memory", lambda actor="robson", bus=None: MemoryUnitOfWork(memory, actor, bus))
        return
    with database_at(request.param, tmp_path) as target:
        engine = open_ledger(target.url, target.schema)
        sessions = session_factory(engine)
        yield Ledger(request.param, lambda actor="robson", bus=None: SqlUnitOfWork(sessions, actor, bus))
        engine.dispose()


def stored(ledger: Ledger, operation: Operation) -> int:
    with ledger.open() as uow:
        uow.operations.add(operation)
        uow.commit()
    assert operation.id is not None
    return operation.id


def read(ledger: Ledger, operation_id: int) -> Operation:
    with ledger.open() as uow:
        found = uow.operations.get(operation_id)
    assert found is not None
    return found


def everything(ledger: Ledger) -> tuple[list[Operation], list[str], list[ExecutionRecord], object, list[D]]:
    """All the ledger holds, as a new unit of work reads it."""
    with ledger.open() as uow:
        return (
            uow.operations.list(),
            [record.action for record in uow.audit.list()],
            uow.executions.list(),
            uow.policy.get(),
            uow.marks.recent("BTC/USDT", 100),
        )


def execution(symbol: str = "BTC/USDT", minute: int = 0, **changes: object) -> ExecutionRecord:
    record = ExecutionRecord(
        at(minute), "paper", 1, f"rb1-e{minute}", symbol, OrderSide.BUY, OrderType.MARKET, "ENTRY", D("90000.10"),
        D("90001.123456789"), D("0.11"), D("0.00555"), D("0.00555"), D("0.49950062"), D("12.5"), 0, "FILLED",
    )  # fmt: skip
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]


# ---- add, get, list -------------------------------------------------------------------------


def test_add_assigns_growing_ids_and_version_zero_and_the_orders_their_operation(ledger: Ledger) -> None:
    first, second = plan("rb1"), plan("rb2")
    with ledger.open() as uow:
        uow.operations.add(first)
        uow.operations.add(second)
        uow.commit()
    assert first.id is not None and second.id is not None and 0 < first.id < second.id
    assert (first.version, second.version) == (0, 0)
    assert [(o.operation_id, o.id is not None) for o in second.orders] == [(second.id, True)]


def test_a_whole_life_comes_back_exactly_in_another_unit(ledger: Ledger) -> None:
    operation = plan()
    operation_id = stored(ledger, operation)
    with ledger.open() as uow:
        live = uow.operations.get(operation_id)
        assert live is not None
        enter(live)
        exit_partly(live)
        uow.commit()
    with ledger.open() as uow:
        again = uow.operations.get(operation_id)
        assert again is not None
        exit_fully(again)
        uow.commit()
    loaded = read(ledger, operation_id)
    assert_same(loaded, again)
    assert loaded is not again and loaded.status is OperationStatus.CLOSED and loaded.version == 2


def test_get_of_an_unknown_id_is_none(ledger: Ledger) -> None:
    stored(ledger, plan())
    with ledger.open() as uow:
        assert uow.operations.get(999_999) is None


def test_list_is_in_id_order_and_filters_by_status(ledger: Ledger) -> None:
    planned, active, cancelled = plan("rb1"), plan("rb2"), plan("rb3")
    enter(active, "rb2")
    cancelled.cancel(at(5), "no longer")
    with ledger.open() as uow:
        for operation in (planned, active, cancelled):
            uow.operations.add(operation)
        uow.commit()
    with ledger.open() as uow:
        assert [o.id for o in uow.operations.list()] == [planned.id, active.id, cancelled.id]
        open_ones = uow.operations.list([OperationStatus.PLANNED, OperationStatus.ACTIVE])
        assert [o.id for o in open_ones] == [planned.id, active.id]
        assert uow.operations.list([OperationStatus.CLOSED]) == []


def test_recent_is_the_open_the_recent_and_the_last_closed(ledger: Ledger) -> None:
    def closed(prefix: str, minute: int) -> Operation:
        operation = plan(prefix)
        enter(operation, prefix)
        held = str(operation.position.quantity)
        operation.add_order(order(f"{prefix}-x1", OrderSide.SELL, OrderType.MARKET, held, OrderRole.EXIT))
        operation.apply_fill(
            fill(f"{prefix}-t9", f"{prefix}-x1", OrderSide.SELL, "91000", held, "0", "USDT", minute), at(minute)
        )
        return operation

    old, last_old, since = closed("a", 10), closed("b", 20), closed("f", 1500)
    active, planned = plan("c"), plan("d")
    enter(active, "c")
    with ledger.open() as uow:
        for operation in (old, last_old, active, planned, since):
            uow.operations.add(operation)
        uow.commit()
    with ledger.open() as uow:
        found = [o.id for o in uow.operations.recent(at(1000), 2)]
    assert found == [last_old.id, active.id, planned.id, since.id]


def test_a_unit_hands_out_one_object_per_operation(ledger: Ledger) -> None:
    operation_id = stored(ledger, plan())
    with ledger.open() as uow:
        got = uow.operations.get(operation_id)
        assert got is not None
        assert uow.operations.get(operation_id) is got
        assert uow.operations.list()[0] is got


# ---- commit, rollback, isolation ------------------------------------------------------------


def test_nothing_is_kept_without_a_commit(ledger: Ledger) -> None:
    operation = plan()
    with ledger.open() as uow:
        uow.operations.add(operation)
        enter(operation)
        uow.operations.save(operation)
        uow.audit.append(AuditEntry("Noted", "operation", "1", at(1), {}, {"a": "1"}), "test")
        uow.executions.add(execution())
        uow.policy.save(rich_state())
        uow.marks.add("BTC/USDT", at(1), D("90000"))
    assert everything(ledger) == ([], [], [], None, [])
    assert [type(event) for event in operation.events] == ENTERED_EVENTS  # nothing was audited, so nothing was drained


def test_a_rollback_drops_everything_written_and_the_unit_goes_on(ledger: Ledger) -> None:
    with ledger.open() as uow:
        uow.operations.add(plan("rb1"))
        uow.executions.add(execution())
        uow.policy.save(rich_state())
        uow.marks.add("BTC/USDT", at(1), D("90000"))
        uow.rollback()
        uow.commit()  # nothing left to commit
        assert uow.operations.list() == []
        kept = uow.operations.add(plan("rb2"))
        uow.commit()
    operations, audit, executions, policy, marks = everything(ledger)
    assert [o.id for o in operations] == [kept.id] and (audit, executions, policy, marks) == ([], [], None, [])


def test_an_error_in_the_block_leaves_nothing(ledger: Ledger) -> None:
    with pytest.raises(RuntimeError, match="boom"), ledger.open() as uow:
        uow.operations.add(plan())
        raise RuntimeError("boom")
    assert everything(ledger) == ([], [], [], None, [])


def test_a_commit_is_seen_by_other_units_and_what_follows_it_is_not(ledger: Ledger) -> None:
    operation_id = stored(ledger, plan())
    with ledger.open() as uow:
        live = uow.operations.get(operation_id)
        assert live is not None
        live.note = "committed"
        uow.commit()
        live.note = "changed after the commit, never committed"
        assert read(ledger, operation_id).note == "committed"
    live.cancel(at(9), "after the unit ended")  # a held object changed outside any unit
    loaded = read(ledger, operation_id)
    assert (loaded.note, loaded.status) == ("committed", OperationStatus.PLANNED)


def test_changes_to_an_object_read_in_a_rolled_back_unit_leave_nothing(ledger: Ledger) -> None:
    operation_id = stored(ledger, plan())
    with ledger.open() as uow:
        live = uow.operations.get(operation_id)
        assert live is not None
        enter(live)
        uow.operations.save(live)
        uow.rollback()
    loaded = read(ledger, operation_id)
    assert (loaded.status, loaded.fills, loaded.version) == (OperationStatus.PLANNED, [], 0)


def test_the_unit_is_reusable_and_refuses_use_outside_a_with_block(ledger: Ledger) -> None:
    uow = ledger.open()
    with pytest.raises(RuntimeError, match="not open"):
        uow.commit()
    for prefix in ("rb1", "rb2"):
        with uow:
            uow.operations.add(plan(prefix))
            uow.commit()
    with uow:
        assert len(uow.operations.list()) == 2


# ---- versions: a write over another process's change is refused ------------------------------


def test_a_write_over_a_newer_version_is_refused_and_leaves_no_trace(ledger: Ledger) -> None:
    operation_id = stored(ledger, plan())
    with ledger.open() as first, ledger.open() as second:
        mine, theirs = first.operations.get(operation_id), second.operations.get(operation_id)
        assert mine is not None and theirs is not None
        theirs.note = "changed by the other process"
        second.commit()
        mine.cancel(at(1), "cancelled here")
        with pytest.raises(ConcurrentChange, match=f"operation {operation_id} was changed by another process"):
            first.commit()
    kept = read(ledger, operation_id)
    assert (kept.note, kept.status, kept.version) == ("changed by the other process", OperationStatus.PLANNED, 1)
    assert everything(ledger)[1] == []  # the refused unit's events were not audited
    assert [type(event) for event in mine.events] == [OperationCancelled]  # and stay with the operation


def test_each_write_raises_the_version_and_an_unchanged_operation_is_not_written(ledger: Ledger) -> None:
    operation_id = stored(ledger, plan())
    with ledger.open() as uow:
        operation = uow.operations.get(operation_id)
        assert operation is not None and operation.version == 0
        uow.commit()
        assert operation.version == 0
        operation.note = "a"
        uow.commit()
        operation.order("rb1-e1").exchange_order_id = "x1"  # an order alone changing raises it too
        uow.commit()
        assert operation.version == 2
    reloaded = read(ledger, operation_id)
    assert reloaded.version == 2 and reloaded.order("rb1-e1").exchange_order_id == "x1"


def test_an_attached_operation_is_written_without_a_read_unless_it_went_stale(ledger: Ledger) -> None:
    operation_id = stored(ledger, plan())
    kept = read(ledger, operation_id)  # what a long-lived reader (the monitor) holds on to
    with ledger.open() as uow:
        assert uow.operations.attach(kept) is kept
        assert uow.operations.get(operation_id) is kept
        kept.note = "written from the kept copy"
        uow.commit()
    with ledger.open() as uow:
        fresh = uow.operations.get(operation_id)
        assert fresh is not None and fresh.note == "written from the kept copy"
        fresh.note = "changed by the other process"
        uow.commit()
    with ledger.open() as uow:
        uow.operations.attach(kept)  # now stale
        kept.note = "lost update?"
        with pytest.raises(ConcurrentChange):
            uow.commit()
    assert read(ledger, operation_id).note == "changed by the other process"


# ---- the audit trail -------------------------------------------------------------------------


def test_a_commit_audits_every_seen_operations_events_and_drains_them(ledger: Ledger) -> None:
    operation = plan()
    with ledger.open(actor="cli:ana") as uow:
        uow.operations.add(operation)
        enter(operation)  # after add: no explicit save, the commit does it
        uow.commit()
    assert operation.events == []
    with ledger.open() as uow:
        records = uow.audit.list(entity="operation", entity_id=str(operation.id))
    assert [r.action for r in records] == ENTERED
    assert {r.actor for r in records} == {"cli:ana"}


def test_events_recorded_before_the_id_was_assigned_name_the_id(ledger: Ledger) -> None:
    operation = plan()
    operation.cancel(at(1), "changed my mind")  # recorded while operation.id is None
    stored(ledger, operation)
    with ledger.open() as uow:
        records = uow.audit.list()
    assert [(r.action, r.entity_id, r.actor) for r in records] == [("OperationCancelled", str(operation.id), "robson")]


def test_the_audit_trail_reads_back_in_order_with_its_data_and_filters(ledger: Ledger) -> None:
    happened = [
        AuditEntry("OperationActive", "operation", "1", at(1), {"status": "PLANNED"}, {"z": "1", "a": "2"}),
        AuditEntry("OrderFilled", "order", "rb1-e1", at(2), {}, {"filled": "0.1"}),
        AuditEntry("OperationClosed", "operation", "1", at(3), {"status": "ACTIVE"}, {"status": "CLOSED"}),
    ]
    with ledger.open() as uow:
        uow.audit.append(happened[0], "cli:ana")
        assert [r.action for r in uow.audit.list()] == ["OperationActive"]  # a unit reads its own appends
        uow.audit.append(happened[1], "robson")
        uow.audit.append(happened[2], "robson")
        uow.commit()
    happened[0].after["z"] = "changed after it was appended"
    with ledger.open() as uow:
        records = uow.audit.list()
        assert [r.action for r in uow.audit.list(entity="operation", entity_id="1")] == [
            "OperationActive",
            "OperationClosed",
        ]
        assert [r.action for r in uow.audit.list(entity_id="rb1-e1")] == ["OrderFilled"]
        assert uow.audit.list(entity="position") == []
    assert records[0].id < records[1].id < records[2].id
    first = records[0]
    assert (first.at, first.actor, first.entity, first.entity_id) == (at(1), "cli:ana", "operation", "1")
    assert (first.before, first.after) == ({"status": "PLANNED"}, {"a": "2", "z": "1"})
    assert list(first.after) == ["a", "z"]


# ---- events: audited in the commit, dispatched after it ---------------------------------------------------------

HALTED = TradingHalted(at=at(0), previous=TradingState.ACTIVE, reason="paused: news at 14:00")
PAUSED = Alert(AlertLevel.CRITICAL, "PAUSED", "HALTED: paused: news at 14:00; lifts on robson resume --override", at(0))


def listening(*kinds: type[Event]) -> tuple[InProcessBus, list[Event]]:
    """A bus, and what a subscriber to it (of `kinds`, or of everything) has heard."""
    bus, heard = InProcessBus(), list[Event]()
    bus.subscribe(heard.append, *kinds)
    return bus, heard


def test_a_commit_dispatches_its_events_once_after_it_in_order(ledger: Ledger) -> None:
    bus, heard = listening()
    seen_then: list[tuple[list[OperationStatus], list[str]]] = []

    def another_process(event: Event) -> None:  # what the ledger holds for everyone when the bus tells of the halt
        with ledger.open() as other:
            seen_then.append(([o.status for o in other.operations.list()], [r.action for r in other.audit.list()]))

    bus.subscribe(another_process, TradingHalted)
    operation = plan()
    with ledger.open(bus=bus) as uow:
        uow.operations.add(operation)
        enter(operation)
        uow.record(HALTED, PAUSED)
        assert heard == []  # nothing before the commit
        uow.commit()
        assert heard[:2] == [HALTED, PAUSED]  # the unit's own, then each operation's, as the audit trail has them
        assert [type(event) for event in heard[2:]] == ENTERED_EVENTS
        assert {event.entity_id for event in heard[2:]} == {str(operation.id)}  # the id the add gave it
        uow.commit()  # nothing new: nothing dispatched again
        operation.note = "a change with no event"
        uow.commit()
    assert len(heard) == 5
    assert seen_then == [([OperationStatus.ACTIVE], ["TradingStateChanged", *ENTERED])]  # committed before told


def test_nothing_is_dispatched_for_a_rollback_or_a_unit_left_without_commit(ledger: Ledger) -> None:
    operation_id = stored(ledger, plan())
    bus, heard = listening()
    with ledger.open(bus=bus) as uow:
        live = uow.operations.get(operation_id)
        assert live is not None
        enter(live)
        uow.record(HALTED, PAUSED)
        uow.rollback()
        uow.commit()  # nothing left to commit, nor to dispatch
    with ledger.open(bus=bus) as uow:
        uow.record(HALTED)
    with pytest.raises(RuntimeError, match="boom"), ledger.open(bus=bus) as uow:
        uow.record(HALTED)
        raise RuntimeError("boom")
    assert heard == [] and everything(ledger)[1] == []


def test_nothing_is_dispatched_for_a_commit_refused_by_concurrent_change(ledger: Ledger) -> None:
    operation_id = stored(ledger, plan())
    bus, heard = listening()
    with ledger.open(bus=bus) as first, ledger.open(bus=bus) as second:
        mine, theirs = first.operations.get(operation_id), second.operations.get(operation_id)
        assert mine is not None and theirs is not None
        theirs.cancel(at(1), "cancelled there")
        second.commit()
        assert [type(event) for event in heard] == [OperationCancelled]
        mine.cancel(at(2), "cancelled here")
        first.record(HALTED)
        with pytest.raises(ConcurrentChange):
            first.commit()
    assert [type(event) for event in heard] == [OperationCancelled]  # the refused unit's: neither audited nor told
    assert everything(ledger)[1] == ["OperationCancelled"]


def test_a_failing_subscriber_fails_neither_the_commit_nor_the_other_subscribers(ledger: Ledger) -> None:
    def broken(event: Event) -> None:
        raise RuntimeError("the notifier is down")

    bus = InProcessBus()
    bus.subscribe(broken)
    heard: list[Event] = []
    bus.subscribe(heard.append)
    with ledger.open(bus=bus) as uow:
        uow.record(HALTED, PAUSED)
        uow.commit()
    assert heard == [HALTED, PAUSED]
    assert everything(ledger)[1] == ["TradingStateChanged"]


# Every event, and the audit record it writes: the records the code wrote before events were typed, value for value.
# (An alert writes none: it is said to the trader.)
FILL = Fill("t9", "rb7-e1", "BTC/USDT", OrderSide.BUY, D("90000.50"), D("0.00555"), D("0.01"), "USDT", at(1))
_OP = {"operation_id": 7, "at": at(1)}
_ORDER = {**_OP, "client_order_id": "rb7-e1", "symbol": "BTC/USDT", "role": OrderRole.ENTRY}
AUDITED: list[tuple[Event, tuple[str, str, str, dict[str, str], dict[str, str]]]] = [
    (
        OperationPlanned(
            **_OP, symbol="BTC/USDT", side=Side.LONG, strategy="default", entry_price=D("90000"),
            stop_price=D("88200.0"), target_price=None, quantity=D("0.00555"), risk_amount=D("9.99"),
            signal_confidence=D("0.8"),
        ),
        ("OperationPlanned", "operation", "7", {}, {
            "status": "PLANNED", "symbol": "BTC/USDT", "side": "long", "entry_price": "90000",
            "stop_price": "88200.0", "target_price": "None", "quantity": "0.00555", "risk_amount": "9.99",
            "signal_confidence": "0.8",
        }),
    ),
    (
        OperationValidated(**_OP, approved=False, summary="MAX_POSITION: too big"),
        ("OperationValidated", "operation", "7", {}, {"approved": "False", "failures": "MAX_POSITION: too big"}),
    ),
    (
        OperationValidated(**_OP, approved=True, summary="all checks pass", tranche=True),
        ("OperationValidated", "operation", "7", {},
         {"approved": "True", "failures": "all checks pass", "tranche": "planned add"}),
    ),
    (
        OperationResized(
            **_OP, previous_quantity=D("0.006"), previous_risk_amount=D("10"), previous_entry_price=D("90000"),
            quantity=D("0.005"), risk_amount=D("9.5"), entry_price=D("90100"),
        ),
        ("OperationResized", "operation", "7",
         {"quantity": "0.006", "risk_amount": "10", "entry_price": "90000"},
         {"quantity": "0.005", "risk_amount": "9.5", "entry_price": "90100"}),
    ),
    (
        OperationActivated(**_OP, previous=OperationStatus.PLANNED),
        ("OperationActive", "operation", "7", {"status": "PLANNED"}, {"status": "ACTIVE"}),
    ),
    (
        OperationClosed(**_OP, previous=OperationStatus.ACTIVE, reason=CloseReason.TRAILING_STOP),
        ("OperationClosed", "operation", "7", {"status": "ACTIVE"},
         {"status": "CLOSED", "close_reason": "TRAILING_STOP"}),
    ),
    (
        OperationCancelled(**_OP, previous=OperationStatus.PLANNED, note="no longer"),
        ("OperationCancelled", "operation", "7", {"status": "PLANNED"}, {"status": "CANCELLED"}),
    ),
    (
        OperationRejected(**_OP, previous=OperationStatus.PLANNED, reason="the venue rejected the entry"),
        ("OperationRejected", "operation", "7", {"status": "PLANNED"}, {"status": "REJECTED"}),
    ),
    (
        TranchePlanned(
            **_OP, entry_price=D("91000"), quantity=D("0.002"), stop_price=D("89000"), risk_amount=D("12.5")
        ),
        ("TranchePlanned", "operation", "7", {},
         {"entry_price": "91000", "quantity": "0.002", "stop_price": "89000", "risk_amount": "12.5"}),
    ),
    (
        TrancheDropped(**_OP, reason="the operation closed"),
        ("TrancheDropped", "operation", "7", {}, {"reason": "the operation closed"}),
    ),
    (
        StopRebased(
            **_OP, previous_stop=D("88200"), stop_price=D("89000"), previous_quantity=D("0.00555"),
            quantity=D("0.00755"), previous_risk_amount=D("9.99"), risk_amount=D("12.5"),
        ),
        ("StopRebased", "operation", "7",
         {"stop_price": "88200", "quantity": "0.00555", "risk": "9.99"},
         {"stop_price": "89000", "quantity": "0.00755", "risk": "12.5"}),
    ),
    (
        StopMoved(**_OP, previous_stop=D("88200"), stop_price=D("90010"), why=CloseReason.STOP_LOSS),
        ("StopMoved", "operation", "7", {"stop_price": "88200"}, {"stop_price": "90010", "why": "STOP_LOSS"}),
    ),
    (
        StopLossTriggered(**_OP, reason=CloseReason.STOP_LOSS, price=D("88200")),
        ("StopLossTriggered", "operation", "7", {}, {"reason": "STOP_LOSS", "price": "88200"}),
    ),
    (
        ExitTriggered(**_OP, reason=CloseReason.TIME_EXIT, price=None),
        ("ExitTriggered", "operation", "7", {}, {"reason": "TIME_EXIT"}),
    ),
    (
        ScaleOutTriggered(**_OP, quantity=D("0.002")),
        ("ScaleOutTriggered", "operation", "7", {}, {"quantity": "0.002"}),
    ),
    (
        TrancheAdded(**_OP, fill=FILL),
        ("TrancheAdded", "operation", "7", {}, {"trade_id": "t9", "price": "90000.50", "quantity": "0.00555"}),
    ),
    (
        PositionReduced(**_OP, fill=FILL, pnl=D("-10.01")),
        ("PositionReduced", "operation", "7", {}, {"trade_id": "t9", "price": "90000.50", "quantity": "0.00555"}),
    ),
    (
        OrderRecorded(
            **_ORDER, status=OrderStatus.PENDING_NEW, side=OrderSide.BUY, order_type=OrderType.MARKET,
            quantity=D("0.00555"), price=None, stop_price=None,
        ),
        ("OrderRecorded", "order", "rb7-e1", {}, {"status": "PENDING_NEW", "type": "MARKET"}),
    ),
    (
        OrderAccepted(**_ORDER, previous=OrderStatus.PENDING_NEW, filled_quantity=D("0")),
        ("OrderNew", "order", "rb7-e1", {"status": "PENDING_NEW"}, {"status": "NEW", "filled_quantity": "0"}),
    ),
    (
        OrderPartiallyFilled(**_ORDER, previous=OrderStatus.NEW, filled_quantity=D("0.002")),
        ("OrderPartiallyFilled", "order", "rb7-e1", {"status": "NEW"},
         {"status": "PARTIALLY_FILLED", "filled_quantity": "0.002"}),
    ),
    (
        OrderFilled(**_ORDER, previous=OrderStatus.PENDING_NEW, filled_quantity=D("0.00555")),
        ("OrderFilled", "order", "rb7-e1", {"status": "PENDING_NEW"},
         {"status": "FILLED", "filled_quantity": "0.00555"}),
    ),
    (
        OrderCancelled(**_ORDER, previous=OrderStatus.PARTIALLY_FILLED, filled_quantity=D("0.002")),
        ("OrderCanceled", "order", "rb7-e1", {"status": "PARTIALLY_FILLED"},
         {"status": "CANCELED", "filled_quantity": "0.002"}),
    ),
    (
        OrderExpired(**_ORDER, previous=OrderStatus.NEW, filled_quantity=D("0")),
        ("OrderExpired", "order", "rb7-e1", {"status": "NEW"}, {"status": "EXPIRED", "filled_quantity": "0"}),
    ),
    (
        OrderRejected(**_ORDER, previous=OrderStatus.PENDING_NEW, filled_quantity=D("0"), reason="INSUFFICIENT: no"),
        ("OrderRejected", "order", "rb7-e1", {"status": "PENDING_NEW"},
         {"status": "REJECTED", "reason": "INSUFFICIENT: no"}),
    ),
    (
        OrderRejected(**_ORDER, previous=OrderStatus.PENDING_NEW, filled_quantity=D("0")),  # as a venue reported it
        ("OrderRejected", "order", "rb7-e1", {"status": "PENDING_NEW"},
         {"status": "REJECTED", "filled_quantity": "0"}),
    ),
    (
        HALTED,
        ("TradingStateChanged", "policy", "account", {"state": "ACTIVE"},
         {"state": "HALTED", "reason": "paused: news at 14:00"}),
    ),
    (
        TradingReduced(at=at(1), previous=TradingState.ACTIVE, reason="order rate spike"),
        ("TradingStateChanged", "policy", "account", {"state": "ACTIVE"},
         {"state": "REDUCING", "reason": "order rate spike"}),
    ),
    (
        TradingRestored(at=at(1), previous=TradingState.HALTED, reason="resumed: reviewed"),
        ("TradingStateChanged", "policy", "account", {"state": "HALTED"},
         {"state": "ACTIVE", "reason": "resumed: reviewed"}),
    ),
    (
        HoldAdded(at=at(1), code="DAILY_LOSS", state=TradingState.HALTED, reason="day -5%", until=at(600)),
        ("HoldAdded", "policy", "account", {},
         {"hold": "DAILY_LOSS", "state": "HALTED", "reason": "day -5%", "lifts": "at 2025-03-01 22:00 UTC"}),
    ),
    (
        HoldAdded(at=at(1), code="PAUSED", state=TradingState.HALTED, reason="paused: news", until=None),
        ("HoldAdded", "policy", "account", {},
         {"hold": "PAUSED", "state": "HALTED", "reason": "paused: news", "lifts": "on robson resume --override"}),
    ),
    (
        HoldLifted(at=at(1), code="ORDER_RATE", reason="order rate spike"),
        ("HoldLifted", "policy", "account", {"hold": "ORDER_RATE", "reason": "order rate spike"},
         {"lifted": "on time"}),
    ),
    (
        TradingResumed(at=at(1), holds=("KILL_SWITCH", "PAUSED"), override="all clear"),
        ("TradingResumed", "policy", "account", {"holds": "KILL_SWITCH, PAUSED"}, {"override": "all clear"}),
    ),
    (
        RiskAlerted(at=at(1), code="MONTHLY_LOSS_WARNING", message="the month's loss is 2%"),
        ("RiskAlerted", "policy", "account", {},
         {"alert": "MONTHLY_LOSS_WARNING", "message": "the month's loss is 2%"}),
    ),
]  # fmt: skip


def test_every_event_writes_the_audit_record_it_always_has(ledger: Ledger) -> None:
    bus, heard = listening()
    with ledger.open(actor="cli:ana", bus=bus) as uow:
        uow.record(*(event for event, _ in AUDITED), PAUSED)
        uow.commit()
    with ledger.open() as uow:
        records = uow.audit.list()
    assert [(r.action, r.entity, r.entity_id, r.before, r.after) for r in records] == [row for _, row in AUDITED]
    assert {(r.actor, r.at) for r in records} == {("cli:ana", at(1)), ("cli:ana", at(0))}
    assert heard == [*(event for event, _ in AUDITED), PAUSED]  # and the bus hears every one, the alert too


def test_the_table_holds_every_kind_of_event() -> None:
    def kinds(of: type[Event]) -> set[str]:  # by name: a slotted dataclass leaves the class it replaced behind
        return {of.__name__} | {kind for sub in of.__subclasses__() for kind in kinds(sub)}

    families = {
        Event, OperationEvent, OperationStatusChanged, FillApplied, OrderEvent, OrderStatusChanged, PolicyEvent,
        TradingStateChanged,
    }  # fmt: skip
    assert kinds(Event) - {family.__name__ for family in families} == {type(event).__name__ for event, _ in AUDITED} | {
        "Alert"
    }


# ---- the execution log -----------------------------------------------------------------------


def test_executions_come_back_exactly_newest_last_by_symbol_and_limit(ledger: Ledger) -> None:
    with ledger.open() as uow:
        for minute, symbol in enumerate(["BTC/USDT", "ETH/USDT", "BTC/USDT", "BTC/USDT"]):
            uow.executions.add(execution(symbol, minute, error="timeout" if minute == 3 else None))
        uow.commit()
    with ledger.open() as uow:
        every = uow.executions.list()
        assert [(r.symbol, r.at) for r in every] == [
            ("BTC/USDT", at(0)),
            ("ETH/USDT", at(1)),
            ("BTC/USDT", at(2)),
            ("BTC/USDT", at(3)),
        ]
        assert [r.at for r in uow.executions.list("BTC/USDT", limit=2)] == [at(2), at(3)]
        assert uow.executions.list(limit=0) == []
        with pytest.raises(ValueError, match="negative"):
            uow.executions.list(limit=-1)
    ids = [r.id for r in every]
    assert all(isinstance(i, int) for i in ids) and ids == sorted(set(ids))  # type: ignore[type-var]
    assert dataclasses.replace(every[0], id=None) == execution("BTC/USDT", 0)
    assert str(every[0].executed_price) == "90001.123456789" and str(every[0].requested_price) == "90000.10"
    assert every[3].error == "timeout" and every[0].spread_bps is None


# ---- the policy state and the marks ----------------------------------------------------------


def test_the_policy_state_round_trips_and_the_last_commit_wins(ledger: Ledger) -> None:
    with ledger.open() as uow:
        assert uow.policy.get() is None
    state = rich_state()
    with ledger.open() as uow:
        uow.policy.save(state)
        assert uow.policy.get() == state  # a unit reads its own write
        uow.commit()
    with ledger.open() as uow:
        assert uow.policy.get() == state
        uow.policy.save(dataclasses.replace(state, loss_streak=99))
    later = dataclasses.replace(state, loss_streak=5, equity=D("9000.00"))
    with ledger.open() as uow:
        uow.policy.save(later)
        uow.commit()
    with ledger.open() as uow:
        got = uow.policy.get()
    assert got == later and got is not None and str(got.equity) == "9000.00"


def test_marks_are_the_newest_of_their_symbol_oldest_first_and_prune_keeps_the_newest(ledger: Ledger) -> None:
    prices = [D("90000"), D("90010.50"), D("89990.1234"), D("1E-8"), D("90100")]
    with ledger.open() as uow:
        for second, price in enumerate(prices):
            uow.marks.add("BTC/USDT", at(0) + timedelta(seconds=-second), price)  # ordered as added, not by time
        uow.marks.add("ETH/USDT", at(0), D("3100.5"))
        uow.commit()
    with ledger.open() as uow:
        assert uow.marks.recent("BTC/USDT", 3) == prices[2:]
        assert [str(p) for p in uow.marks.recent("BTC/USDT", 10)] == [
            "90000",
            "90010.50",
            "89990.1234",
            "1E-8",
            "90100",
        ]
        assert uow.marks.recent("BTC/USDT", 0) == [] and uow.marks.recent("SOL/USDT", 5) == []
        with pytest.raises(ValueError, match="negative"):
            uow.marks.recent("BTC/USDT", -1)
        uow.marks.prune("BTC/USDT", 2)
        assert uow.marks.recent("BTC/USDT", 10) == prices[3:]  # a unit reads its own prune
        uow.commit()
    with ledger.open() as uow:
        assert uow.marks.recent("BTC/USDT", 10) == prices[3:]
        assert uow.marks.recent("ETH/USDT", 10) == [D("3100.5")]
        uow.marks.prune("BTC/USDT", 0)
        uow.marks.add("BTC/USDT", at(9), D("1"))
        uow.commit()
    with ledger.open() as uow:
        assert uow.marks.recent("BTC/USDT", 10) == [D("1")]
        with pytest.raises(ValueError, match="negative"):
            uow.marks.prune("BTC/USDT", -1)


# ---- values: decimals exact, timestamps UTC --------------------------------------------------


def test_decimals_come_back_exactly_with_their_digits(ledger: Ledger) -> None:
    operation = plan()
    operation.entry_price = D("90000.10")
    operation.risk_amount = D("9.123456789012345678")
    operation.note = 'café ☕ "quoted"'
    operation_id = stored(ledger, operation)
    loaded = read(ledger, operation_id)
    assert [str(v) for v in (loaded.entry_price, loaded.risk_amount, loaded.quantity)] == [
        "90000.10",
        "9.123456789012345678",
        "0.00555",
    ]
    assert all(isinstance(v, D) for v in (loaded.entry_price, loaded.risk_amount, loaded.orders[0].quantity))
    assert loaded.note == operation.note


def test_timestamps_come_back_as_the_same_instant_in_utc(ledger: Ledger) -> None:
    paris = timezone(timedelta(hours=2))
    moment = datetime(2025, 3, 1, 14, 0, 0, 123456, tzinfo=paris)
    operation = plan()
    operation.created_at = operation.orders[0].created_at = moment
    operation_id = stored(ledger, operation)
    with ledger.open() as uow:
        uow.audit.append(AuditEntry("Noted", "operation", str(operation_id), moment, {}, {}), "test")
        uow.executions.add(execution(at=moment))
        uow.commit()
    loaded = read(ledger, operation_id)
    with ledger.open() as uow:
        audited, executed = uow.audit.list()[0].at, uow.executions.list()[0].at
    for value in (loaded.created_at, loaded.orders[0].created_at, audited, executed):
        assert value == moment and value.tzinfo is not None and value.utcoffset() == timedelta(0)
    assert loaded.created_at.isoformat() == "2025-03-01T12:00:00.123456+00:00"
    assert loaded.created_at.tzinfo == UTC or loaded.created_at.tzname() == "UTC"
