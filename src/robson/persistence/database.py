"""Engines, sessions and migrations.

engine = open_ledger("sqlite:///var/robson.db")   # create_engine_for + migrate, with one-line errors
sessions = session_factory(engine)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import StaticPool

from robson.ports import LedgerUnavailable, NoLedger

MIGRATIONS = Path(__file__).parent / "migrations"
AUTO_CHECKPOINT_PAGES = 10_000  # about 40 MB of WAL


def checkpoint(engine: Engine) -> None:
    """SQLite: copy the write-ahead log into the database file now, without waiting for readers (PASSIVE), then
    write once (the header's user version, unchanged) so that the log restarts here: the first write after a
    checkpoint syncs the log's header, which must not fall on an exit's commit. PostgreSQL: nothing to do."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        version = connection.exec_driver_sql("PRAGMA user_version").scalar()
        connection.exec_driver_sql(f"PRAGMA user_version={int(version or 0)}")
        connection.commit()


def create_engine_for(url: str, schema: str | None = None) -> Engine:
    """An engine for a SQLite or PostgreSQL URL.

    SQLite: creates the file's directory, and turns on foreign keys and WAL for every connection.
    PostgreSQL: with a schema, every connection searches (and creates tables in) that schema.
    """
    parsed = make_url(url)
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if _in_memory(parsed):  # one connection shared, or each would see its own empty database
            engine = create_engine(parsed, poolclass=StaticPool, connect_args={"check_same_thread": False})
            event.listen(engine, "connect", _configure_sqlite)
            return engine
        if database and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # last in, first out: the connection that wrote last is handed out again, and SQLite keeps a connection's
        # page cache only while no other connection writes: the next exit then finds its pages in memory
        engine = create_engine(parsed, pool_use_lifo=True)
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    if schema is not None:
        connect_args["options"] = f"-csearch_path={schema}"
    return create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)


def open_ledger(url: str, schema: str | None = None, *, create: bool = True) -> Engine:
    """The ledger's engine, migrated to head. Without `create`, a ledger must already be there: a path or a URL
    where none is (a typo, a missing folder) is refused with where it looked, instead of starting an empty
    ledger in silence. A database that cannot be opened is one line (LedgerUnavailable), never SQL or a link."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise NoLedger(
            f"the ledger {url!r} is not a database URL (sqlite:///FILE or postgresql+psycopg://...)"
        ) from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and not _in_memory(parsed) and parsed.database:
        path = Path(parsed.database).expanduser()
        shown = str(path.absolute())
        if path.exists() and not path.is_file():
            raise LedgerUnavailable(f"cannot use {shown} as the ledger: it is not a regular file")
        if not path.exists():
            if not create:
                raise NoLedger(f"no ledger at {shown}: {CREATE_HINT}")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise LedgerUnavailable(f"cannot create the ledger at {shown}: {error.strerror}") from None
    try:
        engine = create_engine_for(url, schema)
    except ArgumentError as error:
        raise NoLedger(f"the ledger {shown!r} is not a database URL we can open: {error}") from None
    try:
        if not create and not inspect(engine).has_table("alembic_version"):
            raise NoLedger(f"no ledger in {shown}: {CREATE_HINT}")
        migrate(engine)
    except DBAPIError as error:
        engine.dispose()
        reason = str(error.orig or error).strip().splitlines()[0]
        raise LedgerUnavailable(f"cannot open the ledger at {shown}: {reason}") from None
    except NoLedger:
        engine.dispose()
        raise
    return engine


CREATE_HINT = "start one with `robson paper reset` (paper) or add --create (robson --create COMMAND)"


def _in_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _configure_sqlite(connection: DBAPIConnection, _record: object) -> None:
    cursor = connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives any crash of the process (SIGKILL included) and the file is never
        # corrupted; only a power loss or OS crash may lose the last commits. PostgreSQL is the production ledger.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        # a checkpoint (the WAL copied into the database, with an fsync) costs milliseconds: the monitor runs one
        # between passes (`checkpoint`); the automatic one, on the commit that crosses this many pages, is the
        # backstop for when no monitor runs
        cursor.execute(f"PRAGMA wal_autocheckpoint={AUTO_CHECKPOINT_PAGES}")
    finally:
        cursor.close()


def alembic_config() -> Config:
    """Alembic's configuration, built in code: no alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database to `revision` (head by default). Idempotent: at head it does nothing."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


Sessions = Callable[[], Connection]


def session_factory(engine: Engine) -> Sessions:
    """What a unit of work opens: a Core connection ("commit as you go"). The repositories map rows themselves,
    so the ORM Session's bookkeeping would only double the cost of every statement."""
    return engine.connect
