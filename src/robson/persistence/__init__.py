"""Persistence: SQLAlchemy tables, repositories, the unit of work, the paper store and Alembic migrations.

SQLAlchemy and Alembic live only here; the domain never sees them. Mapping between rows and domain
objects is explicit code in the repositories.
"""

from robson.persistence.database import create_engine_for, migrate, session_factory
from robson.persistence.paper_store import SqlPaperStore
from robson.persistence.policy import SqlMarkRepository, SqlPolicyRepository
from robson.persistence.repositories import SqlAuditLog, SqlOperationRepository
from robson.persistence.unit_of_work import SqlUnitOfWork

__all__ = [
    "SqlAuditLog",
    "SqlMarkRepository",
    "SqlOperationRepository",
    "SqlPaperStore",
    "SqlPolicyRepository",
    "SqlUnitOfWork",
    "create_engine_for",
    "migrate",
    "session_factory",
]
