"""Reconciliation: the ledger against the venue. Repairs what is safe to repair, flags the rest for the trader.

Repaired: fills that happened while Robson was away (adopted once, by trade id), orders the venue finished or
cancelled, orders that never reached it, orders that vanished (marked CANCELED, and the position protected again).
Flagged, never touched: positions the venue holds that no operation accounts for (or the reverse), and open
orders on the venue the ledger does not know.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from robson.domain.operation import OperationStatus
from robson.domain.values import ZERO, Side
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


def reconcile(ctx: Context) -> Reconciliation:
    result = Reconciliation()
    result.outcomes = following.sync(ctx)
    for outcome in result.outcomes:
        subject = f"operation {outcome.operation.id}"
        result.differences += [Difference("REPAIRED", subject, change) for change in outcome.changes]
        result.differences += [Difference("REPAIRED", subject, warning) for warning in outcome.warnings]
    result.differences += _holdings(ctx) + _unknown_orders(ctx)
    return result


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
