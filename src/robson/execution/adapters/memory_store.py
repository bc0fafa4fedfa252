"""An in-memory PaperStore for tests and demos. It deep-copies on commit and on load, so that a reload is real."""

from __future__ import annotations

from copy import deepcopy
from dataclasses import replace

from robson.execution.adapters.paper_account import apply_changes
from robson.ports import Balance, PaperChanges, PaperState


class MemoryPaperStore:
    def __init__(self, state: PaperState | None = None) -> None:
        self._state = deepcopy(state) if state is not None else PaperState()

    def load(self) -> PaperState:
        return deepcopy(self._state)

    def commit(self, changes: PaperChanges) -> None:
        apply_changes(self._state, _copy(changes))

    def reset(self, balances: dict[str, Balance]) -> None:
        """Wipe orders, fills and prices and keep counting ids from where they were."""
        self._state = PaperState(balances=deepcopy(balances), sequence=self._state.sequence)


def _copy(changes: PaperChanges) -> PaperChanges:
    """A copy sharing nothing mutable with the caller (orders are the only mutable values; the rest are frozen)."""
    return PaperChanges(
        balances=dict(changes.balances),
        orders={cid: replace(order) for cid, order in changes.orders.items()},
        fills=list(changes.fills),
        prices=dict(changes.prices),
        sequence=changes.sequence,
    )
