"""On fill: what the venue says happened to the account's orders, applied to the operations that own them.

One use case, whatever brings the news: the venue's stream of order updates (Binance's user-data stream, read by
the monitor as it comes), the fills the simulator returns (paper, backtest) and, as the backstop, `sync`, which
asks the venue itself. Each report carries the order's cumulative state and its new fills; a fill is known by its
trade id, so a report delivered twice (a stream, then a sync) changes nothing the second time. A report of an order
no operation holds (placed by hand on the venue) is left to reconciliation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from robson.domain.errors import ConcurrentChange
from robson.domain.fills import Fill
from robson.domain.operation import Operation, OperationStatus
from robson.ports import OrderReport, UnitOfWork
from robson.services import orders
from robson.services.context import Context
from robson.services.trading import ensure_protected
from robson.services.working import Outcome

log = logging.getLogger("robson.fills")

ATTEMPTS = 3  # reads of one operation that another process keeps writing, for one batch of reports


def apply_reports(ctx: Context, reports: Sequence[OrderReport], *, lists: bool = False) -> list[Outcome]:
    """Apply each report to its operation, one unit of work per operation, in the order the reports came; an
    operation changed by another process meanwhile is read again and the reports applied again. Returns the
    outcome of every operation a report changed. `lists`: the reports say nothing of the other orders of their
    lists (an OCO's other leg, which the venue cancelled as this one filled): those are asked about too."""
    if not reports:
        return []
    with ctx.unit_of_work() as uow:
        owners = uow.operations.owners({report.client_order_id for report in reports})
    by_operation: dict[int, list[OrderReport]] = {}
    for report in reports:
        owner = owners.get(report.client_order_id)
        if owner is None:
            log.debug("order %s belongs to no operation: left to reconciliation", report.client_order_id)
            continue
        by_operation.setdefault(owner, []).append(report)
    outcomes = []
    for operation_id, own in by_operation.items():
        outcome = _apply_to(ctx, operation_id, own, lists)
        if outcome is not None and (outcome.changes or outcome.warnings):
            outcomes.append(outcome)
    return outcomes


def apply_fills(ctx: Context, fills: Sequence[Fill]) -> list[Outcome]:
    """Fills a venue returned (the paper venue's or the simulator's, as a price or a bar moved it): each order they
    touched is read once from the venue (its status, cumulative quantity and every fill) and applied."""
    touched = dict.fromkeys((fill.symbol, fill.client_order_id) for fill in fills)
    reports = [ctx.exchange.get_order(symbol, client_order_id) for symbol, client_order_id in touched]
    return apply_reports(ctx, reports, lists=True)


def _apply_to(ctx: Context, operation_id: int, reports: Sequence[OrderReport], lists: bool) -> Outcome | None:
    for _ in range(ATTEMPTS):
        try:
            with ctx.unit_of_work() as uow:
                op = uow.operations.get(operation_id)
                if op is None or op.status not in (OperationStatus.PLANNED, OperationStatus.ACTIVE):
                    return None
                return apply(ctx, uow, op, [*reports, *_rest_of_lists(ctx, op, reports)] if lists else reports)
        except ConcurrentChange:
            continue  # read afresh: the reports are cumulative, so applying them again is right
    log.warning("operation %s kept changing in another process: its order updates are left to sync", operation_id)
    return None


def _rest_of_lists(ctx: Context, op: Operation, reports: Sequence[OrderReport]) -> list[OrderReport]:
    """What the venue says of the operation's other working orders in the reports' lists."""
    lists = {report.list_id for report in reports if report.list_id is not None}
    reported = {report.client_order_id for report in reports}
    return [
        ctx.exchange.get_order(order.symbol, order.client_order_id)
        for order in op.open_orders()
        if order.list_id in lists and order.client_order_id not in reported
    ]


def apply(ctx: Context, uow: UnitOfWork, op: Operation, reports: Sequence[OrderReport]) -> Outcome:
    """Reports of this operation's orders applied in the unit of work, committed; then a position left without
    its stop (a target filled in part, an entry that filled more) is protected again."""
    outcome = Outcome(op)
    now = ctx.clock.now()
    for report in reports:
        outcome.changes += orders.apply_report(op, report, now)
    uow.commit()
    ensure_protected(ctx, uow, op, outcome)
    return outcome
