"""Small statement helpers shared by the repositories and the paper store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

Row = Mapping[str, Any]


def upsert(session: Session, table: Table, rows: Sequence[Row], keys: Sequence[str]) -> None:
    """Insert rows, or update every other given column where a row with the same keys exists."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        pg_insert = postgresql.insert(table)
        changed = {name: pg_insert.excluded[name] for name in rows[0] if name not in keys}
        session.execute(pg_insert.on_conflict_do_update(index_elements=list(keys), set_=changed), list(rows))
    elif dialect == "sqlite":
        lite_insert = sqlite.insert(table)
        changed = {name: lite_insert.excluded[name] for name in rows[0] if name not in keys}
        session.execute(lite_insert.on_conflict_do_update(index_elements=list(keys), set_=changed), list(rows))
    else:
        raise NotImplementedError(f"upsert is not written for the {dialect} dialect")
