"""A fill: one execution of part or all of an order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from robson.domain.errors import InvalidValue
from robson.domain.values import OrderSide


@dataclass(frozen=True, slots=True)
class Fill:
    trade_id: str  # the venue's id of this execution; unique per venue
    client_order_id: str
    symbol: str
    side: OrderSide
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_asset: str
    time: datetime

    def __post_init__(self) -> None:
        if not self.price.is_finite() or self.price <= 0:
            raise InvalidValue(f"fill price must be positive, got {self.price}")
        if not self.quantity.is_finite() or self.quantity <= 0:
            raise InvalidValue(f"fill quantity must be positive, got {self.quantity}")
        if not self.fee.is_finite() or self.fee < 0:
            raise InvalidValue(f"fill fee must not be negative, got {self.fee}")

    @property
    def notional(self) -> Decimal:
        return self.price * self.quantity

    def fee_in_quote(self, quote: str) -> Decimal:
        """The fee valued in the quote asset: as is, or at the fill price when paid in the base asset."""
        if self.fee_asset == quote:
            return self.fee
        return self.fee * self.price
