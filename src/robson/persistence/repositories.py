"""The ledger's repositories: operations (with their orders and fills) and the append-only audit log."""

from __future__ import annotations

import builtins
import json
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, insert, or_, select, update

from robson.domain.errors import ConcurrentChange
from robson.domain.fills import Fill
from robson.domain.operation import Operation, OperationStatus
from robson.persistence.identity import IdentityMap
from robson.persistence.mapping import Row, Stored, changed_orders, fill_row, operation_from_rows, operation_row
from robson.persistence.sql import Prepared, upsert
from robson.persistence.tables import audit_events, fills, operations, orders
from robson.ports import AuditEntry, AuditLog, AuditRecord, OperationRepository

# The writes of every save, the exit's included: compiled once (see Prepared).
_INSERT_ORDER = Prepared(insert(orders))
_INSERT_ORDER_RETURNING_ID = Prepared(insert(orders).returning(orders.c.id))  # where the driver has no last row id
_INSERT_FILLS = Prepared(insert(fills))
_INSERT_AUDIT = Prepared(insert(audit_events))
_UPDATE_OPERATION = Prepared(
    update(operations).where(operations.c.id == bindparam("_id"), operations.c.version == bindparam("_read"))
)
_as_json = json.JSONEncoder(sort_keys=True).encode  # json.dumps(value, sort_keys=True) without a new encoder each call


def _inserted_order_id(session: Connection, row: Row) -> int:
    """Insert a new order; its id. SQLite's driver gives the last row id (a RETURNING costs ~30 us more: its result
    is set up again on every run); PostgreSQL's says it with RETURNING."""
    if session.dialect.name == "sqlite":
        inserted = _INSERT_ORDER.execute(session, row).lastrowid
        assert isinstance(inserted, int), "a one-row INSERT on SQLite has a last row id"
        return inserted
    return int(_INSERT_ORDER_RETURNING_ID.execute(session, row).scalar_one())


READ_ATTEMPTS = 5  # reads of operations another process keeps writing before giving up (ConcurrentChange)


