"""Exit policies: what they accept and what they refuse."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from robson.domain.errors import InvalidValue
from robson.domain.protection import ProtectionMode
from robson.exits.policy import (
    HALF_AT_2R_REST_TRAILING,
    THIRDS,
    ExitPolicy,
    ScaleOutStep,
    Trailing,
)

D = Decimal


@pytest.mark.parametrize(
    "fields",
    [
        {"activate_r": D("1.5"), "trail_r": D(1)},
        {"activate_percent": D(2), "trail_percent": D("0.5")},
        {"activate_r": D(1), "trail_atr": D(3)},
    ],
)
def test_trailing_accepts_one_activation_and_one_distance(fields: dict[str, Decimal]) -> None:
    trailing = Trailing(**fields)
    assert all(getattr(trailing, name) == value for name, value in fields.items())


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"trail_r": D(1)}, "activation"),
        ({"activate_r": D(1), "activate_percent": D(2), "trail_r": D(1)}, "activation"),
        ({"activate_r": D(1)}, "distance"),
        ({"activate_r": D(1), "trail_r": D(1), "trail_atr": D(2)}, "distance"),
        ({"activate_r": D(0), "trail_r": D(1)}, "activate_r"),
        ({"activate_percent": D(-2), "trail_r": D(1)}, "activate_percent"),
        ({"activate_r": D(1), "trail_percent": D(100)}, "below 100"),
        ({"activate_r": D(1), "trail_r": D(-1)}, "trail_r"),
        ({"activate_r": D(1), "trail_atr": D(0)}, "trail_atr"),
        ({"activate_r": 1.5, "trail_r": D(1)}, "float"),
    ],
)
def test_trailing_refuses(fields: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidValue, match=fragment):
        Trailing(**fields)


@pytest.mark.parametrize(
    ("at_r", "fraction", "fragment"),
    [(D(0), D("0.5"), "at_r"), (D(1), D(0), "fraction"), (D(1), D("1.01"), "at most 1")],
)
def test_scale_out_step_refuses(at_r: Decimal, fraction: Decimal, fragment: str) -> None:
    with pytest.raises(InvalidValue, match=fragment):
        ScaleOutStep(at_r, fraction)


def test_a_whole_position_step_is_allowed() -> None:
    assert ScaleOutStep(D(1), D(1)).fraction == 1


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"scale_out": (ScaleOutStep(D(1), D("0.6")), ScaleOutStep(D(2), D("0.5")))}, "add up"),
        ({"scale_out": (ScaleOutStep(D(2), D("0.3")), ScaleOutStep(D(1), D("0.3")))}, "rise strictly"),
        ({"scale_out": (ScaleOutStep(D(1), D("0.3")), ScaleOutStep(D(1), D("0.3")))}, "rise strictly"),
        ({"scale_out": ((D(1), D("0.3")),)}, "ScaleOutStep"),
        ({"break_even_after_first": True}, "scale-out"),
        ({"time_exit_hours": D(0)}, "time_exit_hours"),
        ({"time_exit_min_move_percent": D(0)}, "time_exit_min_move_percent"),
        ({"mode": "somewhere"}, "exchange or internal"),
        ({"trailing": "1.5R"}, "Trailing"),
    ],
)
def test_exit_policy_refuses(fields: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidValue, match=fragment):
        ExitPolicy(**fields)


def test_exit_policy_defaults() -> None:
    policy = ExitPolicy()
    assert policy.mode is ProtectionMode.EXCHANGE
    assert (policy.trailing, policy.scale_out, policy.break_even_after_first) == (None, (), False)
    assert (policy.time_exit_hours, policy.time_exit_min_move_percent) == (None, D("0.5"))


def test_exit_policy_reads_the_mode_from_text_and_keeps_a_list_as_a_tuple() -> None:
    policy = ExitPolicy(mode="INTERNAL", scale_out=[ScaleOutStep(D(1), D("0.5"))])  # type: ignore[arg-type]
    assert policy.mode is ProtectionMode.INTERNAL
    assert policy.scale_out == (ScaleOutStep(D(1), D("0.5")),)


def test_fractions_may_add_up_to_exactly_one() -> None:
    policy = ExitPolicy(scale_out=(ScaleOutStep(D(1), D("0.5")), ScaleOutStep(D(2), D("0.5"))))
    assert sum(step.fraction for step in policy.scale_out) == 1


def test_thirds() -> None:
    assert [step.at_r for step in THIRDS.scale_out] == [1, 2, 3]
    assert sum(step.fraction for step in THIRDS.scale_out) == 1
    assert all(abs(step.fraction - D(1) / 3) < D("1e-20") for step in THIRDS.scale_out)


def test_half_at_2r_rest_trailing() -> None:
    assert HALF_AT_2R_REST_TRAILING.scale_out == (ScaleOutStep(D(2), D("0.5")),)
    assert HALF_AT_2R_REST_TRAILING.trailing == Trailing(activate_r=D(2), trail_r=D(1))
