"""The ledger: the unit of work and its repositories (operations, the audit trail, the policy state, marks, the
execution log), and the lease that lets one robson run act for an account at a time."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from robson.domain.events import Event
from robson.domain.operation import Operation, OperationStatus
from robson.domain.orders import OrderType
from robson.domain.values import ZERO, OrderSide
from robson.risk.policy_state import PolicyState


class Lease(Protocol):
    """One `robson run` acts for an account at a time: it holds the lease for as long as it lives (the lease ends
    with the process, however it ends)."""

    def acquire(self) -> bool: ...  # tries once, never waits: True when this process holds it

    def holder(self) -> str | None: ...  # who holds it, when known

    def release(self) -> None: ...


class OperationRepository(Protocol):
    def add(self, operation: Operation) -> Operation: ...

    def get(self, operation_id: int) -> Operation | None: ...

    def list(self, statuses: Sequence[OperationStatus] = ()) -> list[Operation]: ...

    # open ones, those created or closed since `since`, and the last `last_closed` closed
    def recent(self, since: datetime, last_closed: int) -> builtins.list[Operation]: ...

    def save(self, operation: Operation) -> None: ...

    def attach(self, operation: Operation) -> Operation: ...

    # id -> version of the operations in these statuses, nothing loaded: what changed since a watcher last looked
    def versions(self, statuses: Sequence[OperationStatus]) -> dict[int, int]: ...

    # the operation each of these client order ids belongs to (ids no operation holds are left out)
    def owners(self, client_order_ids: Collection[str]) -> dict[str, int]: ...


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What one event writes on the audit trail (persistence/audit_entries.py maps each event to its entry): the
    action, what it is about, when, and the values before and after, as text."""

    name: str  # past tense: OperationPlanned, OrderFilled, TrancheAdded, ...
    entity: str  # "operation", "order", "policy"
    entity_id: str
    at: datetime
    before: dict[str, str] = field(default_factory=dict)
    after: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, str]
    after: dict[str, str]


class AuditLog(Protocol):
    def append(self, entry: AuditEntry, actor: str) -> None: ...

    def list(self, entity: str | None = None, entity_id: str | None = None) -> list[AuditRecord]: ...


class PolicyRepository(Protocol):
    """The account's policy state: one row, read and written whole."""

    def get(self) -> PolicyState | None: ...

    def save(self, state: PolicyState) -> None: ...


class MarkRepository(Protocol):
    """Recent marks per symbol: the history correlations and price-move checks measure."""

    def add(self, symbol: str, at: datetime, price: Decimal) -> None: ...

    def recent(self, symbol: str, limit: int) -> list[Decimal]: ...  # oldest first

    def prune(self, symbol: str, keep: int) -> None: ...


@dataclass(frozen=True, slots=True)
class ExecutionRecord:
    """One attempt to execute an order (with its retries): what was asked, what the venue did, at what cost."""

    at: datetime
    venue: str
    operation_id: int | None
    client_order_id: str
    symbol: str
    side: OrderSide
    type: OrderType
    role: str
    requested_price: Decimal | None  # the limit, or for a market order the reference price when it was sent
    executed_price: Decimal | None  # the fills' volume-weighted average
    slippage_bps: Decimal | None  # executed against requested; positive is worse for us
    requested_quantity: Decimal
    filled_quantity: Decimal
    fees: Decimal  # in the quote asset (fees paid in another asset valued at the fill price)
    latency_ms: Decimal
    retries: int
    status: str  # the venue's order status, or REJECTED / UNKNOWN
    error: str | None = None
    spread_bps: Decimal | None = None
    volatility_bps: Decimal | None = None  # standard deviation of recent mark-to-mark returns
    id: int | None = None

    @property
    def fill_percent(self) -> Decimal:
        if self.requested_quantity <= 0:
            return ZERO
        return self.filled_quantity * 100 / self.requested_quantity


class ExecutionLog(Protocol):
    def add(self, record: ExecutionRecord) -> None: ...

    def list(self, symbol: str | None = None, limit: int | None = None) -> list[ExecutionRecord]: ...


class UnitOfWork(Protocol):
    # read-only: an implementation may hold its own repository types (each implementing the protocol)
    @property
    def operations(self) -> OperationRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def policy(self) -> PolicyRepository: ...

    @property
    def marks(self) -> MarkRepository: ...

    @property
    def executions(self) -> ExecutionLog: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *args: object) -> None: ...

    def record(self, *events: Event) -> None:
        """Events that belong to no operation (the policy's, alerts): audited with this unit's commit, in the same
        transaction, and dispatched after it, as the events of the operations it commits are."""
        ...

    def commit(self) -> None:
        """Save every operation seen, write the audit entries of the events recorded (this unit's first, then each
        operation's, in order) in the same transaction; once committed, hand those events to the event bus. A
        commit that fails (ConcurrentChange among others) writes and dispatches nothing: the events stay."""
        ...

    def rollback(self) -> None: ...
