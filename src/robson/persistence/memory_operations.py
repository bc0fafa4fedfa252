"""The memory ledger's operations: the rows SQL would store, kept in a dict, rebuilt into operations on read.

An operation is held as its rows (the operation's, its orders', its fills'), built by the same mapping as the SQL
ledger's and never changed once stored: a read builds a new Operation from them, a commit stores new rows. So
nothing a caller does to an operation it holds reaches the ledger without a commit, and what a rolled-back unit of
work wrote leaves nothing behind. No SQLAlchemy here.
"""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from robson.domain.errors import ConcurrentChange
from robson.domain.operation import Operation, OperationStatus
from robson.persistence.identity import IdentityMap
from robson.persistence.mapping import Stored, changed_orders, fill_row, operation_from_rows, operation_row
from robson.ports import OperationRepository


@dataclass(frozen=True, slots=True)
class Record:
    """One operation as the memory ledger holds it. Its rows are never changed once stored: a write stores a new
    Record. `row` carries the id and the version; orders are keyed by client order id, fills by trade id, each in
    the order stored."""

    row: Mapping[str, Any]
    orders: Mapping[str, Mapping[str, Any]]
    fills: Mapping[str, Mapping[str, Any]]

    @property
    def version(self) -> int:
        return int(self.row["version"])

    @property
    def status(self) -> str:
        return str(self.row["status"])

    def operation(self) -> Operation:
        return operation_from_rows(self.row, builtins.list(self.orders.values()), builtins.list(self.fills.values()))


@dataclass
class OperationTable:
    """The committed operations of a memory ledger, and its id sequences (never reused, as PostgreSQL's)."""

    records: dict[int, Record] = field(default_factory=dict)
    operation_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    order_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    # each committed record as an operation, built once: (the record it was built from, the operation)
    loaded: dict[int, tuple[Record, Operation]] = field(default_factory=dict)


def conflict(operation_id: int) -> ConcurrentChange:
    return ConcurrentChange(
        f"operation {operation_id} was changed by another process since it was read; nothing was written"
    )


