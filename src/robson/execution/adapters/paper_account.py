"""The paper venue's bookkeeping: what open orders lock, and the working set of one call.

Locks are derived, never stored apart: an asset's locked amount is always the sum of what its open orders lock
(an OCO list locks once: the larger of its legs), and free = total - locked. So a changed fee schedule after a
restart cannot leave a lock stranded.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from robson.domain.fills import Fill
from robson.domain.instrument import Instrument
from robson.domain.orders import Order
from robson.domain.values import ONE, ZERO, OrderSide
from robson.execution.matching import FeeSchedule, SlippageModel, market_fill_price
from robson.ports import Balance, Fatal, InsufficientFunds, PaperChanges, PaperState

INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."


class LockRule:
    """What a resting order locks: a sell its base quantity; a buy its worst cost with the taker fee, in quote."""

    def __init__(self, instruments: dict[str, Instrument], fees: FeeSchedule, slippage: SlippageModel) -> None:
        self.instruments = instruments
        self.fees = fees
        self.slippage = slippage

    def lock_of(self, order: Order) -> tuple[str, Decimal]:
        instrument = self.instruments[order.symbol]
        if order.side is OrderSide.SELL:
            return instrument.base, order.remaining
        if order.price is not None:
            reference = order.price
        elif order.stop_price is not None:  # a buy stop-market: the stop with slippage (a gap may cost more)
            reference = market_fill_price(OrderSide.BUY, order.stop_price, self.slippage, instrument)
        else:
            raise Fatal(f"a {order.type} order does not rest on the paper venue")
        return instrument.quote, reference * order.remaining * (ONE + self.fees.taker)

    def locks(self, orders: Iterable[Order], excluding: Order | None = None) -> dict[str, Decimal]:
        """The locked amount per asset of the open orders, leaving out `excluding` and its OCO list."""
        totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
        lists: dict[str, tuple[str, Decimal]] = {}
        for order in orders:
            if not order.status.is_open or (excluding is not None and _same_list(order, excluding)):
                continue
            asset, amount = self.lock_of(order)
            if order.list_id is None:
                totals[asset] += amount
            elif order.list_id not in lists or lists[order.list_id][1] < amount:
                lists[order.list_id] = (asset, amount)
        for asset, amount in lists.values():
            totals[asset] += amount
        return totals


def _placed(order: Order) -> int:
    """The venue's order of arrival (its order ids count up)."""
    return int(order.exchange_order_id or 0)


def _same_list(order: Order, other: Order) -> bool:
    if order.client_order_id == other.client_order_id:
        return True
    return order.list_id is not None and order.list_id == other.list_id


class PaperSession:
    """One call's changes over the loaded state; nothing reaches the state before the store has them."""

    def __init__(self, state: PaperState, rule: LockRule) -> None:
        self.state = state
        self.rule = rule
        self.changes = PaperChanges()
        self.triggered: set[str] = set()  # stop-limit and take-profit-limit orders triggered and still open
        self._totals: dict[str, Decimal] = {}

    # ---- orders ----
    def edit(self, client_order_id: str) -> Order:
        """The order, copied into this call's changes so that it may be modified."""
        if client_order_id not in self.changes.orders:
            self.changes.orders[client_order_id] = dataclasses.replace(self.state.orders[client_order_id])
        return self.changes.orders[client_order_id]

    def add(self, order: Order) -> None:
        self.changes.orders[order.client_order_id] = order

    def working(self) -> list[Order]:
        """The open orders, as this call has left them (only these lock funds or can fill)."""
        changed = self.changes.orders
        kept = [self.state.orders[cid] for cid in self.state.working if cid not in changed]
        working = kept + [order for order in changed.values() if order.status.is_open]
        return sorted(working, key=_placed)

    def open_orders(self, symbol: str) -> list[Order]:
        return [order for order in self.working() if order.symbol == symbol]

    def next_number(self) -> int:
        current = self.changes.sequence if self.changes.sequence is not None else self.state.sequence
        self.changes.sequence = current + 1
        return self.changes.sequence

    # ---- prices ----
    def price(self, symbol: str) -> Decimal | None:
        return self.changes.prices.get(symbol, self.state.prices.get(symbol))

    def set_price(self, symbol: str, price: Decimal) -> None:
        self.changes.prices[symbol] = price

    # ---- money ----
    def total(self, asset: str) -> Decimal:
        if asset in self._totals:
            return self._totals[asset]
        balance = self.state.balances.get(asset)
        return balance.total if balance is not None else ZERO

    def free(self, asset: str, excluding: Order | None = None) -> Decimal:
        """What is not locked by open orders (leaving `excluding` and its list out of the locks)."""
        return self.total(asset) - self.rule.locks(self.working(), excluding)[asset]

    def require_free(self, asset: str, amount: Decimal) -> None:
        if self.free(asset) < amount:
            raise InsufficientFunds(INSUFFICIENT_BALANCE)

    def credit(self, asset: str, amount: Decimal) -> None:
        self._totals[asset] = self.total(asset) + amount

    def debit(self, asset: str, amount: Decimal) -> None:
        self._totals[asset] = self.total(asset) - amount

    def add_fill(self, fill: Fill) -> None:
        self.changes.fills.append(fill)

    def finish(self) -> PaperChanges:
        """The changes, with every balance whose total or lock moved; a negative balance is a broken invariant. A
        call that touched no order and no total (a price that filled nothing) moved no balance."""
        if not self.changes.orders and not self._totals:
            return self.changes
        locks = self.rule.locks(self.working())
        assets = set(self.state.balances) | set(self._totals) | set(locks)
        for asset in sorted(assets):
            locked = locks[asset]
            balance = Balance(asset, self.total(asset) - locked, locked)
            if balance.free < 0 or balance.locked < 0:
                raise Fatal(f"the paper account would go negative: {balance}")
            if self.state.balances.get(asset) != balance:
                self.changes.balances[asset] = balance
        return self.changes


def apply_changes(state: PaperState, changes: PaperChanges) -> None:
    """Fold one call's changes into a state (the exchange's own copy, or a store's)."""
    state.balances.update(changes.balances)
    state.orders.update(changes.orders)
    for cid, order in changes.orders.items():
        if order.status.is_open:
            state.working.add(cid)
        else:
            state.working.discard(cid)
    state.fills.extend(changes.fills)
    state.prices.update(changes.prices)
    if changes.sequence is not None:
        state.sequence = changes.sequence
