"""The exit engine's inputs and outputs: the position it watches and the actions it returns (the progress it keeps
between bars is the operation's own `robson.domain.protection.ExitProgress`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from robson.domain.errors import InvalidValue
from robson.domain.operation import CloseReason
from robson.domain.values import ZERO, Side, non_negative, positive


class ActionKind(StrEnum):
    MOVE_STOP = "MOVE_STOP"
    EXIT = "EXIT"
    SCALE_OUT = "SCALE_OUT"


@dataclass(frozen=True, slots=True)
class PositionView:
    """What the engine needs to know about one open position. R = |average_entry - initial_stop| per unit."""

    side: Side
    average_entry: Decimal
    initial_stop: Decimal
    stop: Decimal
    target: Decimal | None
    quantity: Decimal
    original_quantity: Decimal
    opened_at: datetime
    tick: Decimal
    step: Decimal
    min_quantity: Decimal = ZERO
    min_notional: Decimal = ZERO
    atr: Decimal | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.side, Side):
            raise InvalidValue(f"side must be a Side, got {self.side!r}")
        for name in ("average_entry", "initial_stop", "stop", "quantity", "original_quantity", "tick", "step"):
            positive(getattr(self, name), name)
        non_negative(self.min_quantity, "min_quantity")
        non_negative(self.min_notional, "min_notional")
        if self.target is not None:
            positive(self.target, "target")
        if self.atr is not None:
            positive(self.atr, "atr")
        if self.side.sign * (self.average_entry - self.initial_stop) <= 0:
            raise InvalidValue(f"a {self.side} position's initial stop must be on its losing side of the entry")
        if self.quantity > self.original_quantity:
            raise InvalidValue("the open quantity cannot exceed the original quantity")
        if not isinstance(self.opened_at, datetime):
            raise InvalidValue("opened_at must be a datetime")

    @property
    def risk_per_unit(self) -> Decimal:
        """R: the distance from the average entry to the initial stop."""
        return abs(self.average_entry - self.initial_stop)


@dataclass(frozen=True, slots=True)
class Action:
    """MOVE_STOP: `price` is the new stop. EXIT / SCALE_OUT: `price` is the expected fill."""

    kind: ActionKind
    reason: CloseReason
    quantity: Decimal
    price: Decimal
    slippage: Decimal = ZERO

    def __post_init__(self) -> None:
        positive(self.quantity, "action quantity")
        positive(self.price, "action price")
        non_negative(self.slippage, "action slippage")
