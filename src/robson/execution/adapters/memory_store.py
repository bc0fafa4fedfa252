"""An in-memory PaperStore for tests and demos. It deep-copies on commit and on load, so that a reload is real."""

from __future__ import annotations

from copy import deepcopy

from robson.execution.adapters.paper_account import apply_changes
from robson.ports import Balance, PaperChanges, PaperState


class MemoryPaperStore:
    def __init__(self, state: PaperState | None = None) -> None:
        self._state = deepcopy(state) if state is not None else PaperState()

    def load(self) -> PaperState:
        return deepcopy(self._state)

    def commit(self, changes: PaperChanges) -> None:
        apply_changes(self._state, deepcopy(changes))

    def reset(self, balances: dict[str, Balance]) -> None:
        """Wipe orders, fills and prices and keep counting ids from where they were."""
        self._state = PaperState(balances=deepcopy(balances), sequence=self._state.sequence)
