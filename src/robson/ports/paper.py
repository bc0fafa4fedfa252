"""The paper venue's own ports: its market (prices pushed in), the queue of pushed prices, and the storage of its
account, which the SQL ledger and the memory store both implement (so it is a port, not the adapter's own)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from robson.domain.account import Balance
from robson.domain.fills import Fill
from robson.domain.orders import Order


class PaperMarket(Protocol):
    """The paper venue's market side: prices pushed in by a person, a demo or a feed replay."""

    def push_price(self, symbol: str, price: Decimal) -> list[Fill]: ...

    def push_bar(self, symbol: str, open_: Decimal, high: Decimal, low: Decimal, close: Decimal) -> list[Fill]: ...

    def reset(self, balances: dict[str, Decimal]) -> None: ...

    def reload(self) -> None: ...  # see what other processes did to the same paper account


class PriceQueue(Protocol):
    """The paper venue's pushed prices, in order, until the paper feed takes them."""

    def append(self, symbol: str, prices: Sequence[Decimal], at: datetime) -> None: ...  # pushed at `at`

    def pending(self) -> list[tuple[int, str, Decimal, datetime]]: ...  # every one queued: (id, symbol, price, at)

    def done(self, ids: Sequence[int]) -> None: ...  # these were acted on: no longer queued

    def clear(self) -> None: ...


@runtime_checkable
class QueuedFeed(Protocol):
    """What a feed over a queue of pushed prices adds (the paper venue's): each price with the time it was pushed
    (a price pushed before an operation was opened says nothing about it), and a price leaves the queue only once
    the monitor has acted on it."""

    def poll_timed(self) -> list[tuple[str, Decimal, datetime | None]]: ...  # as poll(); None: a price of now

    def acted(self) -> None: ...  # everything handed out so far was acted on: it leaves the queue


@dataclass(slots=True)
class PaperState:
    """Everything the paper venue knows; persisted so that a restarted process sees the same account."""

    balances: dict[str, Balance] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)  # by client order id
    fills: list[Fill] = field(default_factory=list)
    prices: dict[str, Decimal] = field(default_factory=dict)
    sequence: int = 0
    revision: int = field(default=0, compare=False)  # the store's count of writes when this was read
    working: set[str] = field(init=False, repr=False, compare=False)  # client order ids of the open orders

    def __post_init__(self) -> None:
        self.working = {cid for cid, order in self.orders.items() if order.status.is_open}


@dataclass(slots=True)
class PaperChanges:
    """What one paper call changed; written in one transaction."""

    balances: dict[str, Balance] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    prices: dict[str, Decimal] = field(default_factory=dict)
    sequence: int | None = None


class PaperStore(Protocol):
    """The paper account's storage, shared by every process on the same database. Its revision counts the writes:
    a copy read at revision r is current as long as the store is still at r."""

    def revision(self) -> int: ...  # cheap: one read, no lock

    def load(self) -> PaperState: ...  # one consistent snapshot, its revision with it

    # One read-modify-write that no other process's can interleave with: it yields the revision at its start (the
    # lock held); load() and commit() inside it read and write in it; it commits at the end, or rolls back.
    def transaction(self) -> AbstractContextManager[int]: ...

    def commit(self, changes: PaperChanges) -> None: ...  # raises the revision by one

    def reset(self, balances: dict[str, Balance]) -> None: ...  # raises the revision; the id sequence goes on
