"""The paper venue's account in the database, so that a restarted process, and every other process on the same
database, sees the same account.

Every write is one exclusive transaction: on SQLite `BEGIN IMMEDIATE` (the database's one write lock, taken before
anything is read), on PostgreSQL a row lock on the account's revision (`SELECT ... FOR UPDATE`). A call reads the
account inside that transaction, so two processes moving the paper venue at once are put one after the other, as
a real venue would: neither writes back a copy the other has changed meanwhile, and ids (the sequence) are read
from the database under the lock, never from a counter copied earlier.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from robson.persistence.mapping import fill_from_row, fill_row, order_from_row, order_row
from robson.persistence.sql import insert_missing, upsert
from robson.persistence.tables import paper_balances, paper_fills, paper_meta, paper_orders, paper_prices
from robson.ports import Balance, PaperChanges, PaperState, PaperStore

SEQUENCE_KEY = "sequence"
REVISION_KEY = "revision"  # raised by every write: a copy read at the current revision is current


class SqlPaperStore:
    """PaperStore on SQLAlchemy: load() reads one snapshot; commit() and reset() each write in one exclusive
    transaction (the caller's, inside transaction())."""

    def __init__(self, session_factory: Callable[[], Connection]) -> None:
        self.session_factory = session_factory
        self._session: Connection | None = None  # the open transaction's, inside transaction()

    def revision(self) -> int:
        if self._session is not None:
            return _revision(self._session)
        with self.session_factory() as session:
            return _revision(session)

    def load(self) -> PaperState:
        if self._session is not None:
            return _load(self._session)
        with self.session_factory() as session:
            if session.dialect.name == "sqlite":
                session.exec_driver_sql("BEGIN")  # one snapshot for every table read (a read lock, not the write one)
            else:
                session = session.execution_options(isolation_level="REPEATABLE READ")
            return _load(session)

    @contextmanager
    def transaction(self) -> Iterator[int]:
        if self._session is not None:
            raise RuntimeError("a paper transaction is already open")
        with self.session_factory() as session:
            revision = _lock(session)
            self._session = session
            try:
                yield revision
                session.commit()
            finally:
                self._session = None
                session.rollback()

    def commit(self, changes: PaperChanges) -> None:
        if self._session is None:
            with self.transaction():
                self.commit(changes)
            return
        session = self._session
        upsert(session, paper_balances, [_balance_row(balance) for balance in changes.balances.values()], ["asset"])
        upsert(session, paper_orders, [order_row(order) for order in changes.orders.values()], ["client_order_id"])
        upsert(
            session,
            paper_prices,
            [{"symbol": symbol, "price": price} for symbol, price in changes.prices.items()],
            ["symbol"],
        )
        self._insert_fills(session, changes)
        if changes.sequence is not None:
            upsert(session, paper_meta, [{"key": SEQUENCE_KEY, "value": str(changes.sequence)}], ["key"])
        _raise_revision(session)

    def reset(self, balances: dict[str, Balance]) -> None:
        with self.transaction():
            session = self._session
            assert session is not None
            for table in (paper_balances, paper_orders, paper_fills, paper_prices):  # the id sequence goes on
                session.execute(delete(table))
            rows = [_balance_row(balance) for balance in balances.values()]
            if rows:
                session.execute(insert(paper_balances), rows)
            _raise_revision(session)

    @staticmethod
    def _insert_fills(session: Connection, changes: PaperChanges) -> None:
        """Append the fills not stored yet (a repeated trade id is ignored), after the last one stored."""
        if not changes.fills:
            return
        trade_ids = [fill.trade_id for fill in changes.fills]
        stored = set(session.scalars(select(paper_fills.c.trade_id).where(paper_fills.c.trade_id.in_(trade_ids))))
        last = session.scalar(select(func.coalesce(func.max(paper_fills.c.seq), 0)))
        rows = []
        for fill in changes.fills:
            if fill.trade_id in stored:
                continue
            stored.add(fill.trade_id)
            last = int(last or 0) + 1
            rows.append(fill_row(fill) | {"seq": last})
        if rows:
            session.execute(insert(paper_fills), rows)


def _balance_row(balance: Balance) -> dict[str, Any]:
    return {"asset": balance.asset, "free": balance.free, "locked": balance.locked}


def _load(session: Connection) -> PaperState:
    balances = {row.asset: Balance(row.asset, row.free, row.locked) for row in session.execute(select(paper_balances))}
    orders = {row["client_order_id"]: order_from_row(row) for row in session.execute(select(paper_orders)).mappings()}
    fills = [fill_from_row(row) for row in session.execute(select(paper_fills).order_by(paper_fills.c.seq)).mappings()]
    prices = {row.symbol: row.price for row in session.execute(select(paper_prices))}
    meta = {row.key: row.value for row in session.execute(select(paper_meta.c.key, paper_meta.c.value))}
    sequence, revision = (int(meta.get(key, 0)) for key in (SEQUENCE_KEY, REVISION_KEY))
    return PaperState(balances, orders, fills, prices, sequence, revision)


def _revision(session: Connection) -> int:
    value = session.scalar(select(paper_meta.c.value).where(paper_meta.c.key == REVISION_KEY))
    return int(value) if value is not None else 0


def _lock(session: Connection) -> int:
    """Take the account's write lock for this transaction; returns the revision it is at."""
    if session.dialect.name == "sqlite":
        session.exec_driver_sql("BEGIN IMMEDIATE")  # waits (busy_timeout) for another process's write to end
    locked = select(paper_meta.c.value).where(paper_meta.c.key == REVISION_KEY).with_for_update()
    value = session.scalar(locked)
    if value is None:  # the first write ever: the row to lock is made (a racing twin waits on its key), then locked
        insert_missing(session, paper_meta, {"key": REVISION_KEY, "value": "0"})
        value = session.scalar(locked)
    assert value is not None, "the revision row was made just above, in this transaction"
    return int(value)


def _raise_revision(session: Connection) -> None:
    value = session.scalar(select(paper_meta.c.value).where(paper_meta.c.key == REVISION_KEY))
    session.execute(update(paper_meta).where(paper_meta.c.key == REVISION_KEY).values(value=str(int(value or 0) + 1)))


_: type[PaperStore] = SqlPaperStore  # mypy holds it to the port
