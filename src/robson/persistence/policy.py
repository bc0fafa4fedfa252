"""The risk engine's state: the account's policy state (one row) and recent price marks per symbol."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, delete, insert, select

from robson.persistence.policy_codec import decode_policy_state, encode_policy_state
from robson.persistence.sql import upsert
from robson.persistence.tables import policy_state, price_marks
from robson.risk.policy_state import PolicyState

POLICY_ROW = 1


class SqlPolicyRepository:
    """The PolicyState, read and written whole as JSON in row 1 of policy_state."""

    def __init__(self, session: Connection) -> None:
        self.session = session

    def get(self) -> PolicyState | None:
        data = self.session.scalar(select(policy_state.c.data).where(policy_state.c.id == POLICY_ROW))
        return None if data is None else decode_policy_state(data)

    def save(self, state: PolicyState) -> None:
        row = {
            "id": POLICY_ROW,
            "trading_state": state.state.value,
            "data": encode_policy_state(state),
            "updated_at": state.updated_at,
        }
        upsert(self.session, policy_state, [row], keys=["id"])


class SqlMarkRepository:
    """Recent marks per symbol, in the order they were added."""

    def __init__(self, session: Connection) -> None:
        self.session = session

    def add(self, symbol: str, at: datetime, price: Decimal) -> None:
        self.session.execute(insert(price_marks).values(symbol=symbol, at=at, price=price))

    def recent(self, symbol: str, limit: int) -> list[Decimal]:
        """The last `limit` marks of the symbol, oldest first."""
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        query = (
            select(price_marks.c.price)
            .where(price_marks.c.symbol == symbol)
            .order_by(price_marks.c.id.desc())
            .limit(limit)
        )
        return list(reversed(self.session.scalars(query).all()))

    def prune(self, symbol: str, keep: int) -> None:
        """Delete every mark of the symbol but the newest `keep`."""
        if keep < 0:
            raise ValueError(f"keep must not be negative, got {keep}")
        statement = delete(price_marks).where(price_marks.c.symbol == symbol)
        if keep > 0:
            oldest_kept = self.session.scalar(
                select(price_marks.c.id)
                .where(price_marks.c.symbol == symbol)
                .order_by(price_marks.c.id.desc())
                .offset(keep - 1)
                .limit(1)
            )
            if oldest_kept is None:  # no more than `keep` marks: nothing to prune
                return
            statement = statement.where(price_marks.c.id < oldest_kept)
        self.session.execute(statement)
