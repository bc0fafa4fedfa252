"""How an operation's open position is protected, and how far its exit rules have come.

The operation owns both: its protection mode, and one `ExitProgress` that the exit rules read and return anew.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from robson.domain.errors import InvalidValue
from robson.domain.values import positive


class ProtectionMode(StrEnum):
    """Where the protection lives. The values are what the configuration and the ledger store."""

    EXCHANGE = "exchange"  # stop and target rest on the venue as an OCO
    INTERNAL = "internal"  # nothing rests; the monitor exits at market when the price crosses a level

    @classmethod
    def parse(cls, text: str) -> ProtectionMode:
        """From a person's text: any case, surrounding spaces ignored."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise InvalidValue(f"mode must be exchange or internal, got {text!r}") from None


@dataclass(frozen=True, slots=True)
class ExitProgress:
    """What the exit rules have done so far to one position: the best price seen, the trailing stop, the scale-outs
    taken, the stop moved to break-even. Start with `ExitProgress()`; keep the one each rule returns."""

    best_price: Decimal | None = None  # the most favourable price seen since entry
    trailing_active: bool = False
    scale_outs_done: int = 0
    break_even_done: bool = False
    trailing_stop: Decimal | None = None  # the last stop the rules set by trailing

    def __post_init__(self) -> None:
        if self.best_price is not None:
            positive(self.best_price, "best_price")
        if self.trailing_stop is not None:
            positive(self.trailing_stop, "trailing_stop")
        if self.scale_outs_done < 0:
            raise InvalidValue("scale_outs_done must not be negative")
