"""An in-memory PaperStore for tests and demos. It deep-copies on commit and on load, so that a reload is real; its
transactions hold a lock, so that exchanges on several threads over one store behave as processes over one
database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import replace

from robson.execution.adapters.paper_account import apply_changes
from robson.ports import Balance, PaperChanges, PaperState


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
