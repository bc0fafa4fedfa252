"""Immutable, past-tense domain events: one class per fact, with typed fields.

The domain records them (an operation keeps the events of its orders, fills and lifecycle; the breakers return the
policy's), a unit of work collects the events of what it commits, writes their audit records in that same
transaction (persistence/audit_entries.py says how each one reads on the trail) and, once committed, hands them to
the event bus, which delivers them to its subscribers (the notifier, and next analytics and live streams).

Every event says when it happened (`at`), what it is about (`entity`) and which one (`entity_id`). `Event` is the
type subscribers take; the intermediate bases (`OperationEvent`, `OrderEvent`, `FillApplied`, `PolicyEvent`, the
status changes) let a subscriber take a family of facts at once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from robson.domain.fills import Fill
from robson.domain.orders import Order, OrderRole, OrderStatus, OrderType
from robson.domain.states import CloseReason, OperationStatus, TradingState
from robson.domain.states import lifts as lifts_at
from robson.domain.values import OrderSide, Side


class Event:
    """A fact: when it happened, what it is about. Every concrete event is a frozen, slotted dataclass."""

    __slots__ = ()
    entity: ClassVar[str]  # "operation", "order", "policy", "alert"
    at: datetime

    @property
    def entity_id(self) -> str:
        raise NotImplementedError


# ---- an operation's events: its plan, its lifecycle, its stop, its fills ---------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationEvent(Event):
    """Something that happened to an operation. `operation_id` is None when it happened before the operation was
    stored; the unit of work that stores it names the id it was given."""

    entity: ClassVar[str] = "operation"
    operation_id: int | None
    at: datetime

    @property
    def entity_id(self) -> str:
        return str(self.operation_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationPlanned(OperationEvent):
    symbol: str
    side: Side
    strategy: str
    entry_price: Decimal
    stop_price: Decimal
    target_price: Decimal | None
    quantity: Decimal
    risk_amount: Decimal
    signal_confidence: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationValidated(OperationEvent):
    """The pre-trade checks judged the plan (or, `tranche`, a further tranche planned) without sending anything."""

    approved: bool
    summary: str  # the checks' verdict as the trader reads it
    tranche: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationResized(OperationEvent):
    """The planned size changed before any order was sent (the market moved since the plan)."""

    previous_quantity: Decimal
    previous_risk_amount: Decimal
    previous_entry_price: Decimal
    quantity: Decimal
    risk_amount: Decimal
    entry_price: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationStatusChanged(OperationEvent):
    """The operation moved through its state table; each subclass is the status it moved to."""

    status: ClassVar[OperationStatus]
    previous: OperationStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationActivated(OperationStatusChanged):
    """Its first entry filled."""

    status: ClassVar[OperationStatus] = OperationStatus.ACTIVE


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationClosed(OperationStatusChanged):
    """Its position is flat; `reason` says what took it out."""

    status: ClassVar[OperationStatus] = OperationStatus.CLOSED
    reason: CloseReason


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationCancelled(OperationStatusChanged):
    status: ClassVar[OperationStatus] = OperationStatus.CANCELLED
    note: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationRejected(OperationStatusChanged):
    status: ClassVar[OperationStatus] = OperationStatus.REJECTED
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TranchePlanned(OperationEvent):
    """A further tranche planned for an active operation, and the stop the whole position moves to once it fills."""

    entry_price: Decimal
    quantity: Decimal
    stop_price: Decimal
    risk_amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class TrancheDropped(OperationEvent):
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StopRebased(OperationEvent):
    """A further tranche filled: the whole position's stop, quantity and risk."""

    previous_stop: Decimal
    stop_price: Decimal
    previous_quantity: Decimal
    quantity: Decimal
    previous_risk_amount: Decimal
    risk_amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class StopMoved(OperationEvent):
    """The stop moved in the operation's favour (trailing, break-even)."""

    previous_stop: Decimal
    stop_price: Decimal
    why: CloseReason


@dataclass(frozen=True, slots=True, kw_only=True)
class ExitTriggered(OperationEvent):
    """An exit is about to be sent, and why (recorded first: a restart finishes it with the same reason)."""

    reason: CloseReason
    price: Decimal | None  # the level that triggered it, when a level did


@dataclass(frozen=True, slots=True, kw_only=True)
class StopLossTriggered(ExitTriggered):
    """The exit of a stop loss (`reason` STOP_LOSS)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScaleOutTriggered(OperationEvent):
    quantity: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class FillApplied(OperationEvent):
    """One fill of one of the operation's orders (`fill.client_order_id`), applied once (by `fill.trade_id`): an
    entry's or an exit's."""

    fill: Fill


@dataclass(frozen=True, slots=True, kw_only=True)
class TrancheAdded(FillApplied):
    """An entry fill: one more tranche of the position."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionReduced(FillApplied):
    """An exit fill: a trade closed, with its realized P&L (net of fees)."""

    pnl: Decimal


