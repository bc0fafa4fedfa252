"""The exit engine outside the scenario table: the state it carries, ticks, and the inputs it refuses."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from robson.domain.errors import InvalidValue
from robson.domain.operation import CloseReason
from robson.domain.values import Side
from robson.exits import (
    THIRDS,
    Action,
    ActionKind,
    ExitPolicy,
    ExitProgress,
    PositionView,
    ScaleOutStep,
    Trailing,
    on_bar,
    on_tick,
)

D = Decimal
OPENED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = OPENED + timedelta(hours=1)
TRAIL = ExitPolicy(trailing=Trailing(activate_r=D("1.5"), trail_r=D(1)))


def view(**changes: Any) -> PositionView:
    base = PositionView(
        side=Side.LONG,
        average_entry=D(100),
        initial_stop=D(90),
        stop=D(90),
        target=None,
        quantity=D(1),
        original_quantity=D(1),
        opened_at=OPENED,
        tick=D("0.01"),
        step=D("0.001"),
    )
    return replace(base, **changes)


def bar(
    position: PositionView, state: ExitProgress, policy: ExitPolicy, *prices: str
) -> tuple[ExitProgress, tuple[Action, ...]]:
    open_, high, low, close = (D(p) for p in prices)
    return on_bar(position, state, policy, open_, high, low, close, LATER)


def test_the_state_remembers_the_best_price_and_the_activation() -> None:
    state, _ = bar(view(), ExitProgress(), TRAIL, "100", "112", "99", "111")
    assert state == ExitProgress(best_price=D(112))
    state, actions = bar(view(), state, TRAIL, "111", "111", "105", "106")  # a lower high keeps the best
    assert (state.best_price, state.trailing_active, actions) == (D(112), False, ())
    state, actions = bar(view(), state, TRAIL, "106", "117", "105", "116")
    assert state == ExitProgress(best_price=D(117), trailing_active=True, trailing_stop=D(107))
    assert actions == (Action(ActionKind.MOVE_STOP, CloseReason.TRAILING_STOP, D(1), D(107)),)


def test_trailing_stays_active_after_the_price_falls_back() -> None:
    state = ExitProgress(best_price=D(116), trailing_active=True, trailing_stop=D(106))
    moved = view(stop=D(106))
    state, actions = bar(moved, state, TRAIL, "110", "117", "107", "108")
    assert state.trailing_active
    assert actions == (Action(ActionKind.MOVE_STOP, CloseReason.TRAILING_STOP, D(1), D(107)),)


def test_a_stop_the_engine_did_not_set_by_trailing_exits_as_stop_loss() -> None:
    state = ExitProgress(best_price=D(116), trailing_active=True, trailing_stop=D(106))
    manual = view(stop=D(104))  # someone moved the stop by hand after the trailing one
    _, actions = bar(manual, state, TRAIL, "105", "105", "103", "104")
    assert actions == (Action(ActionKind.EXIT, CloseReason.STOP_LOSS, D(1), D(104)),)


def test_scale_out_count_and_break_even_are_remembered() -> None:
    policy = ExitPolicy(scale_out=THIRDS.scale_out, break_even_after_first=True)
    state, actions = bar(view(), ExitProgress(), policy, "100", "111", "99", "110")
    assert (state.scale_outs_done, state.break_even_done) == (1, True)
    assert [a.kind for a in actions] == [ActionKind.SCALE_OUT, ActionKind.MOVE_STOP]
    after = view(quantity=D("0.667"), stop=D(100))
    state, actions = bar(after, state, policy, "110", "115", "109", "112")  # nothing new: 1 R is done
    assert (state.scale_outs_done, actions) == (1, ())


def test_break_even_never_loosens_a_tighter_stop() -> None:
    policy = ExitPolicy(scale_out=(ScaleOutStep(D(1), D("0.5")),), break_even_after_first=True)
    state, actions = bar(view(stop=D(103)), ExitProgress(), policy, "104", "111", "104", "110")
    assert [a.kind for a in actions] == [ActionKind.SCALE_OUT]
    assert state.break_even_done


def test_a_tick_below_the_stop_exits_at_the_tick_with_its_slippage() -> None:
    _, actions = on_tick(view(), ExitProgress(), ExitPolicy(), D("89.5"), LATER)
    assert actions == (Action(ActionKind.EXIT, CloseReason.STOP_LOSS, D(1), D("89.5"), D("0.5")),)


def test_a_tick_is_a_bar_of_one_price() -> None:
    state = ExitProgress()
    for price in ("105", "116", "118"):
        by_tick = on_tick(view(), state, TRAIL, D(price), LATER)
        by_bar = on_bar(view(), state, TRAIL, D(price), D(price), D(price), D(price), LATER)
        assert by_tick == by_bar
        state = by_tick[0]
    assert state.trailing_stop == D(108)


def test_the_time_exit_counts_from_opened_at() -> None:
    policy = ExitPolicy(time_exit_hours=D("1.5"))
    early = on_bar(view(), ExitProgress(), policy, D(100), D(100), D(100), D(100), OPENED + timedelta(minutes=89))
    due = on_bar(view(), ExitProgress(), policy, D(100), D(100), D(100), D(100), OPENED + timedelta(minutes=90))
    assert early[1] == ()
    assert due[1] == (Action(ActionKind.EXIT, CloseReason.TIME_EXIT, D(1), D(100)),)


@pytest.mark.parametrize(
    ("prices", "fragment"),
    [
        (("100", "99", "98", "100"), "do not enclose"),
        (("100", "101", "100.5", "100"), "do not enclose"),
        (("0", "101", "0", "100"), "greater than zero"),
    ],
)
def test_a_malformed_bar_is_refused(prices: tuple[str, ...], fragment: str) -> None:
    with pytest.raises(InvalidValue, match=fragment):
        bar(view(), ExitProgress(), ExitPolicy(), *prices)


def test_a_float_price_is_refused() -> None:
    with pytest.raises(InvalidValue):
        on_tick(view(), ExitProgress(), ExitPolicy(), 100.0, LATER)  # type: ignore[arg-type]


def test_atr_trailing_needs_an_atr() -> None:
    policy = ExitPolicy(trailing=Trailing(activate_r=D(1), trail_atr=D(2)))
    with pytest.raises(InvalidValue, match="ATR"):
        bar(view(), ExitProgress(), policy, "100", "101", "99", "100")
    assert bar(view(atr=D(3)), ExitProgress(), policy, "100", "101", "99", "100")[1] == ()


def test_more_scale_outs_done_than_the_policy_has_is_refused() -> None:
    with pytest.raises(InvalidValue, match="scale-outs"):
        bar(view(), ExitProgress(scale_outs_done=4), THIRDS, "100", "101", "99", "100")


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"initial_stop": D(110)}, "losing side"),
        ({"side": Side.SHORT}, "losing side"),
        ({"quantity": D(2)}, "exceed"),
        ({"quantity": D(0)}, "greater than zero"),
        ({"atr": D(0)}, "atr"),
        ({"target": D(-1)}, "target"),
        ({"min_notional": D(-1)}, "min_notional"),
        ({"side": "long"}, "Side"),
        ({"opened_at": "2026-03-02"}, "datetime"),
    ],
)
def test_the_position_view_refuses_bad_values(changes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidValue, match=fragment):
        view(**changes)


def test_risk_per_unit_is_the_distance_to_the_initial_stop() -> None:
    assert view(stop=D(105)).risk_per_unit == D(10)
    assert view(side=Side.SHORT, initial_stop=D("112.5"), stop=D("112.5")).risk_per_unit == D("12.5")


def test_actions_and_states_refuse_bad_values() -> None:
    with pytest.raises(InvalidValue):
        Action(ActionKind.EXIT, CloseReason.STOP_LOSS, D(0), D(90))
    with pytest.raises(InvalidValue):
        Action(ActionKind.EXIT, CloseReason.STOP_LOSS, D(1), D(90), D(-1))
    with pytest.raises(InvalidValue):
        ExitProgress(scale_outs_done=-1)
    with pytest.raises(InvalidValue):
        ExitProgress(best_price=D(0))
