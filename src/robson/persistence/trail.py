"""What a unit of work's commit audits: the pending events of every operation it has seen, and draining them once
that commit succeeded. Shared by the SQL and the memory ledgers (no SQLAlchemy here)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from robson.domain.events import DomainEvent
from robson.domain.operation import Operation


def pending_events(operations: Iterable[Operation]) -> tuple[list[DomainEvent], list[tuple[Operation, int]]]:
    """The events to audit, in order, and how many of each operation's events they are (to drain after commit)."""
    trail: list[DomainEvent] = []
    counted: list[tuple[Operation, int]] = []
    for operation in operations:
        pending = list(operation.events)
        trail += (_with_entity_id(event, operation) for event in pending)
        counted.append((operation, len(pending)))
    return trail, counted


def drain(counted: list[tuple[Operation, int]]) -> None:
    """The audited events leave their operations (events recorded meanwhile stay)."""
    for operation, count in counted:
        del operation.events[:count]


def _with_entity_id(event: DomainEvent, operation: Operation) -> DomainEvent:
    """Events recorded before the operation had an id say "None"; name the id it was given on add."""
    if event.entity == "operation" and event.entity_id == "None" and operation.id is not None:
        return replace(event, entity_id=str(operation.id))
    return event
