"""What the benches share: percentiles, a feed with nothing to say, and risk limits that never halt a bench that
stops out on purpose, hundreds of times."""

from __future__ import annotations

from decimal import Decimal

from robson.risk.limits import RiskLimits


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class NoFeed:
    """The monitor's feed when the bench hands it every price itself (Monitor.on_tick)."""

    def poll(self) -> list[tuple[str, Decimal]]:
        return []


def relaxed_limits() -> RiskLimits:
    return RiskLimits().replace(
        max_concurrent_operations=10_000,
        max_trades_per_day=100_000,
        max_orders_per_minute=1_000_000,
        max_consecutive_losses=0,
        max_consecutive_rejections=1_000_000,
        max_daily_loss_percent=Decimal("100"),
        max_weekly_loss_percent=Decimal("100"),
        max_monthly_loss_percent=Decimal("100"),
        max_drawdown_percent=Decimal("100"),
    )
