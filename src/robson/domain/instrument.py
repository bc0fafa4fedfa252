"""An instrument and the filters its venue enforces on every order."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from robson.domain.errors import InvalidValue
from robson.domain.values import ZERO, ceil_to_step, floor_to_step, is_on_step, non_negative, positive


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable pair with its exchange filters (Binance PRICE_FILTER, LOT_SIZE, NOTIONAL). A max_price of zero
    means no upper bound, as Binance writes it."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_quantity: Decimal = ZERO
    min_notional: Decimal = ZERO
    min_price: Decimal = ZERO
    max_price: Decimal = ZERO

    def __post_init__(self) -> None:
        if not self.symbol or "/" not in self.symbol:
            raise InvalidValue(f"symbol must look like BASE/QUOTE, got {self.symbol!r}")
        if f"{self.base}/{self.quote}" != self.symbol:
            raise InvalidValue(f"symbol {self.symbol} does not match base {self.base} and quote {self.quote}")
        positive(self.tick_size, "tick_size")
        positive(self.step_size, "step_size")
        non_negative(self.min_quantity, "min_quantity")
        non_negative(self.min_notional, "min_notional")
        non_negative(self.min_price, "min_price")
        non_negative(self.max_price, "max_price")

    def floor_quantity(self, quantity: Decimal) -> Decimal:
        return floor_to_step(quantity, self.step_size)

    def floor_price(self, price: Decimal) -> Decimal:
        return floor_to_step(price, self.tick_size)

    def ceil_price(self, price: Decimal) -> Decimal:
        return ceil_to_step(price, self.tick_size)

    def price_outside(self, price: Decimal) -> str | None:
        """Why this price cannot be a price of the instrument (not finite, not above zero, outside the price
        filter's bounds), or None when it can."""
        if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
            return f"{price} is not a real price (a price is a finite number above zero)"
        if price < self.min_price or (self.max_price and price > self.max_price):
            top = self.max_price if self.max_price else "no limit"
            return f"{price} is outside the price filter of {self.symbol} ({self.min_price} to {top})"
        return None

    def filter_failure(self, quantity: Decimal, price: Decimal | None) -> str | None:
        """The name of the first filter an order of this quantity at this price would fail, or None."""
        if price is not None and (self.price_outside(price) or not is_on_step(price, self.tick_size)):
            return "PRICE_FILTER"
        if quantity <= 0 or not is_on_step(quantity, self.step_size) or quantity < self.min_quantity:
            return "LOT_SIZE"
        if price is not None and quantity * price < self.min_notional:
            return "NOTIONAL"
        return None


def split_symbol(symbol: str) -> tuple[str, str]:
    """'BTC/USDT' -> ('BTC', 'USDT')."""
    parts = symbol.strip().upper().split("/")
    if len(parts) != 2 or not all(parts):
        raise InvalidValue(f"symbol must look like BASE/QUOTE, got {symbol!r}")
    return parts[0], parts[1]
