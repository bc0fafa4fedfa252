"""The exit engine, scenario by scenario: a policy, a position and a run of bars; the actions each bar calls for.

Every position has R = 10 (entry 100, initial stop 90 for a long, 110 for a short), tick 0.01 and step 0.001 unless
the row says otherwise. The runner applies each action before the next bar (a MOVE_STOP replaces the stop, a
SCALE_OUT or EXIT reduces the quantity) and refuses a scenario whose position closes before its last bar.
Expected actions are (bar index, kind, reason, price, quantity); slippage is 0 unless the row lists it by the
action's position in the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from robson.domain.values import Side
from robson.exits import (
    HALF_AT_2R_REST_TRAILING,
    THIRDS,
    Action,
    ActionKind,
    ExitPolicy,
    ExitProgress,
    PositionView,
    ScaleOutStep,
    Trailing,
    on_bar,
)

D = Decimal
OPENED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MOVE, EXIT, SCALE = "MOVE_STOP", "EXIT", "SCALE_OUT"
SL, TP, TS, SO, TE = "STOP_LOSS", "TAKE_PROFIT", "TRAILING_STOP", "SCALE_OUT", "TIME_EXIT"

PLAIN = ExitPolicy()
TRAIL_R = ExitPolicy(trailing=Trailing(activate_r=D("1.5"), trail_r=D(1)))
TRAIL_PERCENT = ExitPolicy(trailing=Trailing(activate_percent=D(2), trail_percent=D(1)))
TRAIL_ATR = ExitPolicy(trailing=Trailing(activate_r=D(1), trail_atr=D(2)))
HALF_THEN_BREAK_EVEN = ExitPolicy(scale_out=(ScaleOutStep(D(1), D("0.5")),), break_even_after_first=True)
HALF_AT_1R_THEN_30_PERCENT_AT_2R = ExitPolicy(scale_out=(ScaleOutStep(D(1), D("0.5")), ScaleOutStep(D(2), D("0.3"))))
SIXTY_PERCENT_AT_1R = ExitPolicy(scale_out=(ScaleOutStep(D(1), D("0.6")),))
TIME_2H = ExitPolicy(time_exit_hours=D(2))


def position(
    side: Side,
    entry: str = "100",
    stop: str | None = None,
    target: str | None = None,
    quantity: str = "1",
    **extra: str,
) -> PositionView:
    if stop is None:
        stop = str(D(entry) - side.sign * 10)
    return PositionView(
        side=side,
        average_entry=D(entry),
        initial_stop=D(stop),
        stop=D(stop),
        target=D(target) if target is not None else None,
        quantity=D(quantity),
        original_quantity=D(quantity),
        opened_at=OPENED,
        tick=D("0.01"),
        step=D("0.001"),
        **{name: D(value) for name, value in extra.items()},
    )


def long(**kwargs: str) -> PositionView:
    return position(Side.LONG, **kwargs)


def short(**kwargs: str) -> PositionView:
    return position(Side.SHORT, **kwargs)


Bar = tuple[str, str, str, str]
Expected = tuple[int, str, str, str, str]


@dataclass(frozen=True)
class Scenario:
    rule: str
    policy: ExitPolicy
    position: PositionView
    bars: tuple[Bar, ...]
    expected: tuple[Expected, ...]
    slippage: dict[int, str] = field(default_factory=dict)  # action position in the run -> slippage
    bar_minutes: int = 60


SCENARIOS = [
    # ---- trailing ----------------------------------------------------------------------------------
    Scenario(
        "trailing ratchets up for a long and never loosens on a pullback",
        TRAIL_R,
        long(),
        (
            ("100", "116", "99", "115"),  # best 116 >= 1.5 R: stop to 106
            ("115", "120", "113", "118"),  # best 120: 110
            ("118", "119", "111", "112"),  # pullback: 109 would loosen it, nothing
            ("112", "124", "111", "123"),  # best 124: 114
            ("123", "123", "113", "114"),  # the trailing stop is hit
        ),
        ((0, MOVE, TS, "106", "1"), (1, MOVE, TS, "110", "1"), (3, MOVE, TS, "114", "1"), (4, EXIT, TS, "114", "1")),
    ),
    Scenario(
        "trailing ratchets down for a short and never loosens on a rally",
        TRAIL_R,
        short(),
        (
            ("100", "101", "84", "85"),
            ("85", "87", "80", "82"),
            ("82", "89", "81", "88"),
            ("88", "89", "76", "77"),
            ("77", "87", "76", "86"),
        ),
        ((0, MOVE, TS, "94", "1"), (1, MOVE, TS, "90", "1"), (3, MOVE, TS, "86", "1"), (4, EXIT, TS, "86", "1")),
    ),
    Scenario(
        "trailing waits for +1.5 R and starts on the bar that reaches it",
        TRAIL_R,
        long(),
        (("100", "114.99", "99", "114"), ("114", "114.5", "110", "111"), ("111", "115", "110", "114")),
        ((2, MOVE, TS, "105", "1"),),
    ),
    Scenario(
        "short trailing waits for -1.5 R",
        TRAIL_R,
        short(),
        (("100", "101", "85.01", "86"), ("86", "90", "85", "86")),
        ((1, MOVE, TS, "95", "1"),),
    ),
    Scenario(
        "percent trailing waits for +2% and rounds a long's stop down onto the tick",
        TRAIL_PERCENT,
        long(),
        (("100", "101.99", "99.5", "101"), ("101", "102.5", "100.5", "102")),  # 102.5 x 0.99 = 101.475
        ((1, MOVE, TS, "101.47", "1"),),
    ),
    Scenario(
        "percent trailing waits for -2% and rounds a short's stop up onto the tick",
        TRAIL_PERCENT,
        short(),
        (("100", "100.5", "98.01", "99"), ("99", "99.5", "97.5", "98")),  # 97.5 x 1.01 = 98.475
        ((1, MOVE, TS, "98.48", "1"),),
    ),
    Scenario(
        "ATR trailing keeps 2 ATR behind the best price",
        TRAIL_ATR,
        long(atr="3"),
        (("100", "110", "99", "109"), ("109", "112", "105", "111"), ("111", "111", "105", "106")),
        ((0, MOVE, TS, "104", "1"), (1, MOVE, TS, "106", "1"), (2, EXIT, TS, "106", "1")),
    ),
    Scenario(
        "a bar that gaps through the trailing stop fills at the open",
        TRAIL_R,
        long(),
        (("100", "116", "99", "115"), ("104", "105", "100", "101")),
        ((0, MOVE, TS, "106", "1"), (1, EXIT, TS, "104", "1")),
        slippage={1: "2"},
    ),
    # ---- scale-out ---------------------------------------------------------------------------------
    Scenario(
        "thirds at 1R, 2R, 3R on the step; the last takes the remainder",
        THIRDS,
        long(quantity="0.5"),  # 0.5 / 3 = 0.1666... -> 0.166 on the step
        (("100", "111", "99", "110"), ("110", "121", "109", "120"), ("120", "131", "119", "130")),
        ((0, SCALE, SO, "110", "0.166"), (1, SCALE, SO, "120", "0.166"), (2, SCALE, SO, "130", "0.168")),
    ),
    Scenario(
        "thirds reached in one bar, in order",
        THIRDS,
        long(),
        (("100", "131", "99", "130"),),
        ((0, SCALE, SO, "110", "0.333"), (0, SCALE, SO, "120", "0.333"), (0, SCALE, SO, "130", "0.334")),
    ),
    Scenario(
        "short thirds at -1R, -2R, -3R",
        THIRDS,
        short(),
        (("100", "101", "89", "90"), ("90", "91", "79", "80"), ("80", "81", "69", "70")),
        ((0, SCALE, SO, "90", "0.333"), (1, SCALE, SO, "80", "0.333"), (2, SCALE, SO, "70", "0.334")),
    ),
    Scenario(
        "a remainder below the minimum quantity is taken whole",
        HALF_AT_1R_THEN_30_PERCENT_AT_2R,
        long(min_quantity="0.25"),  # the second step would leave 0.2
        (("100", "111", "99", "110"), ("110", "121", "109", "120")),
        ((0, SCALE, SO, "110", "0.5"), (1, SCALE, SO, "120", "0.5")),
    ),
    Scenario(
        "a remainder below the minimum notional is taken whole",
        SIXTY_PERCENT_AT_1R,
        long(quantity="0.2", min_notional="10"),  # 0.12 off would leave 0.08 x 110 = 8.8 < 10
        (("100", "111", "99", "110"),),
        ((0, SCALE, SO, "110", "0.2"),),
    ),
    Scenario(
        "a remainder above the minimum notional stays open",
        SIXTY_PERCENT_AT_1R,
        long(quantity="0.25", min_notional="10"),  # 0.15 off leaves 0.1 x 110 = 11
        (("100", "111", "99", "110"),),
        ((0, SCALE, SO, "110", "0.15"),),
    ),
    Scenario(
        "a step too small for the venue is skipped",
        SIXTY_PERCENT_AT_1R,
        long(quantity="0.1", min_notional="100"),  # even the whole 0.1 x 110 = 11 is below 100
        (("100", "111", "99", "110"),),
        (),
    ),
    Scenario(
        "a scale-out level the bar opened past fills at the open, before the stop",
        THIRDS,
        long(),
        (("112", "113", "89", "95"),),
        ((0, SCALE, SO, "112", "0.333"), (0, EXIT, SL, "90", "0.667")),
    ),
    Scenario(
        "a scale-out level beyond the target never fills: the target comes first",
        THIRDS,
        long(target="115"),
        (("100", "131", "99", "130"),),
        ((0, SCALE, SO, "110", "0.333"), (0, EXIT, TP, "115", "0.667")),
    ),
    Scenario(
        "break-even after the first scale-out, in force from the next bar",
        HALF_THEN_BREAK_EVEN,
        long(),
        (("100", "111", "99", "110"), ("110", "112", "99", "101")),
        ((0, SCALE, SO, "110", "0.5"), (0, MOVE, SL, "100", "0.5"), (1, EXIT, SL, "100", "0.5")),
    ),
    Scenario(
        "short break-even rounds up onto the tick, the level toward the entry",
        HALF_THEN_BREAK_EVEN,
        short(entry="100.005"),  # R 10: 1 R at 90.005 -> 90.01; break-even 100.005 -> 100.01
        (("100", "100.5", "89", "90"), ("90", "100.01", "89", "95")),
        ((0, SCALE, SO, "90.01", "0.5"), (0, MOVE, SL, "100.01", "0.5"), (1, EXIT, SL, "100.01", "0.5")),
    ),
    Scenario(
        "no stop move is returned on a bar that closes the position",
        HALF_THEN_BREAK_EVEN,
        long(target="115"),
        (("100", "116", "99", "115"),),
        ((0, SCALE, SO, "110", "0.5"), (0, EXIT, TP, "115", "0.5")),
    ),
    Scenario(
        "half at 2R, the rest trailing",
        HALF_AT_2R_REST_TRAILING,
        long(),
        (("100", "121", "99", "120"), ("120", "125", "118", "124"), ("124", "124", "114", "115")),
        (
            (0, SCALE, SO, "120", "0.5"),
            (0, MOVE, TS, "111", "0.5"),
            (1, MOVE, TS, "115", "0.5"),
            (2, EXIT, TS, "115", "0.5"),
        ),
    ),
    # ---- time exit ---------------------------------------------------------------------------------
    Scenario(
        "time exit: moved less than 0.5% after 2 h",
        TIME_2H,
        long(),
        (("100", "100.5", "99.8", "100.2"), ("100.2", "100.6", "100", "100.4")),
        ((1, EXIT, TE, "100.4", "1"),),
    ),
    Scenario(
        "no time exit once the price moved 0.5% or more",
        TIME_2H,
        long(),
        (("100", "100.5", "99.8", "100.2"), ("100.2", "100.6", "100", "100.5"), ("100.5", "101", "100.4", "100.8")),
        (),
    ),
    Scenario(
        "no time exit before 2 h",
        TIME_2H,
        long(),
        (("100", "100.3", "99.9", "100.1"), ("100.1", "100.2", "99.9", "100"), ("100", "100.2", "99.9", "100.1")),
        (),
        bar_minutes=30,
    ),
    Scenario(
        "short time exit counts a small adverse move too",
        TIME_2H,
        short(),
        (("100", "100.5", "99.8", "100.2"), ("100.2", "100.6", "100", "100.3")),
        ((1, EXIT, TE, "100.3", "1"),),
    ),
    # ---- stop and target ---------------------------------------------------------------------------
    Scenario(
        "a gap through the stop fills at the open with the slippage reported",
        PLAIN,
        long(target="120"),
        (("100", "101", "95", "96"), ("85", "88", "84", "86")),
        ((1, EXIT, SL, "85", "1"),),
        slippage={0: "5"},
    ),
    Scenario(
        "a short's gap through the stop fills at the open",
        PLAIN,
        short(target="80"),
        (("100", "105", "99", "104"), ("114", "116", "112", "115")),
        ((1, EXIT, SL, "114", "1"),),
        slippage={0: "4"},
    ),
    Scenario(
        "the same bar touching stop and target resolves to the stop",
        PLAIN,
        long(target="120"),
        (("100", "125", "85", "100"),),
        ((0, EXIT, SL, "90", "1"),),
    ),
    Scenario(
        "a short's bar touching stop and target resolves to the stop",
        PLAIN,
        short(target="80"),
        (("100", "115", "75", "100"),),
        ((0, EXIT, SL, "110", "1"),),
    ),
    Scenario(
        "the stop bar does nothing else: no scale-out, no trailing",
        ExitPolicy(trailing=Trailing(activate_r=D(1), trail_r=D(1)), scale_out=THIRDS.scale_out),
        long(),
        (("100", "111", "89", "95"),),
        ((0, EXIT, SL, "90", "1"),),
    ),
    Scenario(
        "the target takes profit at the target",
        PLAIN,
        long(target="120"),
        (("100", "110", "99", "109"), ("109", "121", "108", "120")),
        ((1, EXIT, TP, "120", "1"),),
    ),
    Scenario(
        "a gap through the target fills at the open, no slippage",
        PLAIN,
        short(target="80"),
        (("100", "101", "95", "96"), ("77", "78", "75", "76")),
        ((1, EXIT, TP, "77", "1"),),
    ),
    Scenario(
        "a bar that opens past the target takes profit at the open even if it later reaches the stop",
        PLAIN,
        long(target="120"),
        (("123", "125", "85", "90"),),
        ((0, EXIT, TP, "123", "1"),),
    ),
]


def run(scenario: Scenario) -> list[tuple[int, Action]]:
    view, state = scenario.position, ExitProgress()
    happened: list[tuple[int, Action]] = []
    for index, (open_, high, low, close) in enumerate(scenario.bars):
        now = OPENED + (index + 1) * timedelta(minutes=scenario.bar_minutes)
        state, actions = on_bar(view, state, scenario.policy, D(open_), D(high), D(low), D(close), now)
        for action in actions:
            happened.append((index, action))
            if action.kind is ActionKind.MOVE_STOP:
                view = replace(view, stop=action.price)
                continue
            left = view.quantity - action.quantity
            if left == 0:
                assert index == len(scenario.bars) - 1, "the position closed before the scenario's last bar"
                assert action is actions[-1], "an action came after the one that closed the position"
                return happened
            view = replace(view, quantity=left)
    return happened


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.rule for s in SCENARIOS])
def test_scenario(scenario: Scenario) -> None:
    happened = run(scenario)
    got = [(index, a.kind, a.reason, a.price, a.quantity) for index, a in happened]
    want = [(index, kind, reason, D(price), D(quantity)) for index, kind, reason, price, quantity in scenario.expected]
    assert got == want
    expected_slippage = [D(scenario.slippage.get(position, "0")) for position in range(len(happened))]
    assert [a.slippage for _, a in happened] == expected_slippage
