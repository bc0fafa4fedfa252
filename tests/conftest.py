"""Shared fixtures. Each section belongs to one part of the package; append yours, do not remove others'."""

# ---- persistence: one database per test, SQLite always, PostgreSQL when ROBSON_TEST_POSTGRES_URL is set ----

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from robson.persistence.database import Sessions, create_engine_for, migrate, session_factory

POSTGRES_URL = os.environ.get("ROBSON_TEST_POSTGRES_URL")


@dataclass(frozen=True)
class DatabaseTarget:
    """Where a test's database lives: a URL and, on PostgreSQL, the schema made for that one test."""

    url: str
    schema: str | None = None

    @property
    def dialect(self) -> str:
        return "postgresql" if self.url.startswith("postgresql") else "sqlite"


ON_POSTGRES = pytest.mark.skipif(not POSTGRES_URL, reason="set ROBSON_TEST_POSTGRES_URL to run on PostgreSQL")


@contextmanager
def database_at(kind: str, tmp_path: Path) -> Iterator[DatabaseTarget]:
    """An empty database of `kind` ("sqlite" or "postgres"): a SQLite file under tmp_path, or a fresh PostgreSQL
    schema dropped afterwards."""
    if kind == "sqlite":
        yield DatabaseTarget(f"sqlite:///{tmp_path / 'db' / 'robson.db'}")
        return
    assert POSTGRES_URL is not None
    schema = f"robson_test_{uuid.uuid4().hex}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield DatabaseTarget(POSTGRES_URL, schema)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


DATABASES = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=ON_POSTGRES)]


@pytest.fixture(params=DATABASES)
def database_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DatabaseTarget]:
    """An empty database: a SQLite file under tmp_path, or a fresh PostgreSQL schema dropped at teardown."""
    with database_at(request.param, tmp_path) as target:
        yield target


@pytest.fixture
def database_url(database_target: DatabaseTarget) -> str:
    return database_target.url


@pytest.fixture
def unmigrated_engine(database_target: DatabaseTarget) -> Iterator[Engine]:
    engine = create_engine_for(database_target.url, database_target.schema)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(unmigrated_engine: Engine) -> Engine:
    """An engine on a database migrated to head."""
    migrate(unmigrated_engine)
    return unmigrated_engine


@pytest.fixture
def sessions(engine: Engine) -> Sessions:
    return session_factory(engine)


# ---- end of persistence ----
