"""Small statement helpers shared by the repositories and the paper store."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, CursorResult, Dialect, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import StatementError
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert, Update

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
    """A write compiled once per dialect (and set of columns), run by the connection as SQL it need not compile again
    (`Connection.exec_driver_sql`), its values passed through the bind processors of the columns' own types. For the
    writes of every save (the exit's intent among them): there, compiling-cache lookups and SQLAlchemy's per-statement
    set-up (~28 us a statement) cost more than SQLite takes to run one.

    Everything else is SQLAlchemy's own: the connection's transaction (begun as for any statement), its events
    (listeners see every statement, with its SQL and parameters) and its wrapped driver errors. A value the column's
    type refuses raises StatementError before anything is sent, as SQLAlchemy would."""

    def __init__(self, statement: Insert | Update) -> None:
        self.statement = statement

    def execute(self, connection: Connection, values: Row) -> CursorResult[Any]:
        """Run with one row of values (rowcount; the returned row of a RETURNING statement)."""
        form = _compiled(self.statement, connection.dialect, tuple(values))
        return connection.exec_driver_sql(form.sql, form.bind(values))

    def execute_many(self, connection: Connection, rows: Sequence[Row]) -> None:
        if not rows:
            return
        form = _compiled(self.statement, connection.dialect, tuple(rows[0]))
        connection.exec_driver_sql(form.sql, [form.bind(row) for row in rows])


@dataclass(frozen=True, slots=True)
class _Form:
    sql: str
    names: tuple[str, ...]  # the bind names in the order the driver takes them (positional drivers)
    positional: bool
    processors: Mapping[str, Callable[[Any], Any]]

    def bind(self, values: Row) -> tuple[Any, ...] | dict[str, Any]:
        """The driver's parameters for one row; a value its column type refuses raises StatementError, as SQLAlchemy
        would."""
        processors = self.processors
        try:
            processed = {
                name: (processors[name](value) if name in processors else value) for name, value in values.items()
            }
        except Exception as error:
            raise StatementError(f"({type(error).__name__}) {error}", self.sql, dict(values), error) from error
        return tuple(processed[name] for name in self.names) if self.positional else processed


@functools.lru_cache(maxsize=256)
def _compiled(statement: Insert | Update, dialect: Dialect, keys: tuple[str, ...]) -> _Form:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    assert isinstance(compiled, SQLCompiler)
    processors = {}
    for parameter in compiled.binds.values():
        processor = parameter.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors[compiled.bind_names[parameter]] = processor
    names = tuple(compiled.positiontup or ())
    return _Form(compiled.string, names, compiled.positional, processors)
