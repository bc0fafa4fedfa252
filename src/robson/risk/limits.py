"""The risk configuration of one strategy: typed, validated, frozen. Stdlib only; the settings module
reads it from the configuration file and the environment."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal

from robson.domain.errors import InvalidValue
from robson.domain.values import HUNDRED, percent


@dataclass(frozen=True, slots=True)
class RiskLimits:
    max_risk_per_trade_percent: Decimal = Decimal("1")
    stop_loss_percent: Decimal = Decimal("2")
    take_profit_percent: Decimal = Decimal("4")
    max_position_size_percent: Decimal = Decimal("50")
    max_daily_loss_percent: Decimal = Decimal("5")
    max_drawdown_percent: Decimal = Decimal("10")
    max_concurrent_operations: int = 3

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "max_concurrent_operations":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise InvalidValue(f"max_concurrent_operations must be a whole number of at least 1, got {value}")
                continue
            if not isinstance(value, Decimal):
                raise InvalidValue(f"{item.name} must be a Decimal, got {type(value).__name__}")
            percent(value, item.name, maximum=HUNDRED)
        if self.max_risk_per_trade_percent > Decimal("10"):
            raise InvalidValue("max_risk_per_trade_percent above 10 is not a risk budget; refusing the configuration")
        if self.stop_loss_percent >= HUNDRED:
            raise InvalidValue("stop_loss_percent must be below 100")
