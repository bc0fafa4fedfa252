"""The lease: one `robson run` acts for an account at a time.

On PostgreSQL a session advisory lock (`pg_try_advisory_lock`), keyed by the database and schema, held on a
connection of its own for the life of the process; the server drops it when that connection ends, a SIGKILL
included. Beside a SQLite file a file lock (`flock` on `<db>.lock`), which the kernel drops when the process
ends. Neither waits: acquire() tries once; a standby process tries again on its own schedule.
"""

from __future__ import annotations

import fcntl
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text

from robson.ports import Lease

LEASE_NAME = "robson-run"


def _holder_text() -> str:
    return f"robson run pid {os.getpid()} on {socket.gethostname()}"


class FileLease:
    """`flock` on a file beside the SQLite database; the file says who holds it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def acquire(self) -> bool:
        if self._file is not None:
            return True
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{_holder_text()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n")
        handle.flush()
        self._file = handle
        return True

    def holder(self) -> str | None:
        try:
            said = self.path.read_text().strip()
        except FileNotFoundError:
            return None
        return said or None

    def release(self) -> None:
        if self._file is None:
            return
        self._file.truncate(0)
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()
        self._file = None


# the lock's key: the lease's name in this database and schema (two test schemas never share one)
_KEY = "hashtextextended(current_database() || '.' || current_schema() || '.' || :name, 0)"


class PostgresLease:
    """`pg_try_advisory_lock` on a connection kept open while held; the holder is read from pg_stat_activity,
    where the holding connection names itself (application_name)."""

    def __init__(self, engine: Engine, name: str = LEASE_NAME) -> None:
        self.engine = engine
        self.name = name
        self._connection: Connection | None = None

    def acquire(self) -> bool:
        if self._connection is not None:
            return True
        connection = self.engine.connect()
        try:
            named = text("SELECT set_config('application_name', :holder, false)")
            connection.execute(named, {"holder": _holder_text()})
            held = connection.scalar(text(f"SELECT pg_try_advisory_lock({_KEY})"), {"name": self.name})
            connection.commit()
        except BaseException:
            connection.close()
            raise
        if not held:
            connection.close()
            return False
        self._connection = connection
        return True

    def holder(self) -> str | None:
        query = text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            f"AND l.objsubid = 1 AND ((l.classid::bigint << 32) | l.objid::bigint) = {_KEY}"
        )
        with self.engine.connect() as connection:
            found = connection.scalar(query, {"name": self.name})
        return str(found) if found else None

    def release(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.execute(text(f"SELECT pg_advisory_unlock({_KEY})"), {"name": self.name})
            self._connection.commit()
        finally:
            self._connection.close()  # the server drops the lock with the session in any case
            self._connection = None


class NoLease:
    """A database no other process can open (SQLite in memory): nothing to share, always held."""

    def acquire(self) -> bool:
        return True

    def holder(self) -> str | None:
        return None

    def release(self) -> None:
        return None


def lease_for(engine: Engine) -> FileLease | PostgresLease | NoLease:
    """The lease of the account whose ledger this engine opens."""
    if engine.dialect.name == "postgresql":
        return PostgresLease(engine)
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return NoLease()
    return FileLease(Path(f"{Path(database).expanduser()}.lock"))


_: tuple[type[Lease], ...] = (FileLease, PostgresLease, NoLease)  # mypy holds them to the port
