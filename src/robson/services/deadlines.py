"""Working orders whose time is up. The use cases never wait for an order: an entry or a close's limit that is
still working after its first answer carries a deadline. The loop asks on its own clock (robson run at every
pass, robson sync, a command that follows its own order, a backtest at every bar) and this does what follows: an
entry's unfilled rest is cancelled (the position and its protection are what filled; a plan that filled nothing
stays PLANNED), a working exit's rest goes at market."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from robson.domain.errors import ConcurrentChange
from robson.domain.operation import Operation, OperationStatus
from robson.domain.orders import Order, OrderRole
from robson.services.closing import finish_exit
from robson.services.context import Context
from robson.services.trading import end_entry
from robson.services.working import Outcome


def due(op: Operation, now: datetime) -> list[Order]:
    """The operation's working orders whose deadline has come."""
    return [order for order in op.open_orders() if order.deadline is not None and order.deadline <= now]


def next_deadline(op: Operation) -> datetime | None:
    """The earliest deadline among the operation's working orders, if any has one."""
    deadlines = [order.deadline for order in op.open_orders() if order.deadline is not None]
    return min(deadlines) if deadlines else None


def expire(ctx: Context, operation_ids: Collection[int] | None = None) -> list[Outcome]:
    """Every working order (of the operations given, or of all) whose deadline has come, ended as its role says.
    An operation another process writes meanwhile is left to the next pass."""
    now = ctx.clock.now()
    with ctx.unit_of_work() as uow:
        ids = [
            op.id
            for op in uow.operations.list((OperationStatus.PLANNED, OperationStatus.ACTIVE))
            if op.id is not None and (operation_ids is None or op.id in operation_ids) and due(op, now)
        ]
    outcomes = []
    for operation_id in ids:
        try:
            outcome = _expire(ctx, operation_id, now)
        except ConcurrentChange:
            continue  # read again at the next pass
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def _expire(ctx: Context, operation_id: int, now: datetime) -> Outcome | None:
    with ctx.unit_of_work() as uow:
        op = uow.operations.get(operation_id)
        if op is None or op.status.is_final:
            return None
        roles = {order.role for order in due(op, now)}
        if not roles:
            return None
        outcome = Outcome(op)
        if OrderRole.ENTRY in roles:
            end_entry(ctx, uow, op, outcome)
        if OrderRole.EXIT in roles:
            finish_exit(ctx, uow, op, outcome)
        return outcome
