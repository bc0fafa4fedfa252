"""The paper venue's queue of pushed prices in the database: appended by whoever moves the paper market (robson
price, a replay), taken in order by the monitor's paper feed, so that no pushed price goes unseen between two
passes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from sqlalchemy import Connection, delete, func, insert, select

from robson.persistence.tables import paper_ticks

KEEP = 10_000  # prices kept while no monitor takes them (a long replay with no monitor running): the newest


class SqlPriceQueue:
    """PriceQueue on SQLAlchemy: each call is one transaction; the ids come from the database."""

    def __init__(self, session_factory: Callable[[], Connection]) -> None:
        self.session_factory = session_factory

    def append(self, symbol: str, prices: Sequence[Decimal]) -> None:
        if not prices:
            return
        with self.session_factory() as session, session.begin():
            session.execute(insert(paper_ticks), [{"symbol": symbol, "price": price} for price in prices])
            newest = session.scalar(select(func.max(paper_ticks.c.id)))
            session.execute(delete(paper_ticks).where(paper_ticks.c.id <= int(newest or 0) - KEEP))

    def take(self) -> list[tuple[str, Decimal]]:
        """Every price queued, oldest first, each handed out once."""
        with self.session_factory() as session, session.begin():
            rows = session.execute(select(paper_ticks).order_by(paper_ticks.c.id)).all()
            taken = [row.id for row in rows]
            for start in range(0, len(taken), 1000):  # by id: a price another process adds meanwhile stays queued
                session.execute(delete(paper_ticks).where(paper_ticks.c.id.in_(taken[start : start + 1000])))
        return [(row.symbol, row.price) for row in rows]

    def clear(self) -> None:
        with self.session_factory() as session, session.begin():
            session.execute(delete(paper_ticks))
