"""Migrations: upgrade to head is idempotent and yields exactly the tables the code declares."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from robson.persistence.database import alembic_config, create_engine_for, migrate
from robson.persistence.tables import metadata

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_the_head_revision_is_the_order_deadline_one() -> None:
    assert HEAD == "0007"


def test_migrating_twice_is_harmless(unmigrated_engine: Engine) -> None:
    migrate(unmigrated_engine)
    with unmigrated_engine.begin() as connection:
        connection.execute(text("INSERT INTO paper_meta (key, value) VALUES ('sequence', '4')"))
    migrate(unmigrated_engine)
    with unmigrated_engine.connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == HEAD
        assert connection.scalar(text("SELECT value FROM paper_meta")) == "4"
    assert set(metadata.tables) <= set(inspect(unmigrated_engine).get_table_names())


def test_the_migrated_schema_matches_the_tables_in_code(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_0002_upgrades_a_0001_database_and_downgrades_back(unmigrated_engine: Engine) -> None:
    migrate(unmigrated_engine, "0001")
    with unmigrated_engine.begin() as connection:
        connection.execute(text("INSERT INTO paper_meta (key, value) VALUES ('sequence', '4')"))
    migrate(unmigrated_engine)
    tables = set(inspect(unmigrated_engine).get_table_names())
    assert {"policy_state", "price_marks"} <= tables
    columns = {column["name"] for column in inspect(unmigrated_engine).get_columns("operations")}
    assert {"add_entry_price", "add_quantity", "add_stop_price", "add_risk_amount", "add_planned_at"} <= columns

    config = alembic_config()
    with unmigrated_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    inspector = inspect(unmigrated_engine)
    assert not {"policy_state", "price_marks"} & set(inspector.get_table_names())
    assert not any(column["name"].startswith("add_") for column in inspector.get_columns("operations"))
    with unmigrated_engine.connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "0001"
        assert connection.scalar(text("SELECT value FROM paper_meta")) == "4"
    migrate(unmigrated_engine)
    with unmigrated_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_sqlite_engines_create_their_directory_and_enforce_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path}/new/dir/robson.db")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()