class MemoryOperationRepository(IdentityMap):
    """OperationRepository over a memory ledger's operations, with the SQL repository's semantics: one object per
    operation in a unit of work, a save that writes only what changed (nothing changed: nothing written, the version
    kept), the version raised by every write, and ConcurrentChange for a write over another unit's newer one.

    Writes go to this unit of work's own table until `apply` (under the ledger's lock, at commit) checks that
    nothing it wrote was written meanwhile by another unit, and stores them."""

    def __init__(self, table: OperationTable, lock: AbstractContextManager[object]) -> None:
        super().__init__()
        self.table = table
        self._lock = lock  # the ledger's: held while a commit stores its writes
        self._written: dict[int, Record] = {}  # this unit's writes, not yet committed
        self._based_on: dict[int, int | None] = {}  # the committed version each was written over (None: none)

    # ---- the port ----------------------------------------------------------------------------
    def add(self, operation: Operation) -> Operation:
        if operation.id is not None:
            self.save(operation)
            return operation
        operation.id = next(self.table.operation_ids)
        operation.version = 0
        stored = self._stored[operation.id] = Stored(operation_row(operation), {}, set())
        self._write(operation, None, 0, changed_orders(operation, stored))
        return operation

    def save(self, operation: Operation) -> None:
        """Write what changed since the last read or write. Raises ConcurrentChange when the ledger no longer holds
        the version this operation was read at."""
        if operation.id is None:
            self.add(operation)
            return
        current = self._current(operation.id)
        stored = self._stored.get(operation.id)
        if stored is None:  # not read through this repository: written whole over what is stored
            stored = Stored({}, {}, set(current.fills) if current is not None else set())
            self._stored[operation.id] = stored
        changed = changed_orders(operation, stored)
        new = any(fill.trade_id not in stored.fills for fill in operation.fills)
        if stored.row == operation_row(operation) and not changed and not new:
            return
        if current is not None and current.version != operation.version:
            raise conflict(operation.id)
        self._write(operation, current, operation.version + 1, changed)

    def get(self, operation_id: int) -> Operation | None:
        if operation_id in self._seen:
            return self._seen[operation_id]
        record = self._current(operation_id)
        return self._loaded(record) if record is not None else None

    def list(self, statuses: Sequence[OperationStatus] = ()) -> builtins.list[Operation]:
        wanted = {status.value for status in statuses}
        return [self._loaded(record) for record in self._view() if not wanted or record.status in wanted]

    def recent(self, since: datetime, last_closed: int) -> builtins.list[Operation]:
        """As SqlOperationRepository.recent: every operation still PLANNED or ACTIVE, every one created or closed at
        `since` or later, and the `last_closed` most recently closed."""
        records = self._view()
        closed = [record for record in records if record.status == OperationStatus.CLOSED.value]
        closed.sort(key=lambda record: (record.row["closed_at"] or _EARLIEST, record.row["id"]), reverse=True)
        latest = {record.row["id"] for record in closed[: max(last_closed, 0)]}
        open_ones = (OperationStatus.PLANNED.value, OperationStatus.ACTIVE.value)
        return [
            self._loaded(record)
            for record in records
            if record.status in open_ones
            or record.row["created_at"] >= since
            or (record.row["closed_at"] is not None and record.row["closed_at"] >= since)
            or record.row["id"] in latest
        ]

    def versions(self, statuses: Sequence[OperationStatus]) -> dict[int, int]:
        wanted = {status.value for status in statuses}
        return {record.row["id"]: record.version for record in self._view() if record.status in wanted}

    def owners(self, client_order_ids: Collection[str]) -> dict[str, int]:
        wanted = set(client_order_ids)
        return {cid: record.row["id"] for record in self._view() for cid in record.orders if cid in wanted}

    # ---- for the unit of work ----------------------------------------------------------------
    def forget(self) -> None:
        """Drop this unit's writes and what it remembers (a rollback)."""
        super().forget()
        self._written.clear()
        self._based_on.clear()

    def check(self) -> None:
        """Under the ledger's lock, before anything is stored: raise ConcurrentChange when another unit of work has
        committed a write of an operation this one wrote, since this one read it."""
        records = self.table.records
        for operation_id, based_on in self._based_on.items():
            committed = records.get(operation_id)
            if (committed.version if committed is not None else None) != based_on:
                raise conflict(operation_id)

    def apply(self) -> None:
        """Under the ledger's lock, after check(): store this unit's writes."""
        self.table.records.update(self._written)
        self._written.clear()
        self._based_on.clear()

    # ---- internals -----------------------------------------------------------------------------
    def _current(self, operation_id: int) -> Record | None:
        """The operation as this unit of work sees it: its own write, else the committed one."""
        written = self._written.get(operation_id)
        return written if written is not None else self.table.records.get(operation_id)

    def _view(self) -> builtins.list[Record]:
        """Every operation as this unit sees it, by id."""
        with self._lock:
            records = dict(self.table.records)
        records.update(self._written)
        return [records[key] for key in sorted(records)]

    def _loaded(self, record: Record) -> Operation:
        known = self._seen.get(record.row["id"])
        if known is not None:
            return known
        operation = self._prototype(record).copy()
        self._remember(operation)
        return operation

    def _prototype(self, record: Record) -> Operation:
        """The committed record as an operation, built from its rows once (each read hands out a copy of it): a
        backtest's policy reads the same closed operations at every mark."""
        operation_id = record.row["id"]
        if self.table.records.get(operation_id) is not record:  # this unit's own write: not shared
            return record.operation()
        cached = self.table.loaded.get(operation_id)
        if cached is None or cached[0] is not record:
            cached = self.table.loaded[operation_id] = (record, record.operation())
        return cached[1]

    def _write(
        self, operation: Operation, current: Record | None, version: int, changed: builtins.list[dict[str, Any]]
    ) -> None:
        """Store the operation as this unit's write at `version`: its row, its orders (those never stored given an
        id), its fills added to those stored (a fill is never removed, as in SQL)."""
        assert operation.id is not None
        if operation.id not in self._based_on:  # its first write in this unit: `current` is the committed one
            self._based_on[operation.id] = current.version if current is not None else None
        orders = dict(current.orders) if current is not None else {}
        for row in changed:
            order = operation.order(row["client_order_id"])
            known = orders.get(order.client_order_id)
            if order.id is None:
                order.id = known["id"] if known is not None else next(self.table.order_ids)
            orders[order.client_order_id] = _utc_row(row | {"id": order.id})
        fills = dict(current.fills) if current is not None else {}
        for fill in operation.fills:
            if fill.trade_id not in fills:
                fills[fill.trade_id] = _utc_row(fill_row(fill) | {"operation_id": operation.id})
        row = _utc_row(operation_row(operation) | {"id": operation.id, "version": version})
        self._written[operation.id] = Record(row, orders, fills)
        operation.version = version
        self._remember(operation)


_EARLIEST = datetime.min.replace(tzinfo=UTC)


def _utc_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as the SQL ledger's column types would store it: timestamps in UTC (naive ones refused), decimals exact
    (floats refused)."""
    return {name: stored_value(value) for name, value in row.items()}


def stored_value(value: Any) -> Any:
    """A value as the SQL ledger's column types store it (UtcDateTime, ExactDecimal): an aware datetime in UTC, a
    finite Decimal; a naive datetime, a float or a non-finite decimal is refused as they refuse it."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"the ledger refuses naive datetimes: {value!r}")
        return value.astimezone(UTC)
    if isinstance(value, float):
        raise TypeError(f"the ledger takes a Decimal, not a float: {value!r}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"the ledger takes finite numbers only, got {value}")
    return value


_: type[OperationRepository] = MemoryOperationRepository  # mypy holds it to the port
