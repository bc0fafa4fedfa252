"""The exit engine: given an open position, its exit progress and policy, and one bar (or tick), what to do.

Pure: no I/O, no clock (the bar's time is passed in). One bar is read without look-ahead, in this order:

0. The open. What the open itself crosses is known to come first and fills at the open (a gap): the stop (then
   nothing else happens), else the scale-out levels, else the target. This agrees with the paper venue
   (`robson.execution.matching`), where an OCO leg filled at the open wins over the stop.
1. The stop in force (`view.stop`, which may be a trailing stop set on an earlier bar): reached by the bar's
   adverse extreme -> EXIT the whole open quantity at the stop, reason TRAILING_STOP when the engine set that stop
   by trailing (`ExitProgress.trailing_stop == view.stop`), STOP_LOSS otherwise. Nothing else happens on that bar:
   when a bar touches both the stop and the target, the stop wins.
2. Scale-out levels (entry ± at_r R, on the tick toward the entry) reached by the favourable extreme, in order,
   except levels beyond the target (the target comes first). Then, if enabled, the stop moves to break-even
   (the average entry on the tick, rounded like every stop: down for a long, up for a short) after the first one.
3. The target reached -> EXIT the rest with TAKE_PROFIT.
4. The best price is updated with the favourable extreme; once the trailing is activated, the stop moves to best
   minus the trail distance, on the tick (down for a long, up for a short), only when that tightens it.
5. At the close: after `time_exit_hours` since `opened_at`, if the close is less than
   `time_exit_min_move_percent`% away from the entry -> EXIT the rest at the close with TIME_EXIT.

A MOVE_STOP takes effect from the next bar: the caller applies it to the view's `stop` (and, in EXCHANGE mode,
replaces the resting OCO). No MOVE_STOP is returned on a bar whose actions close the position. Fill prices are the
level crossed, or the open when the bar gapped through it; `slippage` is how much worse than the level per unit
(only a gapped stop has any). The engine's own trading costs are not modelled here: the venue applies them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from robson.domain.errors import InvalidValue
from robson.domain.operation import CloseReason
from robson.domain.protection import ExitProgress
from robson.domain.values import HUNDRED, ONE, ZERO, Side, ceil_to_step, floor_to_step, positive
from robson.exits.policy import ExitPolicy, Trailing
from robson.exits.state import Action, ActionKind, PositionView

__all__ = ["Action", "ActionKind", "ExitProgress", "PositionView", "on_bar", "on_tick"]

_HOUR = timedelta(hours=1)


def on_tick(
    view: PositionView, progress: ExitProgress, policy: ExitPolicy, price: Decimal, now: datetime
) -> tuple[ExitProgress, tuple[Action, ...]]:
    """One traded price: a bar whose four prices are that price."""
    return on_bar(view, progress, policy, price, price, price, price, now)


def on_bar(
    view: PositionView,
    progress: ExitProgress,
    policy: ExitPolicy,
    open_: Decimal,
    high: Decimal,
    low: Decimal,
    close: Decimal,
    now: datetime,
) -> tuple[ExitProgress, tuple[Action, ...]]:
    """The new exit progress and the actions this bar calls for, in the order they happen."""
    _check(view, progress, policy, open_, high, low, close)
    side = view.side
    favourable, adverse = (high, low) if side is Side.LONG else (low, high)
    actions: list[Action] = []
    # 0. the open
    if _against(open_, view.stop, side):
        return progress, (_stop_exit(view, progress, open_, view.quantity),)
    done, remaining = _scale_outs(view, policy, progress.scale_outs_done, view.quantity, open_, open_, actions)
    if remaining > 0 and view.target is not None and _beyond(open_, view.target, side):
        actions.append(Action(ActionKind.EXIT, CloseReason.TAKE_PROFIT, remaining, open_))
        return replace(progress, scale_outs_done=done), tuple(actions)
    # 1. the stop in force
    if remaining > 0 and _against(adverse, view.stop, side):
        actions.append(_stop_exit(view, progress, view.stop, remaining))
        return replace(progress, scale_outs_done=done), tuple(actions)
    # 2. scale-outs, then break-even
    done, remaining = _scale_outs(view, policy, done, remaining, favourable, open_, actions)
    if remaining == 0:
        return replace(progress, scale_outs_done=done), _closing(actions)
    stop, break_even_done = view.stop, progress.break_even_done
    if policy.break_even_after_first and not break_even_done and done >= 1:
        break_even_done = True
        candidate = _stop_on_tick(view.average_entry, side, view.tick)
        if _tightens(candidate, stop, side):
            actions.append(Action(ActionKind.MOVE_STOP, CloseReason.STOP_LOSS, remaining, candidate))
            stop = candidate
    # 3. the target
    if view.target is not None and _beyond(favourable, view.target, side):
        actions.append(Action(ActionKind.EXIT, CloseReason.TAKE_PROFIT, remaining, view.target))
        return replace(progress, scale_outs_done=done, break_even_done=break_even_done), _closing(actions)
    # 4. the best price and the trailing stop
    best = favourable if progress.best_price is None else _better(progress.best_price, favourable, side)
    trailing, active, trailing_stop = policy.trailing, progress.trailing_active, progress.trailing_stop
    if trailing is not None:
        active = active or _activated(trailing, view, best)
        trail = _trailing_stop(trailing, view, best) if active else None
        if trail is not None and _tightens(trail, stop, side):
            actions.append(Action(ActionKind.MOVE_STOP, CloseReason.TRAILING_STOP, remaining, trail))
            trailing_stop = trail
    new_progress = ExitProgress(best, active, done, break_even_done, trailing_stop)
    # 5. the time exit, at the close
    if _time_is_up(view, policy, close, now):
        actions.append(Action(ActionKind.EXIT, CloseReason.TIME_EXIT, remaining, close))
        return new_progress, _closing(actions)
    return new_progress, tuple(actions)


# ---- the rules ------------------------------------------------------------------------------


def _check(
    view: PositionView,
    progress: ExitProgress,
    policy: ExitPolicy,
    open_: Decimal,
    high: Decimal,
    low: Decimal,
    close: Decimal,
) -> None:
    for name, value in (("open", open_), ("high", high), ("low", low), ("close", close)):
        positive(value, f"bar {name}")
    if high < max(open_, close) or low > min(open_, close):
        raise InvalidValue(f"bar high {high} / low {low} do not enclose its open {open_} and close {close}")
    if progress.scale_outs_done > len(policy.scale_out):
        raise InvalidValue(f"{progress.scale_outs_done} scale-outs done, but the policy has {len(policy.scale_out)}")
    if policy.trailing is not None and policy.trailing.trail_atr is not None and view.atr is None:
        raise InvalidValue("the policy trails by ATR but the position view carries no ATR")


def _beyond(price: Decimal, level: Decimal, side: Side) -> bool:
    """The price is at or past the level in the position's favour."""
    return side.sign * (price - level) >= 0


