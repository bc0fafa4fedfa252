"""Engines, sessions and migrations.

engine = create_engine_for("sqlite:///var/robson.db")
migrate(engine)
sessions = session_factory(engine)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

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
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # last in, first out: the connection that wrote last is handed out again, and SQLite keeps a connection's
        # page cache only while no other connection writes: the next exit then finds its pages in memory
        engine = create_engine(parsed, pool_use_lifo=True)
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    if schema is not None:
        connect_args["options"] = f"-csearch_path={schema}"
    return create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)


def _configure_sqlite(connection: Any, _record: object) -> None:
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