# ---- an order's events ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderEvent(OperationEvent):
    """Something that happened to one of an operation's orders, named by its client order id."""

    entity: ClassVar[str] = "order"
    client_order_id: str
    symbol: str
    role: OrderRole | None

    @property
    def entity_id(self) -> str:
        return self.client_order_id


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRecorded(OrderEvent):
    """The order's intent, committed before the venue hears of it."""

    status: OrderStatus
    side: OrderSide
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    stop_price: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderStatusChanged(OrderEvent):
    """The order's status moved (what the venue said of it, or a refusal); each subclass is the status it moved to.
    `filled_quantity`: how much of it has filled by now."""

    status: ClassVar[OrderStatus]
    previous: OrderStatus
    filled_quantity: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAccepted(OrderStatusChanged):
    """The venue has it, working (NEW)."""

    status: ClassVar[OrderStatus] = OrderStatus.NEW


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPartiallyFilled(OrderStatusChanged):
    status: ClassVar[OrderStatus] = OrderStatus.PARTIALLY_FILLED


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilled(OrderStatusChanged):
    status: ClassVar[OrderStatus] = OrderStatus.FILLED


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelled(OrderStatusChanged):
    status: ClassVar[OrderStatus] = OrderStatus.CANCELED


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderExpired(OrderStatusChanged):
    status: ClassVar[OrderStatus] = OrderStatus.EXPIRED


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRejected(OrderStatusChanged):
    """Refused: `reason` is Robson's record of why (the venue's refusal, or never reached); None when the venue
    reported the order rejected in a report of its own."""

    status: ClassVar[OrderStatus] = OrderStatus.REJECTED
    reason: str | None = None


ORDER_STATUS_EVENTS: dict[OrderStatus, type[OrderStatusChanged]] = {
    kind.status: kind
    for kind in (OrderAccepted, OrderPartiallyFilled, OrderFilled, OrderCancelled, OrderExpired, OrderRejected)
}  # the event of an order's move to each status (PENDING_NEW is where orders start: OrderRecorded)


def order_recorded(order: Order, at: datetime) -> OrderRecorded:
    """The event of an order recorded on its operation (`order.operation_id`), before it is sent."""
    return OrderRecorded(
        operation_id=order.operation_id,
        at=at,
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        role=order.role,
        status=order.status,
        side=order.side,
        order_type=order.type,
        quantity=order.quantity,
        price=order.price,
        stop_price=order.stop_price,
    )


def order_moved(order: Order, previous: OrderStatus, at: datetime) -> OrderStatusChanged:
    """The event of an order's move from `previous` to the status it has now; a rejection Robson records carries
    its reason (`order.reject_reason`)."""
    kind = ORDER_STATUS_EVENTS[order.status]
    moved = kind(
        operation_id=order.operation_id,
        at=at,
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        role=order.role,
        previous=previous,
        filled_quantity=order.filled_quantity,
    )
    return replace(moved, reason=order.reject_reason) if isinstance(moved, OrderRejected) else moved


# ---- the policy's events: the account's trading state and its holds -----------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyEvent(Event):
    """Something that happened to the account's risk policy state."""

    entity: ClassVar[str] = "policy"
    at: datetime

    @property
    def entity_id(self) -> str:
        return "account"


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingStateChanged(PolicyEvent):
    """The trading state moved; each subclass is the state it moved to. `reason`: what moved it."""

    state: ClassVar[TradingState]
    previous: TradingState
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingHalted(TradingStateChanged):
    """No new exposure (a loss tier, a pause, the kill switch, a run of rejections, ...)."""

    state: ClassVar[TradingState] = TradingState.HALTED


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingReduced(TradingStateChanged):
    """Only orders that reduce exposure (unusual activity)."""

    state: ClassVar[TradingState] = TradingState.REDUCING


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingRestored(TradingStateChanged):
    """Back to ACTIVE: the holds lifted on time, or a resume lifted them."""

    state: ClassVar[TradingState] = TradingState.ACTIVE


TRADING_STATE_EVENTS: dict[TradingState, type[TradingStateChanged]] = {
    kind.state: kind for kind in (TradingHalted, TradingReduced, TradingRestored)
}


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldAdded(PolicyEvent):
    """A hold on trading: why (`code`: PAUSED, KILL_SWITCH, DAILY_LOSS, ...), how severe, and until when (None: only
    a resume lifts it). A pause is the hold PAUSED."""

    code: str
    state: TradingState
    reason: str
    until: datetime | None

    @property
    def lifts(self) -> str:
        return lifts_at(self.until)


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldLifted(PolicyEvent):
    """A timed hold lifted by itself, on time."""

    code: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingResumed(PolicyEvent):
    """The trader lifted every hold (`holds`, their codes in order), with an override reason on the record."""

    holds: tuple[str, ...]
    override: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskAlerted(PolicyEvent):
    """An early warning on the record (the month's loss nearing its limit)."""

    code: str
    message: str


# ---- alerts ----------------------------------------------------------------------------------------------------


class AlertLevel(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Alert(Event):
    """Something the trader must hear about now: a tier tripped, trading halted, unusual activity, a venue fault.
    Not audited (what it tells of is: a hold, a halt); the notifier says it."""

    entity: ClassVar[str] = "alert"
    level: AlertLevel
    code: str  # stable: MONTHLY_LOSS, KILL_SWITCH, ORDER_RATE, ...
    message: str
    at: datetime

    @property
    def entity_id(self) -> str:
        return self.code
