"""Reconciliation: the ledger against the venue. Repairs what is safe to repair, flags the rest for the trader.

Repaired: fills that happened while Robson was away (adopted once, by trade id), orders the venue finished or
cancelled, orders that never reached it, orders that vanished (marked CANCELED, and the position protected again).
Flagged, never touched: positions the venue holds that no operation accounts for (or the reverse), open orders on
the venue the ledger does not know, and orders that did something else on the venue than the ledger says, order
by order (filled quantity, or still working against done): both legs of an OCO filled, say, where the ledger has
one filled and one cancelled. Orders are compared for the live operations and those closed in the last
RECENT_HOURS.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from robson.domain.operation import Operation, OperationStatus
from robson.domain.orders import Order
from robson.domain.values import ZERO, Side
from robson.ports import ExchangeError, UnknownOrder
from robson.services import following
from robson.services.context import Context
from robson.services.working import Outcome


@dataclass(frozen=True, slots=True)
class Difference:
    kind: str  # REPAIRED or FLAGGED
    subject: str  # an operation, an asset, an order
    detail: str


@dataclass(slots=True)
class Reconciliation:
    differences: list[Difference] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def flagged(self) -> list[Difference]:
        return [d for d in self.differences if d.kind == "FLAGGED"]


def reconcile(ctx: Context, in_flight_seconds: int = following.IN_FLIGHT_SECONDS) -> Reconciliation:
    """`in_flight_seconds`: see following.sync (robson run recovering after a restart passes 0)."""
    result = Reconciliation()
    result.outcomes = following.sync(ctx, in_flight_seconds=in_flight_seconds)
    for outcome in result.outcomes:
        subject = f"operation {outcome.operation.id}"
        result.differences += [Difference("REPAIRED", subject, change) for change in outcome.changes]
        result.differences += [Difference("REPAIRED", subject, warning) for warning in outcome.warnings]
    result.differences += _holdings(ctx) + _unknown_orders(ctx) + _orders(ctx)
    return result


RECENT_HOURS = 24


def _orders(ctx: Context) -> list[Difference]:
    """Each order the venue took (of the live operations and the recently closed ones) against what the venue
    says it did. An order the venue no longer knows is not compared (a venue purges old orders; sync has dealt
    with the open ones)."""
    since = ctx.clock.now() - timedelta(hours=RECENT_HOURS)
    with ctx.unit_of_work() as uow:
        operations = uow.operations.recent(since, 0)
    differences = []
    for op in operations:
        for order in op.orders:
            if order.exchange_order_id:
                differences += _order_difference(ctx, op, order)
    return differences


def _order_difference(ctx: Context, op: Operation, order: Order) -> list[Difference]:
    try:
        report = ctx.exchange.get_order(order.symbol, order.client_order_id)
    except UnknownOrder:
        return []
    except ExchangeError as error:
        return [Difference("FLAGGED", order.client_order_id, f"could not be compared: the venue failed ({error})")]
    if report.filled_quantity == order.filled_quantity and report.status.is_open == order.status.is_open:
        return []  # the same done: CANCELED, EXPIRED and REJECTED with nothing filled all did nothing
    return [
        Difference("FLAGGED", order.client_order_id, f"operation {op.id}'s {order.role} order: the venue says "
                   f"{report.status} with {report.filled_quantity} filled, the ledger {order.status} with "
                   f"{order.filled_quantity} filled")
    ]  # fmt: skip


def _holdings(ctx: Context) -> list[Difference]:
    """What the operations hold of each base asset against the venue's balance of it (spot: longs only)."""
    expected: dict[str, Decimal] = defaultdict(lambda: ZERO)
    with ctx.unit_of_work() as uow:
        for op in uow.operations.list((OperationStatus.ACTIVE,)):
            if op.side is Side.LONG:
                expected[ctx.instrument(op.symbol).base] += op.position.quantity
    balances = ctx.exchange.balances()
    bases = {instrument.base for instrument in ctx.exchange.instruments().values()}
    differences = []
    for asset in sorted(bases | set(expected)):
        held = balances[asset].total if asset in balances else ZERO
        wanted = expected[asset]
        if held > wanted:
            differences.append(
                Difference("FLAGGED", asset, f"the venue holds {held}, the operations account for {wanted}: "
                           f"{held - wanted} {asset} belong to no operation (robson adopt, or sell it by hand)")
            )  # fmt: skip
        elif held < wanted:
            differences.append(
                Difference("FLAGGED", asset, f"the operations hold {wanted}, the venue only {held}: "
                           f"{wanted - held} {asset} are missing (sold outside Robson?)")
            )  # fmt: skip
    return differences


def _unknown_orders(ctx: Context) -> list[Difference]:
    with ctx.unit_of_work() as uow:
        known = {
            order.client_order_id
            for op in uow.operations.list((OperationStatus.PLANNED, OperationStatus.ACTIVE))
            for order in op.orders
        }
    return [
        Difference("FLAGGED", report.client_order_id, f"an open {report.side} {report.type} order for "
                   f"{report.quantity} {report.symbol} on the venue that the ledger does not know")
        for report in ctx.exchange.open_orders()
        if report.client_order_id not in known
    ]  # fmt: skip
