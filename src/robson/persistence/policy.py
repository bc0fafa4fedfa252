"""The risk engine's state: the account's policy state (one row) and recent price marks per symbol."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, delete, insert, select

from robson.persistence.policy_codec import decode_policy_state, encode_policy_state
from robson.persistence.sql import upsert
from robson.persistence.tables import policy_state, price_marks
from robson.ports import MarkRepository, PolicyRepository
from robson.risk.policy_state import PolicyState

POLICY_ROW = 1


class SqlPolicyRepository:
    """The PolicyState, read and written whole as JSON in row 1 of policy_state.

    The state last read or written is kept with its JSON text: the state is immutable and decoding is a pure
    function of the text, so reading the same text again returns that state without decoding it (every order's
    breaker count reads the state). A text another process wrote differs, and is decoded."""

    _last: tuple[str, PolicyState] | None = None  # shared by every repository of the process

    def __init__(self, session: Connection) -> None:
        self.session = session

    def get(self) -> PolicyState | None:
        data = self.session.scalar(select(policy_state.c.data).where(policy_state.c.id == POLICY_ROW))
        if data is None:
            return None
        last = SqlPolicyRepository._last
        if last is not None and last[0] == data:
            return last[1]
        state = decode_policy_state(data)
        SqlPolicyRepository._last = (data, state)
        return state

    def save(self, state: PolicyState) -> None:
        data = encode_policy_state(state)
        row = {"id": POLICY_ROW, "trading_state": state.state.value, "data": data, "updated_at": state.updated_at}
        upsert(self.session, policy_state, [row], keys=["id"])
        SqlPolicyRepository._last = (data, state)


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


_: tuple[type[PolicyRepository], type[MarkRepository]] = (SqlPolicyRepository, SqlMarkRepository)  # held to the ports
