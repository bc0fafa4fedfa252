"""Tables that never cut a number or a status: every column is as wide as its widest cell and never wraps;
when the terminal is too narrow for all of them, the least important columns are left out (and named)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

Cell = str | Text


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    keep: int = 0  # lower is kept longer when the terminal is narrow
    justify: Literal["left", "right"] = "left"


def _width(cell: Cell) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)


def fitted(console: Console, title: str, columns: list[Column], rows: list[list[Cell]]) -> None:
    """Print the table with the columns that fit the console's width, whole; say which were left out."""
    widths = [max([_width(c.header), *(_width(row[i]) for row in rows)]) for i, c in enumerate(columns)]
    chosen: list[int] = []
    used = 1  # the table's left border
    for index in sorted(range(len(columns)), key=lambda i: (columns[i].keep, i)):
        need = widths[index] + 3  # one space each side and a border
        if used + need <= console.width or not chosen:
            chosen.append(index)
            used += need
    chosen.sort()
    table = Table(title=title, title_justify="left")
    for index in chosen:
        column = columns[index]
        table.add_column(column.header, justify=column.justify, no_wrap=True, min_width=widths[index])
    for row in rows:
        table.add_row(*(row[index] for index in chosen))
    console.print(table)
    left_out = [columns[i].header for i in range(len(columns)) if i not in chosen]
    if left_out:
        console.print(f"(not shown at this width: {', '.join(left_out)}; --json has every field)", style="dim")
