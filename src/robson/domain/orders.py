"""Orders, their types and statuses, and the table of legal status moves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from robson.domain.errors import IllegalTransition, InvalidValue
from robson.domain.values import ZERO, OrderSide


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_MARKET = "STOP_MARKET"
    STOP_LIMIT = "STOP_LIMIT"
    TAKE_PROFIT_LIMIT = "TAKE_PROFIT_LIMIT"

    @property
    def needs_price(self) -> bool:
        return self in (OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT)

    @property
    def needs_trigger(self) -> bool:
        return self in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT)


class OrderStatus(StrEnum):
    PENDING_NEW = "PENDING_NEW"  # recorded locally, not yet acknowledged by the venue
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.PENDING_NEW, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


class OrderRole(StrEnum):
    """What an order is for inside its operation."""

    ENTRY = "ENTRY"
    STOP = "STOP"
    TARGET = "TARGET"
    EXIT = "EXIT"


_S = OrderStatus
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    _S.PENDING_NEW: frozenset({_S.NEW, _S.PARTIALLY_FILLED, _S.FILLED, _S.REJECTED, _S.CANCELED, _S.EXPIRED}),
    _S.NEW: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.EXPIRED}),
    _S.PARTIALLY_FILLED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.EXPIRED}),
    _S.FILLED: frozenset(),
    _S.CANCELED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.EXPIRED: frozenset(),
}


@dataclass(slots=True)
class Order:
    """One order of an operation, identified everywhere by its client order id."""

    client_order_id: str
    symbol: str
    side: OrderSide
    type: OrderType
    quantity: Decimal
    created_at: datetime
    role: OrderRole | None = None  # what the order is for in its operation; the venue does not know
    price: Decimal | None = None
    stop_price: Decimal | None = None
    list_id: str | None = None  # orders of one OCO list share it
    status: OrderStatus = OrderStatus.PENDING_NEW
    filled_quantity: Decimal = ZERO
    exchange_order_id: str | None = None
    reject_reason: str | None = None
    updated_at: datetime | None = None
    operation_id: int | None = None
    id: int | None = field(default=None, compare=False)
    # when a working order's wait ends: the loop then cancels the unfilled rest (an entry) or sends it at market (a
    # limit exit); None: it works until it fills or is cancelled (protection)
    deadline: datetime | None = None

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise InvalidValue(f"order quantity must be greater than zero, got {self.quantity}")
        if self.type.needs_price and (self.price is None or self.price <= 0):
            raise InvalidValue(f"{self.type} order needs a positive price")
        if self.type.needs_trigger and (self.stop_price is None or self.stop_price <= 0):
            raise InvalidValue(f"{self.type} order needs a positive stop price")

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled_quantity

    def move_to(self, status: OrderStatus, at: datetime) -> None:
        if status == self.status and status is not OrderStatus.PARTIALLY_FILLED:
            return
        if status not in ORDER_TRANSITIONS[self.status]:
            raise IllegalTransition(f"order {self.client_order_id}", self.status, status)
        self.status = status
        self.updated_at = at

    def record_fill(self, quantity: Decimal, at: datetime) -> None:
        """Count a fill against this order and move its status accordingly."""
        if quantity <= 0 or self.filled_quantity + quantity > self.quantity:
            raise InvalidValue(
                f"fill of {quantity} on order {self.client_order_id} exceeds its remaining {self.remaining}"
            )
        self.filled_quantity += quantity
        full = self.filled_quantity == self.quantity
        self.move_to(OrderStatus.FILLED if full else OrderStatus.PARTIALLY_FILLED, at)
