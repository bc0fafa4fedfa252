"""--exchange: the venue for one command, the same option on every command that talks to it."""

from __future__ import annotations

from typing import Annotated, Protocol, cast

import typer

from robson.bootstrap import App
from robson.config import VENUES, Settings, Venue
from robson.domain.errors import InvalidValue

ExchangeOption = Annotated[
    str | None,
    typer.Option(
        "--exchange",
        metavar="paper|binance|alpaca",
        help="The venue for this command (default: the exchange setting, ROBSON_EXCHANGE).",
        show_default=False,
    ),
]


class Builder(Protocol):
    """Builds the app, on the venue the command was given (None: the setting). `offline`: no live venue is built
    (no keys asked for, nothing sent): for what must work while the venue is unreachable. `create`: an init-like
    command, which may start a new ledger."""

    def __call__(self, exchange: str | None = None, *, offline: bool = False, create: bool = False) -> App: ...


def settings_for(exchange: str | None) -> Settings | None:
    """The settings with the venue overridden for this command, or None to read them as they are."""
    if exchange is None:
        return None
    name = exchange.strip().lower()
    if name not in VENUES:
        raise InvalidValue(f"--exchange must be one of {', '.join(VENUES)}, got {exchange!r}")
    return Settings(exchange=cast(Venue, name))
