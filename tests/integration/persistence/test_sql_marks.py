"""SqlMarkRepository: recent marks per symbol, oldest first, pruned to the newest few."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import Engine, func, select

from robson.persistence.database import Sessions
from robson.persistence.policy import SqlMarkRepository
from robson.persistence.tables import price_marks
from robson.persistence.unit_of_work import SqlUnitOfWork

T0 = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)
BTC = [D("90000"), D("90010.50"), D("89990.1234"), D("1E-8"), D("90100")]
ETH = [D("3100.5"), D("3099.25")]


def fill(sessions: Sessions) -> None:
    with sessions() as session:
        marks = SqlMarkRepository(session)
        for i, (btc, eth) in enumerate(zip(BTC, [*ETH, None, None, None], strict=True)):
            marks.add("BTC/USDT", T0 + timedelta(seconds=i), btc)
            if eth is not None:
                marks.add("ETH/USDT", T0 + timedelta(seconds=i), eth)
        session.commit()


def recent(sessions: Sessions, symbol: str, limit: int) -> list[D]:
    with sessions() as session:
        return SqlMarkRepository(session).recent(symbol, limit)


def prune(sessions: Sessions, symbol: str, keep: int) -> None:
    with sessions() as session:
        SqlMarkRepository(session).prune(symbol, keep)
        session.commit()


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(price_marks)) or 0)


@pytest.mark.parametrize(
    ("symbol", "limit", "expected"),
    [
        ("BTC/USDT", 3, BTC[-3:]),
        ("BTC/USDT", 5, BTC),
        ("BTC/USDT", 50, BTC),
        ("BTC/USDT", 1, [D("90100")]),
        ("BTC/USDT", 0, []),
        ("ETH/USDT", 10, ETH),
        ("SOL/USDT", 10, []),
    ],
)
def test_recent_is_the_last_marks_of_the_symbol_oldest_first(
    sessions: Sessions, symbol: str, limit: int, expected: list[D]
) -> None:
    fill(sessions)
    assert recent(sessions, symbol, limit) == expected


def test_marks_keep_their_digits(sessions: Sessions) -> None:
    fill(sessions)
    assert [str(price) for price in recent(sessions, "BTC/USDT", 5)] == [str(price) for price in BTC]


def test_marks_are_ordered_as_added_not_by_their_time(sessions: Sessions) -> None:
    with sessions() as session:
        marks = SqlMarkRepository(session)
        marks.add("BTC/USDT", T0, D("2"))
        marks.add("BTC/USDT", T0 - timedelta(minutes=1), D("1"))
        session.commit()
    assert recent(sessions, "BTC/USDT", 2) == [D("2"), D("1")]


@pytest.mark.parametrize(("keep", "expected"), [(2, BTC[-2:]), (5, BTC), (9, BTC), (1, BTC[-1:]), (0, [])])
def test_prune_keeps_the_newest_marks_of_that_symbol_only(
    sessions: Sessions, engine: Engine, keep: int, expected: list[D]
) -> None:
    fill(sessions)
    prune(sessions, "BTC/USDT", keep)
    assert recent(sessions, "BTC/USDT", 10) == expected
    assert recent(sessions, "ETH/USDT", 10) == ETH
    assert count(engine) == len(expected) + len(ETH)


def test_pruning_a_symbol_without_marks_does_nothing(sessions: Sessions, engine: Engine) -> None:
    fill(sessions)
    prune(sessions, "SOL/USDT", 1)
    assert count(engine) == len(BTC) + len(ETH)


def test_negative_limits_are_refused(sessions: Sessions) -> None:
    with sessions() as session:
        marks = SqlMarkRepository(session)
        with pytest.raises(ValueError, match="limit"):
            marks.recent("BTC/USDT", -1)
        with pytest.raises(ValueError, match="keep"):
            marks.prune("BTC/USDT", -1)


def test_the_unit_of_work_commits_marks_or_rolls_them_back(sessions: Sessions, engine: Engine) -> None:
    with SqlUnitOfWork(sessions) as uow:
        uow.marks.add("BTC/USDT", T0, D("90000"))
        assert uow.marks.recent("BTC/USDT", 5) == [D("90000")]
    assert count(engine) == 0
    with SqlUnitOfWork(sessions) as uow:
        uow.marks.add("BTC/USDT", T0, D("90000"))
        uow.marks.add("BTC/USDT", T0 + timedelta(seconds=1), D("90001"))
        uow.marks.prune("BTC/USDT", 1)
        uow.commit()
    with SqlUnitOfWork(sessions) as uow:
        assert uow.marks.recent("BTC/USDT", 5) == [D("90001")]
    with engine.connect() as connection:
        assert connection.scalar(select(price_marks.c.at)) == T0 + timedelta(seconds=1)
