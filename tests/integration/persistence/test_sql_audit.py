"""SqlAuditLog: ordered, filterable and append-only, in the code and in the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import DBAPIError

from robson.persistence.database import Sessions
from robson.persistence.repositories import SqlAuditLog
from robson.persistence.tables import audit_events
from robson.ports import AuditEntry

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def happened(name: str, entity_id: str, minute: int, entity: str = "operation") -> AuditEntry:
    return AuditEntry(
        name, entity, entity_id, T0 + timedelta(minutes=minute), {"status": "PLANNED"}, {"z": "1", "a": "2"}
    )


def append(sessions: Sessions, *events: AuditEntry, actor: str = "robson") -> None:
    with sessions() as session:
        log = SqlAuditLog(session)
        for item in events:
            log.append(item, actor)
        session.commit()


def raw_rows(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(audit_events).order_by(audit_events.c.id))]


def test_records_come_back_in_order_with_their_data(sessions: Sessions) -> None:
    append(sessions, happened("OperationActive", "1", 1), happened("TrancheAdded", "1", 2), actor="cli:ana")
    with sessions() as session:
        records = SqlAuditLog(session).list()
    assert [r.action for r in records] == ["OperationActive", "TrancheAdded"]
    assert records[0].id < records[1].id
    first = records[0]
    assert (first.at, first.actor, first.entity, first.entity_id) == (
        T0 + timedelta(minutes=1),
        "cli:ana",
        "operation",
        "1",
    )
    assert first.before == {"status": "PLANNED"} and first.after == {"a": "2", "z": "1"}


def test_json_is_written_with_sorted_keys(engine: Engine, sessions: Sessions) -> None:
    append(sessions, happened("OperationActive", "1", 1))
    with engine.connect() as connection:
        assert connection.scalar(select(audit_events.c.after)) == '{"a": "2", "z": "1"}'


def test_list_filters_by_entity_and_id(sessions: Sessions) -> None:
    append(
        sessions,
        happened("OperationActive", "1", 1),
        happened("OperationActive", "2", 2),
        happened("OrderFilled", "rb1-e1", 3, entity="order"),
        happened("OperationClosed", "1", 4),
    )
    with sessions() as session:
        log = SqlAuditLog(session)
        assert [r.action for r in log.list(entity="operation", entity_id="1")] == ["OperationActive", "OperationClosed"]
        assert [r.entity_id for r in log.list(entity="operation")] == ["1", "2", "1"]
        assert [r.action for r in log.list(entity_id="rb1-e1")] == ["OrderFilled"]
        assert log.list(entity="position") == []


def test_appending_never_rewrites_earlier_rows(engine: Engine, sessions: Sessions) -> None:
    append(sessions, happened("OperationActive", "1", 1), happened("TrancheAdded", "1", 2))
    before = raw_rows(engine)
    append(sessions, happened("OperationActive", "1", 1), happened("OperationClosed", "1", 9), actor="other")
    after = raw_rows(engine)
    assert after[: len(before)] == before
    assert len(after) == len(before) + 2
    ids = [int(str(row[0])) for row in after]
    assert ids == sorted(set(ids))  # ids only grow


def test_the_log_offers_no_way_to_change_history() -> None:
    public = {name for name in dir(SqlAuditLog) if not name.startswith("_")}
    assert public == {"append", "append_all", "list"}


@pytest.mark.parametrize("change", ["update", "delete"])
def test_the_database_refuses_to_change_history(engine: Engine, sessions: Sessions, change: str) -> None:
    append(sessions, happened("OperationActive", "1", 1))
    before = raw_rows(engine)
    statement = update(audit_events).values(actor="mallory") if change == "update" else delete(audit_events)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(statement)
    assert raw_rows(engine) == before
