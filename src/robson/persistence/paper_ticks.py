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

    def pending(self, after: int = 0) -> tuple[list[tuple[str, Decimal, datetime]], int]:
        """Every price queued after the id `after`, oldest first, with its time, and the id of the newest (0 when
        none); nothing is removed."""
        with self.session_factory() as session:
            query = select(paper_ticks).where(paper_ticks.c.id > after).order_by(paper_ticks.c.id)
            rows = session.execute(query).all()
        return [(row.symbol, row.price, row.at) for row in rows], max((row.id for row in rows), default=0)

    def done(self, upto: int) -> None:
        """The prices up to this id were acted on: removed (one another process adds meanwhile stays queued)."""
        with self.session_factory() as session, session.begin():
            session.execute(delete(paper_ticks).where(paper_ticks.c.id <= upto))

    def clear(self) -> None:
        with self.session_factory() as session, session.begin():
            session.execute(delete(paper_ticks))


_: type[PriceQueue] = SqlPriceQueue  # mypy holds it to the port
