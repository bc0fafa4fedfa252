"""The risk configuration refuses what is not a limit: NaN, negatives, percents above 100, empty counts."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from decimal import Decimal as D
from typing import Any

import pytest

from robson.domain.errors import InvalidValue
from robson.risk.limits import PRESETS, TIERS, RiskLimits, preset

PERCENTS = [
    "max_position_size_percent",
    "max_portfolio_heat_percent",
    "max_total_exposure_percent",
    "max_single_asset_exposure_percent",
    "max_group_share_percent",
    "trades_warning_percent",
    "take_profit_percent",
    "max_daily_loss_percent",
    "max_weekly_loss_percent",
    "max_monthly_loss_percent",
    "max_drawdown_percent",
]
COUNTS = [
    "max_concurrent_operations",
    "max_trades_per_day",
    "max_tranches",
    "correlation_lookback",
    "max_correlated_positions",
    "max_orders_per_minute",
    "max_consecutive_rejections",
]


def test_the_defaults_are_valid() -> None:
    limits = RiskLimits()
    assert limits.max_risk_per_trade_percent == D("1")
    assert limits.max_monthly_loss_percent == D("4")
    assert limits.monthly_alert_percents == (D("2"), D("3"))
    assert limits.flatten_on == ()


@pytest.mark.parametrize("name", PERCENTS)
@pytest.mark.parametrize(
    "value",
    [
        pytest.param(D("NaN"), id="nan"),
        pytest.param(D("sNaN"), id="snan"),
        pytest.param(D("Infinity"), id="inf"),
        pytest.param(D("-0.01"), id="negative"),
        pytest.param(D("100.01"), id="above-100"),
    ],
)
def test_a_percent_must_be_a_number_from_0_to_100(name: str, value: D) -> None:
    with pytest.raises(InvalidValue, match=name):
        RiskLimits(**{name: value})


@pytest.mark.parametrize("name", PERCENTS)
def test_a_percent_of_100_is_accepted(name: str) -> None:
    assert getattr(RiskLimits(**{name: D("100")}), name) == D("100")


@pytest.mark.parametrize("value", [1.0, 1, "1"], ids=["float", "int", "str"])
def test_a_percent_must_be_a_decimal(value: Any) -> None:
    with pytest.raises(InvalidValue):
        RiskLimits(max_portfolio_heat_percent=value)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"max_risk_per_trade_percent": D("0")}, "greater than zero", id="risk-zero"),
        pytest.param({"max_risk_per_trade_percent": D("10.01")}, "above 10", id="risk-above-10"),
        pytest.param({"stop_loss_percent": D("0")}, "stop_loss_percent", id="stop-zero"),
        pytest.param({"stop_loss_percent": D("100")}, "stop_loss_percent", id="stop-100"),
        pytest.param({"max_leverage": D("0.99")}, "at least 1", id="leverage-below-1"),
        pytest.param({"max_leverage": D("NaN")}, "max_leverage", id="leverage-nan"),
        pytest.param({"correlation_threshold": D("1.01")}, "at most 1", id="correlation-above-1"),
        pytest.param({"min_signal_confidence": D("1.01")}, "at most 1", id="confidence-above-1"),
        pytest.param({"min_tranche_usd": D("-1")}, "min_tranche_usd", id="money-negative"),
        pytest.param({"max_daily_loss_usd": D("NaN")}, "max_daily_loss_usd", id="money-nan"),
        pytest.param({"monthly_alert_percents": (D("2"), D("101"))}, "at most 100", id="alert-above-100"),
        pytest.param({"monthly_alert_percents": (D("-2"),)}, "non-negative", id="alert-negative"),
        pytest.param({"monthly_alert_percents": [D("2")]}, "list of percentages", id="alert-not-a-tuple"),
        pytest.param({"dynamic_risk": 1}, "true or false", id="dynamic-not-a-bool"),
        pytest.param(
            {"dynamic_risk": True, "max_risk_per_trade_percent": D("2"), "max_risk_cap_percent": D("1.5")},
            "max_risk_cap_percent",
            id="cap-below-risk-with-dynamic-risk",
        ),
        pytest.param({"tranche_cooldown_minutes": -1}, "at least 0", id="cooldown-negative"),
        pytest.param({"max_consecutive_losses": True}, "whole number", id="count-bool"),
    ],
)
def test_values_that_are_no_limits_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        RiskLimits(**changes)


def test_edges_that_are_limits_are_accepted() -> None:
    limits = RiskLimits(
        max_risk_per_trade_percent=D("10"),
        stop_loss_percent=D("99.99"),
        max_leverage=D("1"),
        correlation_threshold=D("1"),
        min_signal_confidence=D("0"),
        max_consecutive_losses=0,  # off
        tranche_cooldown_minutes=0,
        max_risk_cap_percent=D("0.5"),  # below the risk, but dynamic risk is off
        max_position_size_usd=None,
        max_correlated_positions=None,
        max_group_share_percent=None,
    )
    assert limits.max_risk_per_trade_percent == D("10")


@pytest.mark.parametrize("name", COUNTS)
@pytest.mark.parametrize("value", [0, -1], ids=["zero", "negative"])
def test_a_count_below_one_is_refused(name: str, value: int) -> None:
    with pytest.raises(InvalidValue, match=f"{name} must be a whole number of at least 1"):
        RiskLimits(**{name: value})


@pytest.mark.parametrize("name", COUNTS)
def test_a_count_of_one_is_accepted(name: str) -> None:
    assert getattr(RiskLimits(**{name: 1}), name) == 1


@pytest.mark.parametrize(
    "flatten_on",
    [("DAILY",), ("MONTHLY_LOSS", "monthly_loss"), ("KILL_SWITCH",)],
    ids=["partial-name", "wrong-case", "not-a-tier"],
)
def test_unknown_flatten_tiers_are_refused(flatten_on: tuple[str, ...]) -> None:
    with pytest.raises(InvalidValue, match="unknown tiers"):
        RiskLimits(flatten_on=flatten_on)


def test_flatten_on_must_be_a_tuple_of_names() -> None:
    with pytest.raises(InvalidValue, match="list of tier names"):
        RiskLimits(flatten_on=["MONTHLY_LOSS"])  # type: ignore[arg-type]


def test_every_tier_can_flatten() -> None:
    assert RiskLimits(flatten_on=TIERS).flatten_on == TIERS


def test_an_unknown_preset_is_refused() -> None:
    with pytest.raises(InvalidValue, match="unknown risk preset 'nope'"):
        preset("nope")


def test_presets_are_copies_and_build_valid_limits() -> None:
    assert preset("robson") == {}
    got = preset("conservative")
    got["max_correlated_positions"] = 99
    assert PRESETS["conservative"]["max_correlated_positions"] == 2
    for name in PRESETS:
        RiskLimits(**preset(name))


def test_replace_returns_new_validated_limits() -> None:
    limits = RiskLimits()
    changed = limits.replace(max_leverage=D("5"), max_tranches=4)
    assert (changed.max_leverage, changed.max_tranches) == (D("5"), 4)
    assert (limits.max_leverage, limits.max_tranches) == (D("3"), 3)
    assert changed.max_daily_loss_percent == limits.max_daily_loss_percent
    assert limits.replace() == limits
    with pytest.raises(InvalidValue, match="max_tranches"):
        limits.replace(max_tranches=0)
    with pytest.raises(InvalidValue, match="unknown risk limits"):
        limits.replace(max_leveraeg=D("5"))


def test_limits_are_frozen() -> None:
    with pytest.raises(FrozenInstanceError):
        RiskLimits().max_leverage = D("10")  # type: ignore[misc]
