"""Prepared statements (the writes of every save, compiled once and run by the connection with exec_driver_sql) keep
every promise of SQLAlchemy's own execution: the same stored values, the unit's transaction, wrapped errors, and
nothing hidden from listeners."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError, StatementError

from robson.persistence.database import Sessions
from robson.persistence.sql import Prepared
from robson.persistence.tables import audit_events
from robson.persistence.tables import price_marks as marks

from .statements import recorded

AT = datetime(2026, 11, 21, 9, 30, 0, 123456, tzinfo=UTC)
MARKS = Prepared(insert(marks))
AUDIT = Prepared(insert(audit_events).returning(audit_events.c.id))


def _audit(action: str) -> dict[str, object]:
    return {"at": AT, "actor": "t", "action": action, "entity": "e", "entity_id": "1", "before": "{}", "after": "{}"}


def test_values_go_through_the_column_types_exactly(sessions: Sessions) -> None:
    with sessions() as connection:
        MARKS.execute_many(
            connection,
            [
                {"symbol": "BTC/USDT", "at": AT, "price": Decimal("91234.56789012")},
                {"symbol": "ETH/USDT", "at": AT, "price": Decimal("3000.1")},
            ],
        )
        connection.commit()
    with sessions() as connection:
        rows = connection.execute(select(marks.c.symbol, marks.c.at, marks.c.price).order_by(marks.c.symbol)).all()
    assert [tuple(row) for row in rows] == [
        ("BTC/USDT", AT, Decimal("91234.56789012")),
        ("ETH/USDT", AT, Decimal("3000.1")),
    ]
    assert isinstance(rows[0].price, Decimal) and rows[0].at.tzinfo is not None


def test_returning_gives_the_new_id(sessions: Sessions) -> None:
    with sessions() as connection:
        first = AUDIT.execute(connection, _audit("a")).fetchone()[0]
        second = AUDIT.execute(connection, _audit("b")).fetchone()[0]
        connection.commit()
        stored = {row.action: row.id for row in connection.execute(select(audit_events.c.action, audit_events.c.id))}
    assert second > first and stored == {"a": first, "b": second}


def test_writes_belong_to_the_connections_transaction(sessions: Sessions) -> None:
    with sessions() as connection:
        AUDIT.execute(connection, _audit("rolled back"))
        connection.rollback()
        AUDIT.execute(connection, _audit("kept"))
        connection.commit()
    with sessions() as connection:
        assert connection.execute(select(audit_events.c.action)).scalars().all() == ["kept"]


def test_a_float_is_refused_before_anything_is_written(sessions: Sessions) -> None:
    with sessions() as connection:
        with pytest.raises(StatementError, match="not float"):
            MARKS.execute(connection, {"symbol": "BTC/USDT", "at": AT, "price": 91234.5})
        connection.commit()
        assert connection.execute(select(marks.c.id)).all() == []


def test_a_driver_error_is_raised_as_sqlalchemys(sessions: Sessions) -> None:
    row = {"symbol": "BTC/USDT", "at": AT, "price": Decimal(1)}
    with sessions() as connection:
        AUDIT.execute(connection, _audit("a"))
        with pytest.raises(IntegrityError):
            AUDIT.execute(connection, _audit("a") | {"actor": None})  # actor is NOT NULL
        connection.rollback()
        with pytest.raises(StatementError):
            MARKS.execute(connection, row | {"at": datetime(2026, 1, 1)})  # naive: refused by the column type


def test_listeners_see_every_statement(engine: Engine, sessions: Sessions) -> None:
    with recorded(engine) as seen, sessions() as connection:
        MARKS.execute(connection, {"symbol": "BTC/USDT", "at": AT, "price": Decimal(1)})
        connection.commit()
    assert any(statement.upper().startswith("INSERT INTO PRICE_MARKS") for statement in seen)
