"""A bar of prices (open, high, low, close) and the path it is taken to have traded: what the fill simulator
matches resting orders against, and what a replay hands the monitor, tick by tick, so both see the same prices in
the same order."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from robson.domain.errors import InvalidValue


@dataclass(frozen=True, slots=True)
class Bar:
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal

    def __post_init__(self) -> None:
        for name in ("open", "high", "low", "close"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
                raise InvalidValue(f"bar {name} must be a positive Decimal, got {value!r}")
        if self.high < max(self.open, self.close):
            raise InvalidValue(f"bar high {self.high} is below its open or close")
        if self.low > min(self.open, self.close):
            raise InvalidValue(f"bar low {self.low} is above its open or close")

    @classmethod
    def tick(cls, price: Decimal) -> Bar:
        """One traded price, as a bar whose four prices are that price."""
        return cls(price, price, price, price)

    def path(self) -> tuple[Decimal, ...]:
        """The prices the bar is taken to have traded, in order: the open, the extreme nearer the open, the other
        extreme, the close (a repeat of the price before is left out). With the open as far from both extremes the
        low comes first: the conservative order for a long, which is all a spot venue holds. A bar through both a
        stop and a target therefore meets the stop first unless its open is nearer the target."""
        low_first = self.open - self.low <= self.high - self.open
        path: list[Decimal] = []
        for price in (self.open, *((self.low, self.high) if low_first else (self.high, self.low)), self.close):
            if not path or path[-1] != price:
                path.append(price)
        return tuple(path)
