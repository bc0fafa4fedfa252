"""What an operations repository remembers in one unit of work, whatever the ledger (SQL or memory; no SQLAlchemy
here): one object per operation it has handed out or written, and what the ledger holds of each as that repository
last read or wrote it, so that a save writes only what changed."""

from __future__ import annotations

from robson.domain.operation import Operation
from robson.persistence.mapping import Stored


class IdentityMap:
    def __init__(self) -> None:
        self._seen: dict[int, Operation] = {}
        self._stored: dict[int, Stored] = {}

    def attach(self, operation: Operation) -> Operation:
        """Take in an operation an earlier unit of work read or wrote, unchanged since (the monitor keeps those it
        watches), without reading it again. If another process has written it meanwhile, the next write of it is
        refused with ConcurrentChange, and nothing of that unit of work is kept."""
        assert operation.id is not None
        known = self._seen.get(operation.id)
        if known is not None:
            return known
        self._remember(operation)
        return operation

    def seen(self) -> list[Operation]:
        """Every operation added, loaded or saved through this repository, in the order first seen."""
        return list(self._seen.values())

    def forget(self) -> None:
        """Drop what this repository remembers (after a rollback its objects no longer match the ledger)."""
        self._seen.clear()
        self._stored.clear()

    def _remember(self, operation: Operation) -> None:
        """The operation as just read or written: the one object for its id, and what the ledger now holds of it."""
        assert operation.id is not None
        self._seen.setdefault(operation.id, operation)
        self._stored[operation.id] = Stored.of(operation)
