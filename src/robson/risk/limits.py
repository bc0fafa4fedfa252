"""The risk configuration of one strategy: typed, validated, frozen. Stdlib only; the settings module
reads it from the configuration file and the environment, and applies a named preset first when asked."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from robson.domain.errors import InvalidValue
from robson.domain.values import HUNDRED, ONE, ZERO

# The tiers of the policy state; each can be set to flatten every position rather than only block new ones.
TIERS = ("DAILY_LOSS", "WEEKLY_LOSS", "MONTHLY_LOSS", "DRAWDOWN", "LOSS_STREAK")

_FRACTIONS = ("correlation_threshold", "min_signal_confidence")  # between 0 and 1
_RATIOS = ("min_risk_reward_ratio", "max_leverage", "max_price_move_sigma")  # plain non-negative numbers
_MONEY = ("max_position_size_usd", "max_daily_loss_usd", "min_tranche_usd", "max_tranche_usd")
_COUNTS_AT_LEAST_ONE = (
    "max_concurrent_operations",
    "max_trades_per_day",
    "max_tranches",
    "correlation_lookback",
    "max_correlated_positions",  # 0 would refuse every new operation, correlated or not
    "max_orders_per_minute",  # 0 would reduce on every order
    "max_consecutive_rejections",  # 0 would halt on every order, even an accepted one
)


@dataclass(frozen=True, slots=True)
class RiskLimits:
    # ---- sizing and the plan's defaults ----------------------------------------------------
    max_risk_per_trade_percent: Decimal = Decimal("1")
    stop_loss_percent: Decimal = Decimal("2")
    take_profit_percent: Decimal = Decimal("4")
    max_position_size_percent: Decimal = Decimal("50")
    max_position_size_usd: Decimal | None = None
    min_risk_reward_ratio: Decimal = Decimal("1.5")
    max_leverage: Decimal = Decimal("3")
    # ---- the portfolio ----------------------------------------------------------------------
    max_concurrent_operations: int = 3
    max_portfolio_heat_percent: Decimal = Decimal("6")
    max_total_exposure_percent: Decimal = Decimal("100")
    max_single_asset_exposure_percent: Decimal = Decimal("100")
    max_correlated_positions: int | None = None  # off unless set (the conservative preset: 2)
    correlation_threshold: Decimal = Decimal("0.7")
    correlation_lookback: int = 50  # marks of recent returns the correlation is measured on
    max_group_share_percent: Decimal | None = None  # off unless set (the conservative preset: 40)
    # ---- activity ---------------------------------------------------------------------------
    max_trades_per_day: int = 50
    trades_warning_percent: Decimal = Decimal("80")
    min_signal_confidence: Decimal = Decimal("0.70")
    max_tranches: int = 3
    min_tranche_usd: Decimal = Decimal("10")
    max_tranche_usd: Decimal | None = None
    tranche_cooldown_minutes: int = 15
    # ---- the tiers of the policy state -----------------------------------------------------
    max_daily_loss_percent: Decimal = Decimal("5")
    max_daily_loss_usd: Decimal | None = None
    max_weekly_loss_percent: Decimal = Decimal("10")
    max_monthly_loss_percent: Decimal = Decimal("4")
    monthly_alert_percents: tuple[Decimal, ...] = (Decimal("2"), Decimal("3"))
    max_drawdown_percent: Decimal = Decimal("10")
    max_consecutive_losses: int = 3
    flatten_on: tuple[str, ...] = ()  # tiers (TIERS) that also close every position when they trip
    dynamic_risk: bool = False  # risk per trade from the recent win rate (last 20 trades)
    max_risk_cap_percent: Decimal = Decimal("1.5")  # the hard cap dynamic risk never exceeds
    # ---- unusual activity -------------------------------------------------------------------
    max_orders_per_minute: int = 30
    max_consecutive_rejections: int = 5
    max_price_move_sigma: Decimal = Decimal("6")

    def __post_init__(self) -> None:
        for item in fields(self):
            _validate(item.name, getattr(self, item.name))
        if self.max_risk_per_trade_percent <= 0:
            raise InvalidValue("max_risk_per_trade_percent must be greater than zero")
        if self.max_risk_per_trade_percent > Decimal("10"):
            raise InvalidValue("max_risk_per_trade_percent above 10 is not a risk budget; refusing the configuration")
        if self.stop_loss_percent <= 0 or self.stop_loss_percent >= HUNDRED:
            raise InvalidValue("stop_loss_percent must be above 0 and below 100")
        if self.max_leverage < ONE:
            raise InvalidValue("max_leverage must be at least 1")
        if self.max_risk_cap_percent < self.max_risk_per_trade_percent and self.dynamic_risk:
            raise InvalidValue("max_risk_cap_percent must be at least max_risk_per_trade_percent")
        unknown = set(self.flatten_on) - set(TIERS)
        if unknown:
            raise InvalidValue(f"flatten_on names unknown tiers {sorted(unknown)} (known: {', '.join(TIERS)})")

    def replace(self, **changes: Any) -> RiskLimits:
        values = {item.name: getattr(self, item.name) for item in fields(self)}
        unknown = set(changes) - set(values)
        if unknown:
            raise InvalidValue(f"unknown risk limits {sorted(unknown)}")
        return RiskLimits(**{**values, **changes})


def _validate(name: str, value: object) -> None:
    if value is None and (name in _MONEY or name in ("max_correlated_positions", "max_group_share_percent")):
        return
    if name in ("dynamic_risk",):
        if not isinstance(value, bool):
            raise InvalidValue(f"{name} must be true or false")
        return
    if name in ("flatten_on",):
        if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
            raise InvalidValue(f"{name} must be a list of tier names")
        return
    if name == "monthly_alert_percents":
        if not isinstance(value, tuple):
            raise InvalidValue(f"{name} must be a list of percentages")
        for item in value:
            _number(name, item, maximum=HUNDRED)
        return
    if isinstance(value, (bool, int)) and name not in _DECIMALS:  # an int where a Decimal belongs is refused below
        minimum = 1 if name in _COUNTS_AT_LEAST_ONE else 0
        if isinstance(value, bool) or value < minimum:
            raise InvalidValue(f"{name} must be a whole number of at least {minimum}, got {value}")
        return
    if name in _FRACTIONS:
        _number(name, value, maximum=ONE)
    elif name in _RATIOS or name in _MONEY:
        _number(name, value)
    else:
        _number(name, value, maximum=HUNDRED)


_DECIMALS = frozenset(item.name for item in fields(RiskLimits) if "Decimal" in str(item.type))


def _number(name: str, value: object, maximum: Decimal | None = None) -> None:
    if not isinstance(value, Decimal):
        raise InvalidValue(f"{name} must be a Decimal, got {type(value).__name__}")
    if not value.is_finite() or value < ZERO:
        raise InvalidValue(f"{name} must be a non-negative number, got {value}")
    if maximum is not None and value > maximum:
        raise InvalidValue(f"{name} must be at most {maximum}, got {value}")


# Named presets, applied before a strategy's own overrides. "robson" is the plan's defaults.
PRESETS: dict[str, dict[str, Any]] = {
    "robson": {},
    "conservative": {
        "max_single_asset_exposure_percent": Decimal("20"),
        "max_correlated_positions": 2,
        "max_group_share_percent": Decimal("40"),
        "max_position_size_percent": Decimal("10"),
    },
}


def preset(name: str) -> dict[str, Any]:
    if name not in PRESETS:
        raise InvalidValue(f"unknown risk preset {name!r} (known: {', '.join(sorted(PRESETS))})")
    return dict(PRESETS[name])
