"""The paper venue's queue of pushed prices in the database: appended, with the time of the push, by whoever moves
the paper market (robson price, a replay); read in order by the monitor's paper feed and removed once acted on, so
that no pushed price goes unseen between two passes, nor is lost with a monitor killed in the middle of one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, delete, func, insert, select

from robson.persistence.tables import paper_ticks
from robson.ports import PriceQueue

KEEP = 10_000  # prices kept while no monitor takes them (a long replay with no monitor running): the newest


class SqlPriceQueue:
    """PriceQueue on SQLAlchemy: each call is one transaction; the ids come from the database."""

    def __init__(self, session_factory: Callable[[], Connection]) -> None:
        self.session_factory = session_factory

    def append(self, symbol: str, prices: Sequence[Decimal], at: datetime) -> None:
        if not prices:
            return
        with self.session_factory() as session, session.begin():
            session.execute(insert(paper_ticks), [{"symbol": symbol, "price": price, "at": at} for price in prices])
            newest = session.scalar(select(func.max(paper_ticks.c.id)))
            session.execute(delete(paper_ticks).where(paper_ticks.c.id <= int(newest or 0) - KEEP))

    def pending(self) -> list[tuple[int, str, Decimal, datetime]]:
        """Every price queued, by id, with its time; nothing is removed. Ids are handed out in insertion order,
        but commits may land out of it (two processes pushing at once): a reader must not skip a lower id that
        shows up late, so it goes by ids seen, never by a cursor."""
        with self.session_factory() as session:
            rows = session.execute(select(paper_ticks).order_by(paper_ticks.c.id)).all()
        return [(row.id, row.symbol, row.price, row.at) for row in rows]

    def done(self, ids: Sequence[int]) -> None:
        """These prices were acted on: removed (any other stays queued)."""
        with self.session_factory() as session, session.begin():
            for start in range(0, len(ids), 1000):
                session.execute(delete(paper_ticks).where(paper_ticks.c.id.in_(ids[start : start + 1000])))

    def clear(self) -> None:
        with self.session_factory() as session, session.begin():
            session.execute(delete(paper_ticks))


_: type[PriceQueue] = SqlPriceQueue  # mypy holds it to the port
