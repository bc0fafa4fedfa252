"""validate and execute, whichever the operation needs: its plan (PLANNED) or its planned tranche (ACTIVE)."""

from __future__ import annotations

from robson.domain.operation import Operation, OperationStatus
from robson.risk.checks import Decision
from robson.services import planning, trading, tranches
from robson.services.context import Context
from robson.services.working import Outcome


def _is_add(ctx: Context, operation_id: int) -> bool:
    op = planning.load(ctx, operation_id)
    return op.status is OperationStatus.ACTIVE and op.pending_add is not None


def validate(ctx: Context, operation_id: int) -> tuple[Operation, Decision]:
    if _is_add(ctx, operation_id):
        return tranches.validate_add(ctx, operation_id)
    return planning.validate(ctx, operation_id)


def execute(ctx: Context, operation_id: int) -> Outcome:
    """Execute, then mark to market: the fill moves the policy state (fees, a new position's risk)."""
    if _is_add(ctx, operation_id):
        outcome = tranches.execute_add(ctx, operation_id)
    else:
        outcome = trading.execute(ctx, operation_id)
    trading.enforce(ctx)
    return outcome