def _against(price: Decimal, level: Decimal, side: Side) -> bool:
    """The price is at or past the level against the position."""
    return side.sign * (price - level) <= 0


def _better(first: Decimal, second: Decimal, side: Side) -> Decimal:
    return max(first, second) if side is Side.LONG else min(first, second)


def _tightens(candidate: Decimal, stop: Decimal, side: Side) -> bool:
    return side.sign * (candidate - stop) > 0


def _stop_on_tick(price: Decimal, side: Side, tick: Decimal) -> Decimal:
    """A stop never tighter than computed: down onto the tick for a long, up for a short."""
    return floor_to_step(price, tick) if side is Side.LONG else ceil_to_step(price, tick)


def _level(view: PositionView, at_r: Decimal) -> Decimal:
    """entry ± at_r R, on the tick toward the entry (a nearer level is the conservative one)."""
    raw = view.average_entry + view.side.sign * at_r * view.risk_per_unit
    return floor_to_step(raw, view.tick) if view.side is Side.LONG else ceil_to_step(raw, view.tick)


def _stop_exit(view: PositionView, progress: ExitProgress, price: Decimal, quantity: Decimal) -> Action:
    trailing = progress.trailing_stop is not None and progress.trailing_stop == view.stop
    reason = CloseReason.TRAILING_STOP if trailing else CloseReason.STOP_LOSS
    slippage = view.side.sign * (view.stop - price)
    return Action(ActionKind.EXIT, reason, quantity, price, slippage)


