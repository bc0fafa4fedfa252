"""The paper venue's storage in memory, for tests, demos and a Robson on the memory ledger: a PaperStore that
deep-copies on commit and on load, so that a reload is real, its transactions holding a lock, so that exchanges on
several threads over one store behave as processes over one database; and a PriceQueue."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from robson.execution.adapters.paper_account import apply_changes
from robson.ports import Balance, PaperChanges, PaperState, PaperStore, PriceQueue

KEEP = 10_000  # prices kept while no monitor takes them: the newest (as SqlPriceQueue)


class MemoryPaperStore:
    def __init__(self, state: PaperState | None = None) -> None:
        self._state = deepcopy(state) if state is not None else PaperState()
        self._lock = threading.RLock()

    def revision(self) -> int:
        return self._state.revision

    def load(self) -> PaperState:
        with self._lock:
            return deepcopy(self._state)

    @contextmanager
    def transaction(self) -> Iterator[int]:
        with self._lock:  # commit() is a call's last step, so a call that fails has changed nothing
            yield self._state.revision

    def commit(self, changes: PaperChanges) -> None:
        with self._lock:
            apply_changes(self._state, _copy(changes))
            self._state.revision += 1

    def reset(self, balances: dict[str, Balance]) -> None:
        """Wipe orders, fills and prices and keep counting ids from where they were."""
        with self._lock:
            state = self._state
            self._state = PaperState(balances=deepcopy(balances), sequence=state.sequence, revision=state.revision + 1)


def _copy(changes: PaperChanges) -> PaperChanges:
    """A copy sharing nothing mutable with the caller (orders are the only mutable values; the rest are frozen)."""
    return PaperChanges(
        balances=dict(changes.balances),
        orders={cid: replace(order) for cid, order in changes.orders.items()},
        fills=list(changes.fills),
        prices=dict(changes.prices),
        sequence=changes.sequence,
    )


class MemoryPriceQueue:
    """PriceQueue in memory: the pushed prices by id (ids only grow, in push order), each with the time of its
    push, until acted on; as SqlPriceQueue, a reader goes by the ids it has seen, never by a cursor."""

    def __init__(self) -> None:
        self._queued: dict[int, tuple[str, Decimal, datetime]] = {}  # insertion order is id order
        self._last = 0
        self._lock = threading.Lock()

    def append(self, symbol: str, prices: Sequence[Decimal], at: datetime) -> None:
        with self._lock:
            for price in prices:
                self._last += 1
                self._queued[self._last] = (symbol, price, at)
            for stale in list(itertools.islice(self._queued, max(len(self._queued) - KEEP, 0))):
                del self._queued[stale]

    def pending(self) -> list[tuple[int, str, Decimal, datetime]]:
        with self._lock:
            return [(id_, symbol, price, at) for id_, (symbol, price, at) in self._queued.items()]

    def done(self, ids: Sequence[int]) -> None:
        with self._lock:
            for id_ in ids:
                self._queued.pop(id_, None)

    def clear(self) -> None:
        with self._lock:
            self._queued.clear()


_: tuple[type[PaperStore], type[PriceQueue]] = (MemoryPaperStore, MemoryPriceQueue)  # held to the ports
