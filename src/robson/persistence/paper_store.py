"""The paper venue's account in the database, so that a restarted process sees the same account."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from robson.persistence.mapping import fill_from_row, fill_row, order_from_row, order_row
from robson.persistence.sql import upsert
from robson.persistence.tables import paper_balances, paper_fills, paper_meta, paper_orders, paper_prices
from robson.ports import Balance, PaperChanges, PaperState

SEQUENCE_KEY = "sequence"


class SqlPaperStore:
    """PaperStore on SQLAlchemy: load() reads everything; commit() and reset() each write in one transaction."""

    def __init__(self, session_factory: Callable[[], Connection]) -> None:
        self.session_factory = session_factory

    def load(self) -> PaperState:
        with self.session_factory() as session:
            balances = {
                row.asset: Balance(row.asset, row.free, row.locked) for row in session.execute(select(paper_balances))
            }
            orders = {
                row["client_order_id"]: order_from_row(row) for row in session.execute(select(paper_orders)).mappings()
            }
            fills = [
                fill_from_row(row)
                for row in session.execute(select(paper_fills).order_by(paper_fills.c.seq)).mappings()
            ]
            prices = {row.symbol: row.price for row in session.execute(select(paper_prices))}
            sequence = session.scalar(select(paper_meta.c.value).where(paper_meta.c.key == SEQUENCE_KEY))
        return PaperState(balances, orders, fills, prices, int(sequence) if sequence is not None else 0)

    def commit(self, changes: PaperChanges) -> None:
        with self.session_factory() as session, session.begin():
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

    def reset(self, balances: dict[str, Balance]) -> None:
        with self.session_factory() as session, session.begin():
            for table in (paper_balances, paper_orders, paper_fills, paper_prices):  # the id sequence goes on
                session.execute(delete(table))
            rows = [_balance_row(balance) for balance in balances.values()]
            if rows:
                session.execute(insert(paper_balances), rows)

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
