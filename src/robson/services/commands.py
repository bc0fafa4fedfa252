"""validate and execute, whichever the operation needs: its plan (PLANNED) or its planned tranche (ACTIVE). Each
is one decision: the operation and the decision's snapshot are read once (`planning.decision_on`), and what decides
is handed them."""

from __future__ import annotations

from robson.domain.operation import Operation, OperationStatus
from robson.risk.checks import Decision
from robson.services import planning, trading, tranches
from robson.services.context import Context
from robson.services.working import Outcome


def _is_add(op: Operation) -> bool:
    return op.status is OperationStatus.ACTIVE and op.pending_add is not None


def validate(ctx: Context, operation_id: int) -> tuple[Operation, Decision]:
    with ctx.unit_of_work() as uow:
        snap, op = planning.decision_on(ctx, uow, operation_id)
        if _is_add(op):
            return op, tranches.validated_add(ctx, uow, snap, op)
        return op, planning.validated(ctx, uow, snap, op)


def execute(ctx: Context, operation_id: int) -> Outcome:
    """Execute, then mark to market: the fill moves the policy state (fees, a new position's risk). The mark is
    taken on the decision's snapshot moved by the execution's own fills: the account is not asked for again."""
    with ctx.unit_of_work() as uow:
        snap, op = planning.decision_on(ctx, uow, operation_id)
        before = {fill.trade_id for fill in op.fills}
        outcome = (tranches.executed_add if _is_add(op) else trading.executed)(ctx, uow, snap, op)
    trading.enforce(ctx, snap.after([fill for fill in op.fills if fill.trade_id not in before], ctx))
    return outcome
