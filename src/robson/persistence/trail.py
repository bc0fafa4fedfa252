"""What a unit of work's commit audits and then dispatches: the events it recorded itself (the policy's, alerts),
then the pending events of every operation it has seen, in order; and draining the operations' events once that
commit succeeded. Shared by the SQL and the memory ledgers (no SQLAlchemy here)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from robson.domain.events import Event, OperationEvent
from robson.domain.operation import Operation


def pending_events(
    recorded: Sequence[Event], operations: Iterable[Operation]
) -> tuple[list[Event], list[tuple[Operation, int]]]:
    """The events to audit and dispatch, in order, and how many of each operation's events they are (to drain after
    commit)."""
    trail: list[Event] = list(recorded)
    counted: list[tuple[Operation, int]] = []
    for operation in operations:
        pending = list(operation.events)
        trail += (_with_operation_id(event, operation) for event in pending)
        counted.append((operation, len(pending)))
    return trail, counted


def drain(counted: list[tuple[Operation, int]]) -> None:
    """The audited events leave their operations (events recorded meanwhile stay)."""
    for operation, count in counted:
        del operation.events[:count]


def _with_operation_id(event: OperationEvent, operation: Operation) -> OperationEvent:
    """Events recorded before the operation had an id name none; name the id it was given on add."""
    if event.operation_id is None and operation.id is not None:
        return replace(event, operation_id=operation.id)
    return event