def _below_minimum(view: PositionView, quantity: Decimal, price: Decimal) -> bool:
    return quantity < view.min_quantity or quantity * price < view.min_notional


def _scale_outs(
    view: PositionView,
    policy: ExitPolicy,
    done: int,
    remaining: Decimal,
    reach: Decimal,
    open_: Decimal,
    actions: list[Action],
) -> tuple[int, Decimal]:
    """Take the steps from `done` on whose level `reach` attains; the count done and the quantity left."""
    steps, side = policy.scale_out, view.side
    cumulative = sum((step.fraction for step in steps[:done]), ZERO)
    while done < len(steps) and remaining > 0:
        step = steps[done]
        level = _level(view, step.at_r)
        if level <= 0 or not _beyond(reach, level, side):
            break
        if view.target is not None and side.sign * (level - view.target) > 0:
            break  # the target lies before this level: it closes the position first
        cumulative += step.fraction
        done += 1
        quantity = _scale_quantity(view, step.fraction, cumulative, remaining, level)
        if quantity is None:
            continue  # too small for the venue: the step is skipped
        actions.append(Action(ActionKind.SCALE_OUT, CloseReason.SCALE_OUT, quantity, _better(open_, level, side)))
        remaining -= quantity
    return done, remaining


def _scale_quantity(
    view: PositionView, fraction: Decimal, cumulative: Decimal, remaining: Decimal, level: Decimal
) -> Decimal | None:
    if cumulative >= ONE:
        quantity = remaining  # the last step of a plan that sells everything takes what is left
    else:
        quantity = min(floor_to_step(fraction * view.original_quantity, view.step), remaining)
    rest = remaining - quantity
    if rest > 0 and _below_minimum(view, rest, level):
        quantity = remaining  # a rest the venue could not sell is taken now
    if quantity <= 0 or _below_minimum(view, quantity, level):
        return None
    return quantity


def _activated(trailing: Trailing, view: PositionView, best: Decimal) -> bool:
    side, entry = view.side, view.average_entry
    if trailing.activate_r is not None:
        threshold = entry + side.sign * trailing.activate_r * view.risk_per_unit
    else:
        assert trailing.activate_percent is not None
        threshold = entry * (ONE + side.sign * trailing.activate_percent / HUNDRED)
    return _beyond(best, threshold, side)


def _trailing_stop(trailing: Trailing, view: PositionView, best: Decimal) -> Decimal | None:
    if trailing.trail_percent is not None:
        distance = best * trailing.trail_percent / HUNDRED
    elif trailing.trail_r is not None:
        distance = trailing.trail_r * view.risk_per_unit
    else:
        assert trailing.trail_atr is not None and view.atr is not None
        distance = trailing.trail_atr * view.atr
    candidate = _stop_on_tick(best - view.side.sign * distance, view.side, view.tick)
    return candidate if candidate > 0 else None


def _time_is_up(view: PositionView, policy: ExitPolicy, close: Decimal, now: datetime) -> bool:
    if policy.time_exit_hours is None:
        return False
    elapsed = now - view.opened_at
    hours = Decimal(elapsed // timedelta(microseconds=1)) / Decimal(_HOUR // timedelta(microseconds=1))
    if hours < policy.time_exit_hours:
        return False
    moved = abs(close - view.average_entry) / view.average_entry * HUNDRED
    return moved < policy.time_exit_min_move_percent


def _closing(actions: list[Action]) -> tuple[Action, ...]:
    """The actions of a bar that closes the position: a stop moved just before the close is moot."""
    return tuple(action for action in actions if action.kind is not ActionKind.MOVE_STOP)
