"""Help without misleading type labels. Typer's help prints the Python type beside each parameter: `<str>` beside
every argument (Robson reads numbers itself, to quote what the user typed in its errors, so an ID or a price would
read `<str>`) and `<bool>` beside every flag. An argument's name (SYMBOL, ID, PRICE) says what it takes; an
option says it with its metavar; a flag takes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from typer.core import TyperArgument, TyperOption

if TYPE_CHECKING:
    from typer._click import Context  # the Click that Typer vendors: the type its help methods are called with

    TyperLabel = Callable[[TyperOption, Context], str | None]


def _argument_label(self: object, ctx: object) -> str | None:
    return None  # the name column shows the metavar already


def _option_label(self: TyperOption, ctx: Context, _typer: TyperLabel = TyperOption.display_type_rich) -> str | None:
    if self.is_flag:
        return None
    return str(self.metavar) if self.metavar is not None else _typer(self, ctx)


def install() -> None:
    """Once, before any help is printed. Typer builds its parameters itself, so its classes are patched (mypy's
    method-assign refuses every patch of a method; these two are meant)."""
    TyperArgument.display_type_rich = _argument_label  # type: ignore[method-assign]
    TyperOption.display_type_rich = _option_label  # type: ignore[method-assign]
