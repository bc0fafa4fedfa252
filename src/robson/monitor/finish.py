"""A command that sent an order sees it through on the wall clock (robson execute, robson close): the use case
returned as soon as the order was sent; this looks again every `look_seconds` (one sync of that operation, which
also ends what has passed its deadline) until nothing the operation has works against a deadline any more. It is
the same loop robson run is, for one operation, so a trader without robson run gets what the command promised."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from robson.domain.operation import CloseReason
from robson.services import deadlines, following, planning, trading
from robson.services.context import Context
from robson.services.trading import Flattened
from robson.services.working import Outcome

LOOK_SECONDS = 0.25
GRACE = timedelta(seconds=30)  # past its deadline, an order the venue will not end is left to robson run / sync


def finish(
    ctx: Context, outcome: Outcome, sleep: Callable[[float], None], look_seconds: float = LOOK_SECONDS
) -> Outcome:
    """Follow the outcome's operation until its working orders with a deadline have ended; the outcome returned
    carries the operation as it ends and every change and warning on the way."""
    operation_id = outcome.operation.id
    if operation_id is None:
        return outcome
    op = outcome.operation
    while not op.status.is_final:
        deadline = deadlines.next_deadline(op)
        if deadline is None:
            break
        if ctx.clock.now() > deadline + GRACE:
            outcome.warnings.append(f"operation {operation_id} still has working orders: robson run or sync follows")
            break
        sleep(look_seconds)
        for step in following.sync(ctx, [operation_id], enforce_policy=False):
            outcome.changes += step.changes
            outcome.warnings += step.warnings
        op = planning.load(ctx, operation_id)
    outcome.operation = op
    return outcome


def finish_flatten(ctx: Context, flattened: Flattened, note: str, sleep: Callable[[float], None]) -> Flattened:
    """The kill switch from a command: exits still working against a deadline are seen through, then whatever is
    still live is flattened once more (what robson run's enforcement would do) and listed if it is still undone."""
    working = [outcome for outcome in flattened.outcomes if deadlines.next_deadline(outcome.operation) is not None]
    if not working:
        return flattened
    for outcome in working:
        finish(ctx, outcome, sleep)
    again = trading.flatten_all(ctx, CloseReason.KILL_SWITCH, note)
    return trading.Flattened(flattened.outcomes, again.undone)
