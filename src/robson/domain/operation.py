"""The operation: one trading thesis, its plan, its orders, its position and its lifecycle."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from robson.domain.errors import IllegalTransition, InvalidValue
from robson.domain.events import (
    ExitTriggered,
    OperationActivated,
    OperationCancelled,
    OperationClosed,
    OperationEvent,
    OperationPlanned,
    OperationRejected,
    OperationResized,
    PositionReduced,
    StopLossTriggered,
    StopMoved,
    StopRebased,
    TrancheAdded,
    TrancheDropped,
    TranchePlanned,
)
from robson.domain.fills import Fill
from robson.domain.orders import Order, OrderRole, OrderStatus
from robson.domain.position import Position, PositionStatus, Trade, Tranche
from robson.domain.protection import ExitProgress, ProtectionMode
from robson.domain.states import CloseReason as CloseReason  # re-exported: the operation's own vocabulary
from robson.domain.states import OperationStatus as OperationStatus
from robson.domain.values import ZERO, Side

_O = OperationStatus
OPERATION_TRANSITIONS: dict[OperationStatus, frozenset[OperationStatus]] = {
    _O.PLANNED: frozenset({_O.ACTIVE, _O.CANCELLED, _O.REJECTED}),
    _O.ACTIVE: frozenset({_O.CLOSED}),
    _O.CLOSED: frozenset(),
    _O.CANCELLED: frozenset(),
    _O.REJECTED: frozenset(),
}

_REASON_BY_ROLE = {OrderRole.STOP: CloseReason.STOP_LOSS, OrderRole.TARGET: CloseReason.TAKE_PROFIT}


def _reason_for(role: OrderRole | None) -> CloseReason:
    return _REASON_BY_ROLE.get(role, CloseReason.MANUAL) if role is not None else CloseReason.MANUAL


def validate_levels(side: Side, entry: Decimal, stop: Decimal, target: Decimal | None) -> None:
    """The stop must lie on the losing side of the entry and the target on the winning side."""
    for name, value in (("entry", entry), ("stop", stop), ("target", target)):
        if value is not None and (not value.is_finite() or value <= 0):
            raise InvalidValue(f"{name} price must be a positive number, got {value}")
    if stop == entry:
        raise InvalidValue("stop must differ from the entry")
    if (stop - entry) * side.sign > 0:
        where = "below" if side is Side.LONG else "above"
        raise InvalidValue(f"a {side} stop must be {where} the entry ({stop} vs entry {entry})")
    if target is not None and (target - entry) * side.sign <= 0:
        where = "above" if side is Side.LONG else "below"
        raise InvalidValue(f"a {side} target must be {where} the entry ({target} vs entry {entry})")


@dataclass(frozen=True, slots=True)
class PendingAdd:
    """A further tranche planned for an ACTIVE operation: its entry, its quantity, and the stop the whole
    position moves to once it fills, so that the risk of every tranche together still fits the budget."""

    entry_price: Decimal
    quantity: Decimal
    stop_price: Decimal
    risk_amount: Decimal  # the whole position's loss at stop_price, fees included
    planned_at: datetime


@dataclass(slots=True)
class Operation:
    symbol: str
    side: Side
    strategy: str
    entry_price: Decimal
    stop_price: Decimal
    target_price: Decimal | None
    quantity: Decimal  # the planned quantity
    risk_amount: Decimal  # the budgeted loss at the stop, fees included
    quote: str
    created_at: datetime
    status: OperationStatus = OperationStatus.PLANNED
    close_reason: CloseReason | None = None
    note: str = ""
    activated_at: datetime | None = None
    closed_at: datetime | None = None
    orders: list[Order] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    position: Position = field(init=False)
    events: list[OperationEvent] = field(default_factory=list)  # recorded, until a commit audits and dispatches them
    pending_add: PendingAdd | None = None
    protection: ProtectionMode = ProtectionMode.EXCHANGE
    initial_stop: Decimal | None = None  # the stop at entry, for R (the stop itself may move later)
    exit_reason: CloseReason | None = None  # why the exit in flight was sent: a restart finishes it with it
    progress: ExitProgress = field(default_factory=ExitProgress)  # what the exit rules have done so far
    id: int | None = None
    version: int = 0  # the stored row's version: a write based on an older one is refused (another process won)

    def __post_init__(self) -> None:
        # the plan's levels: a stop that has since trailed past the entry is the point of trailing, not an error
        validate_levels(self.side, self.entry_price, self.initial_stop or self.stop_price, self.target_price)
        if self.quantity <= 0:
            raise InvalidValue(f"quantity must be greater than zero, got {self.quantity}")
        if not isinstance(self.protection, ProtectionMode):
            raise InvalidValue(f"protection must be a ProtectionMode, got {self.protection!r}")
        if self.initial_stop is None:
            self.initial_stop = self.stop_price
        self.position = Position(self.side, self.quote, initial_stop=self.initial_stop)

    def copy(self) -> Operation:
        """An independent copy: what is changed on one (an order, a fill applied, an event) the other does not see.
        Frozen values (fills, the exit progress, a pending add) are shared."""
        other = copy.copy(self)
        other.orders = [copy.copy(order) for order in self.orders]
        other.fills = list(self.fills)
        other.events = list(self.events)
        other.position = self.position.copy()
        return other

    # ---- lifecycle -------------------------------------------------------------------------
    def _move_to(self, status: OperationStatus, at: datetime) -> OperationStatus:
        """Move through the state table; returns the status it left."""
        if status not in OPERATION_TRANSITIONS[self.status]:
            raise IllegalTransition(f"operation {self.id}", self.status, status)
        before = self.status
        self.status = status
        if status is OperationStatus.ACTIVE:
            self.activated_at = at
        if status.is_final:
            self.closed_at = at
        return before

    def record(self, event: OperationEvent) -> None:
        """Keep an event of this operation (or of one of its orders) until a unit of work commits it."""
        self.events.append(event)

    def record_plan(self, at: datetime, signal_confidence: Decimal | None = None) -> None:
        """Put the plan on record: its levels and size (and the signal's confidence, when a signal planned it)."""
        self.record(
            OperationPlanned(
                operation_id=self.id,
                at=at,
                symbol=self.symbol,
                side=self.side,
                strategy=self.strategy,
                entry_price=self.entry_price,
                stop_price=self.stop_price,
                target_price=self.target_price,
                quantity=self.quantity,
                risk_amount=self.risk_amount,
                signal_confidence=signal_confidence,
            )
        )

    def cancel(self, at: datetime, note: str = "") -> None:
        self.note = note or self.note
        previous = self._move_to(OperationStatus.CANCELLED, at)
        self.record(OperationCancelled(operation_id=self.id, at=at, previous=previous, note=self.note))

    def reject(self, at: datetime, reason: str) -> None:
        self.note = reason
        previous = self._move_to(OperationStatus.REJECTED, at)
        self.record(OperationRejected(operation_id=self.id, at=at, previous=previous, reason=reason))

    def close(self, reason: CloseReason, at: datetime) -> None:
        if not self.position.is_flat:
            raise InvalidValue(f"operation {self.id} still holds {self.position.quantity}; exit it first")
        self.close_reason = reason
        previous = self._move_to(OperationStatus.CLOSED, at)
        self.record(OperationClosed(operation_id=self.id, at=at, previous=previous, reason=reason))

    def resize(self, quantity: Decimal, risk_amount: Decimal, entry: Decimal, at: datetime) -> None:
        """Change the planned size before any order is sent (the market moved since the plan)."""
        if self.status is not OperationStatus.PLANNED or any(o.status is not OrderStatus.REJECTED for o in self.orders):
            raise IllegalTransition(f"operation {self.id}", self.status, "resized")
        resized = OperationResized(
            operation_id=self.id,
            at=at,
            previous_quantity=self.quantity,
            previous_risk_amount=self.risk_amount,
            previous_entry_price=self.entry_price,
            quantity=quantity,
            risk_amount=risk_amount,
            entry_price=entry,
        )
        self.quantity, self.risk_amount, self.entry_price = quantity, risk_amount, entry
        self.record(resized)

    def plan_add(self, add: PendingAdd) -> None:
        """Plan a further tranche; the stop re-bases when it fills."""
        if self.status is not OperationStatus.ACTIVE or self.position.is_flat:
            raise IllegalTransition(f"operation {self.id}", self.status, "a further tranche")
        self.pending_add = add
        self.record(
            TranchePlanned(
                operation_id=self.id,
                at=add.planned_at,
                entry_price=add.entry_price,
                quantity=add.quantity,
                stop_price=add.stop_price,
                risk_amount=add.risk_amount,
            )
        )

    def rebase(self, stop: Decimal, risk_amount: Decimal, at: datetime) -> None:
        """After an add filled: the whole position's stop and risk, the quantity it now holds."""
        validate_levels(self.side, self.position.average_entry or self.entry_price, stop, None)
        previous_stop, previous_quantity, previous_risk = self.stop_price, self.quantity, self.risk_amount
        self.stop_price, self.risk_amount = stop, risk_amount
        self.quantity = self.position.entered_quantity
        self.pending_add = None
        self.record(
            StopRebased(
                operation_id=self.id,
                at=at,
                previous_stop=previous_stop,
                stop_price=stop,
                previous_quantity=previous_quantity,
                quantity=self.quantity,
                previous_risk_amount=previous_risk,
                risk_amount=risk_amount,
            )
        )

    def move_stop(self, stop: Decimal, at: datetime, why: CloseReason) -> None:
        """Move the stop (trailing, break-even): only ever toward the price, in the operation's favour. `why`: the
        exit rule that moved it (TRAILING_STOP; STOP_LOSS for break-even)."""
        if (stop - self.stop_price) * self.side.sign <= 0:
            raise InvalidValue(f"a stop only moves in the operation's favour ({self.stop_price} -> {stop})")
        previous = self.stop_price
        self.stop_price = stop
        self.record(
            StopMoved(operation_id=self.id, at=at, previous_stop=previous, stop_price=stop, why=CloseReason(why))
        )

    def start_exit(self, reason: CloseReason, at: datetime, trigger: Decimal | None = None) -> None:
        """Record why an exit is about to be sent, before it is: a restart finishes it with the same reason."""
        self.exit_reason = reason
        kind = StopLossTriggered if reason is CloseReason.STOP_LOSS else ExitTriggered
        self.record(kind(operation_id=self.id, at=at, reason=reason, price=trigger))

    def drop_add(self, at: datetime, reason: str) -> None:
        if self.pending_add is not None:
            self.pending_add = None
            self.record(TrancheDropped(operation_id=self.id, at=at, reason=reason))

    # ---- orders and fills ------------------------------------------------------------------
    def add_order(self, order: Order) -> None:
        if self.status.is_final:
            raise IllegalTransition(f"operation {self.id}", self.status, "new order")
        if any(o.client_order_id == order.client_order_id for o in self.orders):
            raise InvalidValue(f"order {order.client_order_id} already belongs to operation {self.id}")
        order.operation_id = self.id
        self.orders.append(order)

    def order(self, client_order_id: str) -> Order:
        for candidate in self.orders:
            if candidate.client_order_id == client_order_id:
                return candidate
        raise InvalidValue(f"operation {self.id} has no order {client_order_id}")

    def open_orders(self, *roles: OrderRole) -> list[Order]:
        return [o for o in self.orders if o.status.is_open and (not roles or o.role in roles)]

    def has_fill(self, trade_id: str) -> bool:
        return any(f.trade_id == trade_id for f in self.fills)

    def apply_fill(self, fill: Fill, at: datetime, *, exit_reason: CloseReason | None = None) -> Tranche | Trade | None:
        """Apply a venue fill once (a repeated trade id is ignored) and move the lifecycle on."""
        if self.has_fill(fill.trade_id):
            return None
        order = self.order(fill.client_order_id)
        order.record_fill(fill.quantity, at)
        self.fills.append(fill)
        pending = any(o.role is OrderRole.ENTRY and o.status.is_open for o in self.orders)
        result = self.position.apply(fill, more_entries_pending=pending)
        if isinstance(result, Tranche):
            self.record(TrancheAdded(operation_id=self.id, at=at, fill=fill))
        else:
            self.record(PositionReduced(operation_id=self.id, at=at, fill=fill, pnl=result.pnl))
        if isinstance(result, Tranche) and self.status is OperationStatus.PLANNED:
            previous = self._move_to(OperationStatus.ACTIVE, at)
            self.record(OperationActivated(operation_id=self.id, at=at, previous=previous))
        if isinstance(result, Trade) and self.position.is_flat:
            reason = exit_reason or (self.exit_reason if order.role is OrderRole.EXIT else None)
            if reason is None and order.role is OrderRole.STOP and self.progress.trailing_active:
                reason = CloseReason.TRAILING_STOP  # the venue's stop, moved there by trailing
            self.close(reason or _reason_for(order.role), at)
        return result

    @property
    def realized_pnl(self) -> Decimal:
        return self.position.realized_pnl

    @property
    def is_protected(self) -> bool:
        """Whether a live order on the venue guards the open position's stop."""
        return any(o.role is OrderRole.STOP for o in self.open_orders())

    @property
    def position_status(self) -> PositionStatus:
        return self.position.status

    @property
    def slippage_past_stop(self) -> Decimal:
        """How much worse than the stop price the exits filled, in quote: a gap through the stop. The one way
        a loss may exceed its budget; reported, never hidden."""
        exits = (f for f in self.fills if f.side is self.side.exit_action)
        return sum((max((self.stop_price - f.price) * self.side.sign, ZERO) * f.quantity for f in exits), ZERO)

    @property
    def worst_loss_percent_of_budget(self) -> Decimal:
        if self.risk_amount <= 0:
            return ZERO
        return -self.realized_pnl / self.risk_amount * 100
