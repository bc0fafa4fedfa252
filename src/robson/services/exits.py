"""The monitor's use cases: act on a level the price crossed, and observe what the venue did."""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal

from robson.domain.operation import CloseReason, OperationStatus
from robson.domain.orders import OrderRole
from robson.services import following
from robson.services.context import Context
from robson.services.trading import Outcome, exit_position


def trigger(ctx: Context, operation_id: int, kind: str, price: Decimal) -> Outcome | None:
    """An internally protected operation's stop (or target) was crossed: exit at market now, with the reason
    recorded before the order is sent so that a restart finishes the same exit, never a second one."""
    with ctx.unit_of_work() as uow:
        op = uow.operations.get(operation_id)
        if op is None or op.status is not OperationStatus.ACTIVE or op.position.is_flat:
            return None
        if op.open_orders(OrderRole.EXIT):
            return None  # an exit is already in flight: sync resolves it
        sign = op.side.sign
        if kind == "STOP" and (price - op.stop_price) * sign <= 0:
            reason = CloseReason.STOP_LOSS
        elif kind == "TARGET" and op.target_price is not None and (op.target_price - price) * sign <= 0:
            reason = CloseReason.TAKE_PROFIT
        else:
            return None  # the index was stale: the level moved
        op.start_exit(reason, ctx.clock.now(), price)
        outcome = Outcome(op)
        exit_position(ctx, uow, op, reason, outcome)
        return outcome


def observe(ctx: Context, operation_ids: Collection[int]) -> list[Outcome]:
    """An exchange-managed operation's level was crossed: the venue's own orders act; Robson only reads what
    they did (never cancels or duplicates them), and re-protects a position left without a live stop."""
    return following.sync(ctx, operation_ids, enforce_policy=False)
