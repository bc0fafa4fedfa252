"""Numbers as a trader reads them: money to the quote's cents, prices to the instrument's tick, quantities to
its lot step. Only the human output rounds; --json keeps every digit."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from robson.domain.instrument import Instrument

CENT = Decimal("0.01")
MONEY = frozenset(
    {
        "risk_amount", "realized_pnl", "fees", "fee", "capital", "available", "unrealized_pnl", "pnl",
        "realized_pnl_today", "position_value", "risk_budget", "loss_per_unit", "slippage_past_stop", "heat",
        "exposure", "equity", "peak_equity", "realized_day", "realized_week", "realized_month", "unrealized",
    }
)  # fmt: skip
PRICES = frozenset(
    {"entry_price", "stop_price", "target_price", "average_entry_price", "price", "exit_price", "last_price"}
)
QUANTITIES = frozenset({"quantity", "position_quantity", "filled_quantity"})

_instruments: dict[str, Instrument] = {}


def use_instruments(instruments: dict[str, Instrument]) -> None:
    """The ticks and steps the human output rounds to (the venue's instruments, or the configured ones)."""
    _instruments.update(instruments)


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _on_grid(value: Decimal, grid: Decimal) -> str:
    steps = (value / grid).to_integral_value(ROUND_HALF_EVEN)
    exponent = grid.normalize().as_tuple().exponent
    places = min(exponent, 0) if isinstance(exponent, int) else 0
    return f"{(steps * grid).quantize(Decimal(1).scaleb(places)):f}"


def cents(value: object) -> str:
    """Money to the cent: 99.987173874 -> 99.99; None -> '-'."""
    number = _decimal(value)
    if number is None:
        return "-" if value is None else str(value)
    return f"{number.quantize(CENT, ROUND_HALF_EVEN)}"


def _to_grid(value: object, symbol: str | None, grid: str) -> str:
    number = _decimal(value)
    instrument = _instruments.get(symbol or "")
    if number is None or instrument is None:
        return "-" if value is None else str(value)
    return _on_grid(number, getattr(instrument, grid))


def price(value: object, symbol: str | None) -> str:
    """To the instrument's tick (unknown instrument: as given)."""
    return _to_grid(value, symbol, "tick_size")


def quantity(value: object, symbol: str | None) -> str:
    """To the instrument's lot step (unknown instrument: as given)."""
    return _to_grid(value, symbol, "step_size")


def human(key: str, value: object, symbol: str | None = None) -> str:
    """One field of a view, for a person: rounded by what the key means; None as '-'."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key in MONEY:
        return cents(value)
    if key in PRICES:
        return price(value, symbol)
    if key in QUANTITIES:
        return quantity(value, symbol)
    return str(value)
