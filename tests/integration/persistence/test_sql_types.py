"""ExactDecimal and UtcDateTime round-trip exactly on every dialect and refuse what is not exact or aware."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, insert, select
from sqlalchemy.exc import StatementError

from robson.persistence.types import ExactDecimal, UtcDateTime

EXACT = [D("0.00555"), D("499.50000"), D("1E-18"), D("123456789012.123456789"), D("-7.10"), D("0")]


@pytest.fixture
def samples(engine: Engine) -> Table:
    table = Table(
        "type_samples",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("amount", ExactDecimal, nullable=True),
        Column("at", UtcDateTime, nullable=True),
    )
    table.create(engine)
    return table


def test_decimals_round_trip_with_their_value_and_their_digits(engine: Engine, samples: Table) -> None:
    with engine.begin() as connection:
        connection.execute(insert(samples), [{"id": i, "amount": value} for i, value in enumerate(EXACT)])
    with engine.connect() as connection:
        read = connection.scalars(select(samples.c.amount).order_by(samples.c.id)).all()
    assert all(isinstance(value, D) for value in read)
    assert read == EXACT
    assert [str(value) for value in read] == [str(value) for value in EXACT]


def test_null_stays_null(engine: Engine, samples: Table) -> None:
    with engine.begin() as connection:
        connection.execute(insert(samples), [{"id": 1, "amount": None, "at": None}])
    with engine.connect() as connection:
        assert connection.execute(select(samples.c.amount, samples.c.at)).one() == (None, None)


@pytest.mark.parametrize("bad", [0.1, 1.5, True, "0.1"])
def test_floats_and_other_inexact_values_are_refused(engine: Engine, samples: Table, bad: object) -> None:
    with pytest.raises(StatementError) as caught, engine.begin() as connection:
        connection.execute(insert(samples).values(id=1, amount=bad))
    assert isinstance(caught.value.orig, TypeError)


def test_non_finite_decimals_are_refused(engine: Engine, samples: Table) -> None:
    with pytest.raises(StatementError) as caught, engine.begin() as connection:
        connection.execute(insert(samples).values(id=1, amount=D("NaN")))
    assert isinstance(caught.value.orig, ValueError)


def test_datetimes_come_back_aware_in_utc(engine: Engine, samples: Table) -> None:
    brasilia = timezone(timedelta(hours=-3))
    written = [datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), datetime(2025, 6, 30, 21, 0, tzinfo=brasilia)]
    with engine.begin() as connection:
        connection.execute(insert(samples), [{"id": i, "at": at} for i, at in enumerate(written)])
    with engine.connect() as connection:
        read = connection.scalars(select(samples.c.at).order_by(samples.c.id)).all()
    assert read == written
    assert all(at.tzinfo is UTC for at in read)
    assert read[1] == datetime(2025, 7, 1, 0, 0, tzinfo=UTC)


def test_naive_datetimes_are_refused(engine: Engine, samples: Table) -> None:
    with pytest.raises(StatementError) as caught, engine.begin() as connection:
        connection.execute(insert(samples).values(id=1, at=datetime(2025, 1, 1)))
    assert isinstance(caught.value.orig, ValueError)
