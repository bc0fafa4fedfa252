"""The ledger in memory: the backtester's, and any Robson that keeps nothing (`bootstrap.build("memory://")`).

`MemoryLedger` is the database: what every unit of work opened on it has committed. `MemoryUnitOfWork` is the SQL
unit of work's twin, held to the same contract suite (tests/contract/test_unit_of_work.py): its writes are its own
until commit, which stores them together under the ledger's lock, or raises ConcurrentChange and stores nothing;
a rollback, or leaving without commit, leaves nothing behind. Values are stored as the SQL ledger's column types
store them (timestamps in UTC, decimals exact) and every read hands out a copy of its own. No SQLAlchemy here.
"""

from __future__ import annotations

import builtins
import itertools
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from robson.domain.events import Event
from robson.persistence.audit_entries import audit_entries
from robson.persistence.memory_operations import MemoryOperationRepository, OperationTable, stored_value
from robson.persistence.trail import drain, pending_events
from robson.ports import (
    AuditEntry,
    AuditLog,
    AuditRecord,
    EventBus,
    ExecutionLog,
    ExecutionRecord,
    MarkRepository,
    OperationRepository,
    PolicyRepository,
    UnitOfWork,
)
from robson.risk.policy_state import PolicyState


@dataclass(frozen=True, slots=True)
class Mark:
    id: int
    at: datetime
    price: Decimal


_Identified = TypeVar("_Identified", AuditRecord, ExecutionRecord, Mark)


@dataclass
class MemoryLedger:
    """What the units of work opened on it have committed. Records are immutable once stored (a write stores new
    ones), so a reader never sees a half-made commit; the lock makes each commit one step."""

    operations: OperationTable = field(default_factory=OperationTable)
    audit: list[AuditRecord] = field(default_factory=list)
    executions: list[ExecutionRecord] = field(default_factory=list)
    policy: PolicyState | None = None
    marks: dict[str, list[Mark]] = field(default_factory=dict)  # by symbol, oldest first
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))  # of audit and execution records, marks

    def next_id(self) -> int:
        return next(self.ids)


class MemoryAuditLog:
    """The audit trail: append-only. Appended records are this unit's until commit."""

    def __init__(self, ledger: MemoryLedger) -> None:
        self.ledger = ledger
        self.pending: builtins.list[AuditRecord] = []

    def append(self, entry: AuditEntry, actor: str) -> None:
        self.append_all([entry], actor)

    def append_all(self, entries: Sequence[AuditEntry], actor: str) -> None:
        self.pending += (self._record(entry, actor) for entry in entries)

    def list(self, entity: str | None = None, entity_id: str | None = None) -> builtins.list[AuditRecord]:
        with self.ledger.lock:
            records = [*self.ledger.audit, *self.pending]
        return [
            record
            for record in _by_id(records)
            if (entity is None or record.entity == entity) and (entity_id is None or record.entity_id == entity_id)
        ]

    def _record(self, entry: AuditEntry, actor: str) -> AuditRecord:
        """As SQL stores it: the time in UTC, before and after as their own dicts in key order (JSON, sorted)."""
        return AuditRecord(
            id=self.ledger.next_id(),
            at=stored_value(entry.at),
            actor=actor,
            action=entry.name,
            entity=entry.entity,
            entity_id=entry.entity_id,
            before=dict(sorted(entry.before.items())),
            after=dict(sorted(entry.after.items())),
        )


class MemoryExecutionLog:
    def __init__(self, ledger: MemoryLedger) -> None:
        self.ledger = ledger
        self.pending: list[ExecutionRecord] = []

    def add(self, record: ExecutionRecord) -> None:
        values = {item.name: stored_value(getattr(record, item.name)) for item in fields(record) if item.name != "id"}
        self.pending.append(replace(record, id=self.ledger.next_id(), **values))

    def list(self, symbol: str | None = None, limit: int | None = None) -> list[ExecutionRecord]:
        """The newest `limit` records (all when None), oldest first; of one symbol when given."""
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        with self.ledger.lock:
            records = [*self.ledger.executions, *self.pending]
        chosen = [record for record in _by_id(records) if symbol is None or record.symbol == symbol]
        return chosen if limit is None else chosen[max(len(chosen) - limit, 0) :]


class MemoryPolicyRepository:
    """The policy state: immutable, so the state saved is the state handed out."""

    def __init__(self, ledger: MemoryLedger) -> None:
        self.ledger = ledger
        self.pending: PolicyState | None = None

    def get(self) -> PolicyState | None:
        return self.pending if self.pending is not None else self.ledger.policy

    def save(self, state: PolicyState) -> None:
        self.pending = state


