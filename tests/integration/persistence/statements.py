"""Record the SQL an engine sends, to assert how many statements (and which) a piece of code costs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event


@contextmanager
def recorded(engine: Engine, starting: str = "") -> Iterator[list[str]]:
    """The statements sent while the block runs, those that start with `starting` (case-insensitive) only."""
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith(starting.upper()):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
