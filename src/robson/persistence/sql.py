"""Small statement helpers shared by the repositories and the paper store."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql.base import Executable

Row = Mapping[str, Any]


def upsert(session: Connection, table: Table, rows: Sequence[Row], keys: Sequence[str]) -> None:
    """Insert rows, or update every other given column where a row with the same keys exists."""
    if not rows:
        return
    dialect = session.dialect.name
    statement = _upsert_statement(dialect, table, tuple(rows[0]), tuple(keys))
    session.execute(statement, list(rows))


def insert_missing(session: Connection, table: Table, row: Row) -> None:
    """Insert a row unless one with the same primary key exists (then leave that one as it is)."""
    if session.dialect.name == "postgresql":
        session.execute(postgresql.insert(table).on_conflict_do_nothing(), [row])
    else:
        session.execute(sqlite.insert(table).on_conflict_do_nothing(), [row])


@functools.lru_cache(maxsize=256)
def _upsert_statement(dialect: str, table: Table, columns: tuple[str, ...], keys: tuple[str, ...]) -> Executable:
    """Built once per shape: building the ON CONFLICT clause costs far more than running it."""
    if dialect == "postgresql":
        pg_insert = postgresql.insert(table)
        changed = {name: pg_insert.excluded[name] for name in columns if name not in keys}
        return pg_insert.on_conflict_do_update(index_elements=list(keys), set_=changed)
    if dialect == "sqlite":
        lite_insert = sqlite.insert(table)
        changed = {name: lite_insert.excluded[name] for name in columns if name not in keys}
        return lite_insert.on_conflict_do_update(index_elements=list(keys), set_=changed)
    raise NotImplementedError(f"upsert is not written for the {dialect} dialect")


class Prepared:
    """A statement compiled once per dialect (and set of columns) and run on the driver's own cursor, its values
    passed through the same bind processors SQLAlchemy would apply. For the few writes on the exit path: there,
    SQLAlchemy's per-execution machinery (~40 us a statement) costs more than SQLite takes to run one.

    The connection's transaction is begun as SQLAlchemy would (so that its commit commits these writes too), and
    a driver error is raised as SQLAlchemy's wrapped one. When something listens to the engine's statements
    (instrumentation, tests counting writes), the statement goes through SQLAlchemy instead, so none is hidden."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement

    def execute(self, connection: Connection, values: Row) -> Any:
        """Run with one row of values; returns a cursor (rowcount, and fetchone for RETURNING)."""
        if _observed(connection):
            return connection.execute(self.statement, values)
        form = self._form(connection.dialect, tuple(values))
        return self._run(connection, form, [form.bind(values)], many=False)

    def execute_many(self, connection: Connection, rows: Sequence[Row]) -> None:
        if _observed(connection):
            connection.execute(self.statement, list(rows))
            return
        form = self._form(connection.dialect, tuple(rows[0]))
        self._run(connection, form, [form.bind(row) for row in rows], many=len(rows) > 1)

    def _form(self, dialect: Dialect, keys: tuple[str, ...]) -> _Form:
        return _compiled(self.statement, dialect, keys)

    @staticmethod
    def _run(connection: Connection, form: _Form, parameters: list[Any], many: bool) -> Any:
        if not connection.in_transaction():
            connection.begin()
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            if many:
                cursor.executemany(form.sql, parameters)
            else:
                cursor.execute(form.sql, parameters[0])
        except connection.dialect.loaded_dbapi.Error as error:
            raise DBAPIError.instance(
                form.sql, parameters, error, connection.dialect.loaded_dbapi.Error, dialect=connection.dialect
            ) from error
        return cursor


def _observed(connection: Connection) -> bool:
    """Whether anything listens to this connection's or its engine's events (SQLAlchemy's own test, before every
    statement it runs)."""
    return bool(connection._has_events or connection.engine._has_events)


@dataclass(frozen=True, slots=True)
class _Form:
    sql: str
    names: tuple[str, ...]  # the bind names in the order the driver takes them (positional drivers)
    positional: bool
    processors: dict[str, Callable[[Any], Any]]

    def bind(self, values: Row) -> Any:
        """The driver's parameters for one row; a value its column type refuses raises StatementError, as SQLAlchemy
        would."""
        processors = self.processors
        try:
            processed = {
                name: (processors[name](value) if name in processors else value) for name, value in values.items()
            }
        except Exception as error:
            raise StatementError(f"({type(error).__name__}) {error}", self.sql, dict(values), error) from error
        return [processed[name] for name in self.names] if self.positional else processed


@functools.lru_cache(maxsize=256)
def _compiled(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Form:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
    processors = {}
    for parameter in compiled.binds.values():
        processor = parameter.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors[compiled.bind_names[parameter]] = processor
    names = tuple(compiled.positiontup or ())
    return _Form(str(compiled), names, bool(compiled.positional), processors)
