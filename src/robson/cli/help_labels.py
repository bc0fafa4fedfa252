"""Help without misleading type labels. Typer's help prints the Python type beside each parameter: `<str>` beside
every argument (Robson reads numbers itself, to quote what the user typed in its errors, so an ID or a price would
read `<str>`) and `<bool>` beside every flag. An argument's name (SYMBOL, ID, PRICE) says what it takes; an
option says it with its metavar; a flag takes nothing."""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperOption


def _argument_label(self: TyperArgument, ctx: Any) -> str | None:
    return None  # the name column shows the metavar already


def _option_label(self: TyperOption, ctx: Any, _typer: Any = TyperOption.display_type_rich) -> str | None:
    if self.is_flag:
        return None
    return str(self.metavar) if self.metavar is not None else _typer(self, ctx)


def install() -> None:
    """Once, before any help is printed."""
    TyperArgument.display_type_rich = _argument_label  # type: ignore[method-assign]
    TyperOption.display_type_rich = _option_label  # type: ignore[method-assign]
