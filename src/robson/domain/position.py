"""A position built from tranches (one per entry fill) and reduced by exits, and the trades it closes."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from robson.domain.errors import IllegalTransition, InvalidValue
from robson.domain.fills import Fill
from robson.domain.values import ZERO, Side

# Partial exits take a pro-rata share of the cost basis and the entry fees, rounded to this grid. Totals are
# unaffected: what is allocated is subtracted exactly, and the exit that closes the position takes the rest.
ALLOCATION_QUANTUM = Decimal("1E-12")


class PositionStatus(StrEnum):
    CLOSED = "CLOSED"
    BUILDING = "BUILDING"
    OPEN = "OPEN"
    REDUCING = "REDUCING"
    CLOSING = "CLOSING"


_P = PositionStatus
POSITION_TRANSITIONS: dict[PositionStatus, frozenset[PositionStatus]] = {
    _P.CLOSED: frozenset({_P.BUILDING, _P.OPEN}),
    _P.BUILDING: frozenset({_P.BUILDING, _P.OPEN, _P.REDUCING, _P.CLOSING, _P.CLOSED}),
    _P.OPEN: frozenset({_P.BUILDING, _P.OPEN, _P.REDUCING, _P.CLOSING, _P.CLOSED}),
    _P.REDUCING: frozenset({_P.BUILDING, _P.OPEN, _P.REDUCING, _P.CLOSING, _P.CLOSED}),
    _P.CLOSING: frozenset({_P.CLOSING, _P.CLOSED}),
}


@dataclass(frozen=True, slots=True)
class Tranche:
    """One entry fill."""

    price: Decimal
    quantity: Decimal
    fee: Decimal  # in the quote asset
    time: datetime
    trade_id: str


@dataclass(frozen=True, slots=True)
class Trade:
    """The closed record of a quantity that went in and came out."""

    quantity: Decimal
    entry_price: Decimal  # the position's average entry at the time of the exit
    exit_price: Decimal
    entry_time: datetime
    exit_time: datetime
    fees: Decimal  # the exit fee plus this quantity's share of the entry fees
    pnl: Decimal  # net of fees
    r_multiple: Decimal | None  # pnl divided by the risk planned for this quantity at entry
    trade_id: str


@dataclass(slots=True)
class Position:
    """What an operation holds. All money is in the quote asset; everything derives from the fills."""

    side: Side
    quote: str
    initial_stop: Decimal | None = None
    status: PositionStatus = PositionStatus.CLOSED
    quantity: Decimal = ZERO
    cost_basis: Decimal = ZERO  # sum of price x quantity of what is still open, at the entry prices
    open_entry_fees: Decimal = ZERO  # entry fees not yet charged to a trade
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    tranches: list[Tranche] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)

    def copy(self) -> Position:
        """An independent copy (its tranches and trades are values: the lists are new, their items shared)."""
        other = copy.copy(self)
        other.tranches = list(self.tranches)
        other.trades = list(self.trades)
        return other

    @property
    def average_entry(self) -> Decimal | None:
        return self.cost_basis / self.quantity if self.quantity > 0 else None

    @property
    def entered_quantity(self) -> Decimal:
        return sum((t.quantity for t in self.tranches), ZERO)

    @property
    def exited_quantity(self) -> Decimal:
        return sum((t.quantity for t in self.trades), ZERO)

    @property
    def is_flat(self) -> bool:
        return self.quantity == 0

    def _move_to(self, status: PositionStatus) -> None:
        if status not in POSITION_TRANSITIONS[self.status]:
            raise IllegalTransition("position", self.status, status)
        self.status = status

    def mark_building(self) -> None:
        self._move_to(PositionStatus.BUILDING)

    def mark_closing(self) -> None:
        if self.is_flat:
            raise InvalidValue("a flat position has nothing to close")
        self._move_to(PositionStatus.CLOSING)

    def apply(self, fill: Fill, *, more_entries_pending: bool = False) -> Tranche | Trade:
        """Apply one fill: an entry adds a tranche, an exit closes quantity and records a trade."""
        if fill.side is self.side.entry_action:
            return self._add_tranche(fill, more_entries_pending)
        return self._reduce(fill)

    def _add_tranche(self, fill: Fill, more_pending: bool) -> Tranche:
        if self.status is PositionStatus.CLOSED and self.trades:
            raise IllegalTransition("position", "CLOSED (after trading)", "OPEN")
        fee = fill.fee_in_quote(self.quote)
        tranche = Tranche(fill.price, fill.quantity, fee, fill.time, fill.trade_id)
        self._move_to(PositionStatus.BUILDING if more_pending else PositionStatus.OPEN)
        self.tranches.append(tranche)
        self.quantity += fill.quantity
        self.cost_basis += fill.price * fill.quantity
        self.open_entry_fees += fee
        self.fees_paid += fee
        return tranche

    def _reduce(self, fill: Fill) -> Trade:
        if fill.quantity > self.quantity:
            raise InvalidValue(f"exit of {fill.quantity} exceeds the open quantity {self.quantity}")
        closes_all = fill.quantity == self.quantity
        if closes_all:
            basis, entry_fees = self.cost_basis, self.open_entry_fees
        else:  # allocate pro rata on a fixed grid, so every sum stays exact and the last exit takes the rest
            share = fill.quantity / self.quantity
            basis = (self.cost_basis * share).quantize(ALLOCATION_QUANTUM)
            entry_fees = (self.open_entry_fees * share).quantize(ALLOCATION_QUANTUM)
        average = self.cost_basis / self.quantity
        exit_fee = fill.fee_in_quote(self.quote)
        gross = (fill.notional - basis) * self.side.sign
        pnl = gross - entry_fees - exit_fee
        risk = abs(average - self.initial_stop) * fill.quantity if self.initial_stop is not None else ZERO
        trade = Trade(
            quantity=fill.quantity,
            entry_price=average,
            exit_price=fill.price,
            entry_time=self.tranches[0].time,
            exit_time=fill.time,
            fees=entry_fees + exit_fee,
            pnl=pnl,
            r_multiple=pnl / risk if risk > 0 else None,
            trade_id=fill.trade_id,
        )
        self.quantity -= fill.quantity
        self.cost_basis -= basis
        self.open_entry_fees -= entry_fees
        self.fees_paid += exit_fee
        self.realized_pnl += pnl
        self.trades.append(trade)
        if closes_all:
            self._move_to(PositionStatus.CLOSED)
        elif self.status is not PositionStatus.CLOSING:
            self._move_to(PositionStatus.REDUCING)
        return trade

    def unrealized_pnl(self, price: Decimal, exit_fee_rate: Decimal = ZERO) -> Decimal:
        """P&L of the open quantity if closed at `price`, net of its entry fees and the exit fee at that rate."""
        if self.is_flat:
            return ZERO
        gross = (price * self.quantity - self.cost_basis) * self.side.sign
        return gross - self.open_entry_fees - price * self.quantity * exit_fee_rate