class SqlOperationRepository(IdentityMap):
    """Operations with their orders and fills. Remembers every operation it has added, loaded or saved, and what
    the database holds of each, so that a save writes only the rows that changed."""

    def __init__(self, session: Connection) -> None:
        super().__init__()
        self.session = session

    # ---- the port ----------------------------------------------------------------------------
    def add(self, operation: Operation) -> Operation:
        """Insert a new operation, assign its id (and its orders' operation id) and write its orders and fills."""
        if operation.id is not None:
            self.save(operation)
            return operation
        statement = insert(operations).values(operation_row(operation)).returning(operations.c.id)
        operation.id = self.session.execute(statement).scalar_one()
        operation.version = 0
        self._seen[operation.id] = operation
        self._stored[operation.id] = Stored(operation_row(operation), {}, set())
        self._write_children(operation, changed_orders(operation, self._stored[operation.id]), operation.fills)
        return operation

    def save(self, operation: Operation) -> None:
        """Write what changed since the last read or write: the operation row (its version checked and raised),
        its orders (upserted by client order id) and the fills not yet stored. Nothing changed: nothing written.
        Raises ConcurrentChange when the stored row is no longer the version this operation was read at."""
        if operation.id is None:
            self.add(operation)
            return
        stored = self._stored.get(operation.id)
        if stored is None:  # not read through this repository: write it whole
            stored = self._stored[operation.id] = Stored({}, {}, self._stored_fills(operation.id))
        row = operation_row(operation)
        changed = changed_orders(operation, stored)
        new = [fill for fill in operation.fills if fill.trade_id not in stored.fills]
        if stored.row == row and not changed and not new:
            return
        self._write_row(operation, row, stored.row)
        stored.row = row
        self._seen.setdefault(operation.id, operation)
        self._write_children(operation, changed, new)

    def get(self, operation_id: int) -> Operation | None:
        if operation_id in self._seen:
            return self._seen[operation_id]
        loaded = self._load(select(operations).where(operations.c.id == operation_id))
        return loaded[0] if loaded else None

    def list(self, statuses: Sequence[OperationStatus] = ()) -> builtins.list[Operation]:
        query = select(operations).order_by(operations.c.id)
        if statuses:
            query = query.where(operations.c.status.in_([status.value for status in statuses]))
        return self._load(query)

    def recent(self, since: datetime, last_closed: int) -> builtins.list[Operation]:
        """What the risk policy measures, without the whole history: every operation still PLANNED or ACTIVE,
        every one created or closed at `since` or later, and the `last_closed` most recently closed."""
        latest = (
            select(operations.c.id)
            .where(operations.c.status == OperationStatus.CLOSED.value)
            .order_by(operations.c.closed_at.desc(), operations.c.id.desc())
            .limit(last_closed)
        )
        query = (
            select(operations)
            .where(
                or_(
                    operations.c.status.in_([OperationStatus.PLANNED.value, OperationStatus.ACTIVE.value]),
                    operations.c.created_at >= since,
                    operations.c.closed_at >= since,
                    operations.c.id.in_(latest.scalar_subquery()),
                )
            )
            .order_by(operations.c.id)
        )
        return self._load(query)

    def versions(self, statuses: Sequence[OperationStatus]) -> dict[int, int]:
        query = select(operations.c.id, operations.c.version).where(
            operations.c.status.in_([status.value for status in statuses])
        )
        return {row.id: row.version for row in self.session.execute(query)}

    def owners(self, client_order_ids: Collection[str]) -> dict[str, int]:
        wanted = sorted(set(client_order_ids))
        found: dict[str, int] = {}
        for start in range(0, len(wanted), 500):
            query = select(orders.c.client_order_id, orders.c.operation_id).where(
                orders.c.client_order_id.in_(wanted[start : start + 500])
            )
            found |= {row.client_order_id: row.operation_id for row in self.session.execute(query)}
        return found

    # ---- internals -----------------------------------------------------------------------------
    def _stored_fills(self, operation_id: int) -> set[str]:
        query = select(fills.c.trade_id).where(fills.c.operation_id == operation_id)
        return set(self.session.scalars(query).all())

    def _write_row(self, operation: Operation, row: dict[str, Any], before: dict[str, Any]) -> None:
        """Update the columns that changed (all when the stored row is unknown) and raise the version, provided it
        is still the version this operation was read at."""
        assert operation.id is not None
        version = operation.version
        changed = {name: value for name, value in row.items() if name not in before or before[name] != value}
        written = _UPDATE_OPERATION.execute(
            self.session, changed | {"_id": operation.id, "_read": version, "version": version + 1}
        )
        if written.rowcount == 0:
            if self.session.scalar(select(operations.c.id).where(operations.c.id == operation.id)) is not None:
                raise ConcurrentChange(
                    f"operation {operation.id} was changed by another process since it was read; nothing was written"
                )
            self.session.execute(insert(operations).values(row | {"id": operation.id, "version": version + 1}))
        operation.version = version + 1

    def _write_children(
        self, operation: Operation, changed: builtins.list[dict[str, Any]], new: builtins.list[Fill]
    ) -> None:
        """Insert the orders never stored (each returns its id), upsert the stored ones that changed (by client order
        id, in one statement), and insert the new fills."""
        assert operation.id is not None
        stored = self._stored[operation.id]
        by_client_id = {order.client_order_id: order for order in operation.orders}
        known = []
        for row in changed:
            order = by_client_id[row["client_order_id"]]
            if order.id is None:  # never stored: usually one at a time (an exit, an entry)
                order.id = _inserted_order_id(self.session, row)
            else:
                known.append(row)
            stored.orders[row["client_order_id"]] = row
        if known:
            upsert(self.session, orders, known, keys=["client_order_id"])
        if new:
            _INSERT_FILLS.execute_many(self.session, [fill_row(fill) | {"operation_id": operation.id} for fill in new])
            stored.fills.update(fill.trade_id for fill in new)

    def _load(self, query: Select[Any]) -> builtins.list[Operation]:
        """Load the selected operations with four queries in all: operations, their orders, their fills, and their
        versions again. Each query may see a later commit than the one before (SQLite outside a transaction,
        PostgreSQL's read committed); every write of an operation raises its version, so versions unchanged from
        the first query to the last mean its orders and fills belong to the row read. Otherwise it is read again."""
        for _ in range(READ_ATTEMPTS):
            loaded = self._load_once(query)
            if loaded is not None:
                return loaded
        raise ConcurrentChange("the operations kept changing while they were read; nothing was written")

    def _load_once(self, query: Select[Any]) -> builtins.list[Operation] | None:
        rows = self.session.execute(query).mappings().all()
        if not rows:
            return []
        wanted = query.with_only_columns(operations.c.id).order_by(None).scalar_subquery()
        order_rows: dict[int, builtins.list[Row]] = defaultdict(builtins.list)
        for row in self.session.execute(
            select(orders).where(orders.c.operation_id.in_(wanted)).order_by(orders.c.id)
        ).mappings():
            order_rows[row["operation_id"]].append(row)
        fill_rows: dict[int, builtins.list[Row]] = defaultdict(builtins.list)
        for row in self.session.execute(
            select(fills).where(fills.c.operation_id.in_(wanted)).order_by(fills.c.id)
        ).mappings():
            fill_rows[row["operation_id"]].append(row)
        now = self.session.execute(select(operations.c.id, operations.c.version).where(operations.c.id.in_(wanted)))
        versions = {row.id: row.version for row in now}
        if any(versions.get(row["id"]) != row["version"] for row in rows):
            return None  # another process wrote one of them meanwhile
        result = []
        for row in rows:
            known = self._seen.get(row["id"])
            if known is None:
                known = operation_from_rows(row, order_rows[row["id"]], fill_rows[row["id"]])
                self._remember(known)
            result.append(known)
        return result


class SqlAuditLog:
    """The audit trail. Append-only: there is no update and no delete, and the database refuses both."""

    def __init__(self, session: Connection) -> None:
        self.session = session

    def append(self, entry: AuditEntry, actor: str) -> None:
        self.append_all([entry], actor)

    def append_all(self, entries: Sequence[AuditEntry], actor: str) -> None:
        """Several entries in one statement (a unit of work's commit writes them together)."""
        if not entries:
            return
        rows = [
            {
                "at": entry.at,
                "actor": actor,
                "action": entry.name,
                "entity": entry.entity,
                "entity_id": entry.entity_id,
                "before": _as_json(entry.before),
                "after": _as_json(entry.after),
            }
            for entry in entries
        ]
        _INSERT_AUDIT.execute_many(self.session, rows)

    def list(self, entity: str | None = None, entity_id: str | None = None) -> builtins.list[AuditRecord]:
        query = select(audit_events).order_by(audit_events.c.id)
        if entity is not None:
            query = query.where(audit_events.c.entity == entity)
        if entity_id is not None:
            query = query.where(audit_events.c.entity_id == entity_id)
        return [
            AuditRecord(
                id=row.id,
                at=row.at,
                actor=row.actor,
                action=row.action,
                entity=row.entity,
                entity_id=row.entity_id,
                before=json.loads(row.before),
                after=json.loads(row.after),
            )
            for row in self.session.execute(query)
        ]


_: tuple[type[OperationRepository], type[AuditLog]] = (SqlOperationRepository, SqlAuditLog)  # held to the ports
