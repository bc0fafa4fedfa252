"""The ledger's housekeeping: SQLite's write-ahead log is moved into the database file between the monitor's
passes (and restarted there), so that no exit's commit pays for it. PostgreSQL has nothing to do."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select

from robson.persistence.database import checkpoint, session_factory
from robson.persistence.tables import operations
from robson.persistence.unit_of_work import SqlUnitOfWork
from tests.integration.persistence.test_sql_unit_of_work import planned


def test_a_checkpoint_keeps_every_commit_and_empties_the_log(engine: Engine) -> None:
    sessions = session_factory(engine)
    for n in range(20):
        with SqlUnitOfWork(sessions) as uow:
            uow.operations.add(planned(f"rb{n}-e1"))
            uow.commit()
    checkpoint(engine)
    checkpoint(engine)  # harmless when there is nothing to move
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(operations)) == 20
        if engine.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA user_version").scalar() == 0  # written back unchanged
            busy, frames, moved = connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
            assert busy == 0 and frames == moved  # nothing was left behind in the log
    if engine.dialect.name == "sqlite":
        database = Path(str(engine.url.database))
        assert database.with_name(database.name + "-wal").exists()  # still in WAL mode: the log is reused
