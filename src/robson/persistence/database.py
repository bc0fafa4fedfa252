"""Engines, sessions and migrations.

engine = create_engine_for("sqlite:///var/robson.db")
migrate(engine)
sessions = session_factory(engine)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


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
        engine = create_engine(parsed)
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


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
