"""The unit of work: one session, its repositories, and auditing that services cannot forget."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from robson.domain.events import Event
from robson.persistence.audit_entries import audit_entries
from robson.persistence.executions import SqlExecutionLog
from robson.persistence.policy import SqlMarkRepository, SqlPolicyRepository
from robson.persistence.repositories import SqlAuditLog, SqlOperationRepository
from robson.persistence.trail import drain, pending_events
from robson.ports import (
    AuditLog,
    EventBus,
    ExecutionLog,
    MarkRepository,
    OperationRepository,
    PolicyRepository,
    UnitOfWork,
)


class SqlUnitOfWork:
    """`with SqlUnitOfWork(sessions) as uow: ...; uow.commit()`. Whatever is not committed is rolled back.

    On commit, every operation the repository has seen is saved, and the audit entries of the events this unit
    recorded and of every such operation's pending events are written (actor = `self.actor`) in the same
    transaction; the events are cleared once that commit succeeds, and then handed to `bus` (when given), which
    dispatches them to its subscribers. The policy state and the marks are written when saved or added, in that same
    transaction.
    """

    operations: OperationRepository
    audit: AuditLog
    policy: PolicyRepository
    marks: MarkRepository
    executions: ExecutionLog

    def __init__(
        self, session_factory: Callable[[], Connection], actor: str = "robson", bus: EventBus | None = None
    ) -> None:
        self.session_factory = session_factory
        self.actor = actor
        self.bus = bus
        self._session: Connection | None = None
        self._recorded: list[Event] = []

    @property
    def session(self) -> Connection:
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use it in a with block")
        return self._session

    def __enter__(self) -> SqlUnitOfWork:
        self._session = self.session_factory()
        self._repository = SqlOperationRepository(self._session)
        self.operations = self._repository
        self._audit = SqlAuditLog(self._session)
        self.audit = self._audit
        self.policy = SqlPolicyRepository(self._session)
        self.marks = SqlMarkRepository(self._session)
        self.executions = SqlExecutionLog(self._session)
        self._recorded = []
        return self

    def __exit__(self, *args: object) -> None:
        session = self.session
        try:
            session.rollback()
        finally:
            session.close()
            self._session = None
            self._recorded = []

    def record(self, *events: Event) -> None:
        _ = self.session  # refused outside a with block
        self._recorded += events

    def commit(self) -> None:
        session = self.session
        seen = self._repository.seen()
        for operation in seen:
            self._repository.save(operation)
        trail, counted = pending_events(self._recorded, seen)
        self._audit.append_all(audit_entries(trail), self.actor)
        session.commit()
        self._recorded = []
        drain(counted)
        if self.bus is not None and trail:
            self.bus.publish(trail)

    def rollback(self) -> None:
        self.session.rollback()
        self._repository.forget()
        self._recorded = []


_: type[UnitOfWork] = SqlUnitOfWork  # mypy holds it to the port
