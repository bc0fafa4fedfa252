"""Small statement helpers shared by the repositories and the paper store."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.base import Executable

Row = Mapping[str, Any]


def upsert(session: Connection, table: Table, rows: Sequence[Row], keys: Sequence[str]) -> None:
    """Insert rows, or update every other given column where a row with the same keys exists."""
    if not rows:
        return
    dialect = session.dialect.name
    statement = _upsert_statement(dialect, table, tuple(rows[0]), tuple(keys))
    session.execute(statement, list(rows))


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