class MemoryMarkRepository:
    """Recent marks per symbol. This unit's adds, and its prunes (every mark of a symbol below an id), are its own
    until commit; a prune removes only marks this unit could see, as a DELETE in SQL."""

    def __init__(self, ledger: MemoryLedger) -> None:
        self.ledger = ledger
        self.added: list[tuple[str, Mark]] = []
        self.cut: dict[str, int] = {}  # by symbol: marks below this id are pruned

    def add(self, symbol: str, at: datetime, price: Decimal) -> None:
        self.added.append((symbol, Mark(self.ledger.next_id(), stored_value(at), stored_value(price))))

    def recent(self, symbol: str, limit: int) -> list[Decimal]:
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        marks = self._visible(symbol)
        return [mark.price for mark in marks[max(len(marks) - limit, 0) :]]

    def prune(self, symbol: str, keep: int) -> None:
        if keep < 0:
            raise ValueError(f"keep must not be negative, got {keep}")
        marks = self._visible(symbol)
        if len(marks) <= keep:
            return
        below = marks[-keep].id if keep else marks[-1].id + 1
        self.cut[symbol] = max(self.cut.get(symbol, 0), below)
        self.added = [(name, mark) for name, mark in self.added if name != symbol or mark.id >= below]

    def apply(self) -> None:
        """Under the ledger's lock, at commit."""
        marks = self.ledger.marks
        for symbol, below in self.cut.items():
            marks[symbol] = [mark for mark in marks.get(symbol, []) if mark.id >= below]
        for symbol, mark in self.added:
            marks.setdefault(symbol, []).append(mark)

    def _visible(self, symbol: str) -> list[Mark]:
        below = self.cut.get(symbol, 0)
        with self.ledger.lock:
            stored = [mark for mark in self.ledger.marks.get(symbol, []) if mark.id >= below]
        return _by_id(stored + [mark for name, mark in self.added if name == symbol])


def _by_id(records: builtins.list[_Identified]) -> builtins.list[_Identified]:
    """In the order of their ids, as SQL lists them (units of work commit in any order the ids they took)."""
    return sorted(records, key=lambda record: record.id or 0)


class MemoryUnitOfWork:
    """`with MemoryUnitOfWork(ledger) as uow: ...; uow.commit()`, as SqlUnitOfWork: on commit every operation seen is
    saved and the events this unit recorded and its pending events audited (actor = `self.actor`), with everything
    else this unit wrote, in one step; the events leave the operations once it is stored. Whatever is not committed
    is dropped. Once stored, the events go to `bus` (when given), which dispatches them to its subscribers."""

    operations: OperationRepository
    audit: AuditLog
    policy: PolicyRepository
    marks: MarkRepository
    executions: ExecutionLog

    def __init__(self, ledger: MemoryLedger, actor: str = "robson", bus: EventBus | None = None) -> None:
        self.ledger = ledger
        self.actor = actor
        self.bus = bus
        self._open = False

    def __enter__(self) -> MemoryUnitOfWork:
        self._begin()
        self._open = True
        return self

    def __exit__(self, *args: object) -> None:
        self._open = False
        self._begin()  # what was not committed is dropped

    def record(self, *events: Event) -> None:
        self._must_be_open()
        self._recorded += events

    def commit(self) -> None:
        self._must_be_open()
        seen = self._operations.seen()
        for operation in seen:
            self._operations.save(operation)
        trail, counted = pending_events(self._recorded, seen)
        entries = audit_entries(trail)
        self._audit.append_all(entries, self.actor)
        try:
            with self.ledger.lock:
                self._operations.check()
                self._store()
        except BaseException:
            del self._audit.pending[len(self._audit.pending) - len(entries) :]  # audited by the commit that succeeds
            raise
        self._clear()
        drain(counted)
        if self.bus is not None and trail:
            self.bus.publish(trail)

    def rollback(self) -> None:
        self._must_be_open()
        self._operations.forget()
        self._clear()

    def _store(self) -> None:
        ledger = self.ledger
        self._operations.apply()
        ledger.audit += self._audit.pending
        ledger.executions += self._executions.pending
        if self._policy.pending is not None:
            ledger.policy = self._policy.pending
        self._marks.apply()

    def _clear(self) -> None:
        """Nothing left to commit (what the operations repository remembers stays: a unit goes on after commit)."""
        self._recorded.clear()
        self._audit.pending.clear()
        self._executions.pending.clear()
        self._policy.pending = None
        self._marks.added.clear()
        self._marks.cut.clear()

    def _begin(self) -> None:
        ledger = self.ledger
        self._operations = MemoryOperationRepository(ledger.operations, ledger.lock)
        self._audit = MemoryAuditLog(ledger)
        self._executions = MemoryExecutionLog(ledger)
        self._policy = MemoryPolicyRepository(ledger)
        self._marks = MemoryMarkRepository(ledger)
        self._recorded: list[Event] = []
        self.operations, self.audit, self.executions = self._operations, self._audit, self._executions
        self.policy, self.marks = self._policy, self._marks

    def _must_be_open(self) -> None:
        if not self._open:
            raise RuntimeError("the unit of work is not open: use it in a with block")


_: tuple[type[UnitOfWork], type[AuditLog], type[ExecutionLog], type[PolicyRepository], type[MarkRepository]] = (
    MemoryUnitOfWork,
    MemoryAuditLog,
    MemoryExecutionLog,
    MemoryPolicyRepository,
    MemoryMarkRepository,
)  # mypy holds them to the ports
