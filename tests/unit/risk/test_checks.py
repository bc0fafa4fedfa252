"""Pre-trade checks, table-driven: every limit at, just below and just above its edge; intents; the decision."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from robson.domain.instrument import Instrument
from robson.domain.values import Side
from robson.domain.venue import Capability
from robson.risk import breakers, checks, policy_state
from robson.risk.checks import Check, CheckResult, Decision, evaluate
from robson.risk.limits import PRESETS, RiskLimits, preset
from robson.risk.policy_state import Hold, PolicyState, TradingState
from robson.risk.proposal import Book, Intent, OpenExposure, PortfolioSnapshot, Proposal, TrancheContext
from robson.risk.sizing import Costs

NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
LIMITS = RiskLimits()
CONSERVATIVE = RiskLimits(**preset("conservative"))
SPOT = frozenset({Capability.SPOT})
MARGIN = frozenset({Capability.ISOLATED_MARGIN, Capability.SHORT})

BTC = Instrument("BTC/USDT", "BTC", "USDT", D("0.01"), D("0.00001"), D("0.00001"), D("5"))
ETH = Instrument("ETH/USDT", "ETH", "USDT", D("0.01"), D("0.0001"), D("0.0001"), D("5"))


# ---- factories ---------------------------------------------------------------------------------


def proposal(**changes: Any) -> Proposal:
    """A long of 1 BTC at 100 with the stop at 98 and the target at 104 on 1000 of equity: passes every check."""
    values: dict[str, Any] = {
        "instrument": BTC,
        "side": Side.LONG,
        "entry": D("100"),
        "quantity": D("1"),
        "stop": D("98"),
        "target": D("104"),
        "risk_amount": D("2"),
        "cost": D("100.1"),
    }
    return Proposal(**{**values, **changes})


def add(tranches: int = 1, since: timedelta = timedelta(hours=1), **changes: Any) -> Proposal:
    """A further tranche of an open BTC operation whose last entry was `since` ago."""
    values: dict[str, Any] = {
        "intent": Intent.ADD,
        "average_entry": D("100"),
        "position_quantity": D("2"),
        "risk_amount": D("4"),
        "added_risk": D("2"),
        "tranche": TrancheContext(tranches, NOW - since),
    }
    return proposal(**{**values, **changes})


def snapshot(**changes: Any) -> PortfolioSnapshot:
    values: dict[str, Any] = {"equity": D("1000"), "free_quote": D("1000"), "capabilities": MARGIN, "now": NOW}
    return PortfolioSnapshot(**{**values, **changes})


def policy(equity: str = "1000", **changes: Any) -> PolicyState:
    """A policy state where every period started at `equity` unless told otherwise."""
    return replace(policy_state.start(D(equity), NOW), **changes)


def held(state: TradingState, code: str = "PAUSED") -> PolicyState:
    return policy(holds=(Hold(code, state, f"{code.lower()} for the test", NOW),))


def limits(**changes: Any) -> RiskLimits:
    return LIMITS.replace(**changes)


def assert_human_reason(result: CheckResult) -> None:
    """The reason is a sentence a trader can read, and it shows the figure that was measured."""
    assert result.reason.strip()
    assert " " in result.reason.strip()
    if result.measured != "-":
        assert result.measured.lower() in result.reason.lower(), (result.measured, result.reason)


def codes(decision: Decision) -> list[str]:
    return [c.code for c in decision.checks]


# ---- every limit at, just below and just above its edge ---------------------------------------

# (check, proposal, snapshot, limits, code, passed, measured)
Row = tuple[Check, Proposal, PortfolioSnapshot, RiskLimits, str, bool, str]

ROWS = [
    # RISK_PER_TRADE: 1% of 1000 is 10
    pytest.param(checks.risk_per_trade, proposal(risk_amount=D("9.99")), snapshot(), LIMITS,
                 "RISK_PER_TRADE", True, "0.999%", id="risk_per_trade-below"),
    pytest.param(checks.risk_per_trade, proposal(risk_amount=D("10")), snapshot(), LIMITS,
                 "RISK_PER_TRADE", True, "1%", id="risk_per_trade-at"),
    pytest.param(checks.risk_per_trade, proposal(risk_amount=D("10.01")), snapshot(), LIMITS,
                 "RISK_PER_TRADE", False, "1.001%", id="risk_per_trade-above"),
    pytest.param(checks.risk_per_trade, proposal(risk_amount=D("5")), snapshot(risk_percent=D("0.5")), LIMITS,
                 "RISK_PER_TRADE", True, "0.5%", id="risk_per_trade-dynamic-at"),
    pytest.param(checks.risk_per_trade, proposal(risk_amount=D("5.01")), snapshot(risk_percent=D("0.5")), LIMITS,
                 "RISK_PER_TRADE", False, "0.501%", id="risk_per_trade-dynamic-above"),
    pytest.param(checks.risk_per_trade, add(risk_amount=D("10.01")), snapshot(), LIMITS,
                 "RISK_PER_TRADE", False, "1.001%", id="risk_per_trade-add-counts-every-tranche"),
    # POSITION_SIZE: 50% of 1000 is 500
    pytest.param(checks.position_size, proposal(quantity=D("4.999")), snapshot(), LIMITS,
                 "POSITION_SIZE", True, "49.99%", id="position_size-below"),
    pytest.param(checks.position_size, proposal(quantity=D("5")), snapshot(), LIMITS,
                 "POSITION_SIZE", True, "50%", id="position_size-at"),
    pytest.param(checks.position_size, proposal(quantity=D("5.001")), snapshot(), LIMITS,
                 "POSITION_SIZE", False, "50.01%", id="position_size-above"),
    pytest.param(checks.position_size, add(quantity=D("1"), position_quantity=D("5.001")), snapshot(), LIMITS,
                 "POSITION_SIZE", False, "50.01%", id="position_size-add-measures-the-whole-position"),
    # POSITION_SIZE in money: at most 200 USDT
    pytest.param(checks.position_size, proposal(quantity=D("1.9999")), snapshot(),
                 limits(max_position_size_usd=D("200")), "POSITION_SIZE", True, "19.999%", id="position_usd-below"),
    pytest.param(checks.position_size, proposal(quantity=D("2")), snapshot(),
                 limits(max_position_size_usd=D("200")), "POSITION_SIZE", True, "20%", id="position_usd-at"),
    pytest.param(checks.position_size, proposal(quantity=D("2.0001")), snapshot(),
                 limits(max_position_size_usd=D("200")), "POSITION_SIZE", False, "20.001%", id="position_usd-above"),
    # RISK_REWARD: at least 1.5 (risk 2 per unit)
    pytest.param(checks.reward_risk, proposal(target=D("102.98")), snapshot(), LIMITS,
                 "RISK_REWARD", False, "1.49", id="reward_risk-below"),
    pytest.param(checks.reward_risk, proposal(target=D("103")), snapshot(), LIMITS,
                 "RISK_REWARD", True, "1.50", id="reward_risk-at"),
    pytest.param(checks.reward_risk, proposal(target=D("103.02")), snapshot(), LIMITS,
                 "RISK_REWARD", True, "1.51", id="reward_risk-above"),
    pytest.param(checks.reward_risk, proposal(side=Side.SHORT, stop=D("102"), target=D("97.02")), snapshot(),
                 LIMITS, "RISK_REWARD", False, "1.49", id="reward_risk-short-below"),
    pytest.param(checks.reward_risk, proposal(side=Side.SHORT, stop=D("102"), target=D("97")), snapshot(),
                 LIMITS, "RISK_REWARD", True, "1.50", id="reward_risk-short-at"),
    pytest.param(checks.reward_risk, proposal(target=None), snapshot(), LIMITS,
                 "RISK_REWARD", True, "-", id="reward_risk-no-target"),
    # LEVERAGE: at most 3x
    pytest.param(checks.leverage, proposal(leverage=D("2.99")), snapshot(), LIMITS,
                 "LEVERAGE", True, "2.99x", id="leverage-below"),
    pytest.param(checks.leverage, proposal(leverage=D("3")), snapshot(), LIMITS,
                 "LEVERAGE", True, "3x", id="leverage-at"),
    pytest.param(checks.leverage, proposal(leverage=D("3.01")), snapshot(), LIMITS,
                 "LEVERAGE", False, "3.01x", id="leverage-above"),
    # SIGNAL_CONFIDENCE: at least 0.70
    pytest.param(checks.signal_confidence, proposal(confidence=D("0.69")), snapshot(), LIMITS,
                 "SIGNAL_CONFIDENCE", False, "0.69", id="confidence-below"),
    pytest.param(checks.signal_confidence, proposal(confidence=D("0.70")), snapshot(), LIMITS,
                 "SIGNAL_CONFIDENCE", True, "0.70", id="confidence-at"),
    pytest.param(checks.signal_confidence, proposal(confidence=D("0.71")), snapshot(), LIMITS,
                 "SIGNAL_CONFIDENCE", True, "0.71", id="confidence-above"),
    pytest.param(checks.signal_confidence, proposal(confidence=None), snapshot(), LIMITS,
                 "SIGNAL_CONFIDENCE", True, "-", id="confidence-placed-by-hand"),
    # CONCURRENT_OPERATIONS: at most 3 (this one would be the 3rd, the 4th, the 5th)
    pytest.param(checks.concurrent_operations, proposal(), snapshot(book=Book(count=2)), LIMITS,
                 "CONCURRENT_OPERATIONS", True, "2", id="concurrent-below"),
    pytest.param(checks.concurrent_operations, proposal(), snapshot(book=Book(count=3)), LIMITS,
                 "CONCURRENT_OPERATIONS", False, "3", id="concurrent-at"),
    pytest.param(checks.concurrent_operations, proposal(), snapshot(book=Book(count=4)), LIMITS,
                 "CONCURRENT_OPERATIONS", False, "4", id="concurrent-above"),
    # PORTFOLIO_HEAT: 6% of 1000 is 60; the proposal adds 2
    pytest.param(checks.portfolio_heat, proposal(), snapshot(book=Book(heat=D("57.99"))), LIMITS,
                 "PORTFOLIO_HEAT", True, "5.999%", id="heat-below"),
    pytest.param(checks.portfolio_heat, proposal(), snapshot(book=Book(heat=D("58"))), LIMITS,
                 "PORTFOLIO_HEAT", True, "6%", id="heat-at"),
    pytest.param(checks.portfolio_heat, proposal(), snapshot(book=Book(heat=D("58.01"))), LIMITS,
                 "PORTFOLIO_HEAT", False, "6.001%", id="heat-above"),
    pytest.param(checks.portfolio_heat, add(risk_amount=D("60"), added_risk=D("2")),
                 snapshot(book=Book(heat=D("58"))), LIMITS, "PORTFOLIO_HEAT", True, "6%",
                 id="heat-add-counts-only-the-added-risk"),
    # TOTAL_EXPOSURE: 100% of 1000; the order is worth 100
    pytest.param(checks.total_exposure, proposal(), snapshot(book=Book(exposure=D("899.99"))), LIMITS,
                 "TOTAL_EXPOSURE", True, "99.999%", id="total_exposure-below"),
    pytest.param(checks.total_exposure, proposal(), snapshot(book=Book(exposure=D("900"))), LIMITS,
                 "TOTAL_EXPOSURE", True, "100%", id="total_exposure-at"),
    pytest.param(checks.total_exposure, proposal(), snapshot(book=Book(exposure=D("900.01"))), LIMITS,
                 "TOTAL_EXPOSURE", False, "100.001%", id="total_exposure-above"),
    # ASSET_EXPOSURE: conservative, 20% of 1000 is 200 per asset
    pytest.param(checks.asset_exposure, proposal(), snapshot(book=Book(by_asset={"BTC": D("99.99")})), CONSERVATIVE,
                 "ASSET_EXPOSURE", True, "19.999%", id="asset_exposure-below"),
    pytest.param(checks.asset_exposure, proposal(), snapshot(book=Book(by_asset={"BTC": D("100")})), CONSERVATIVE,
                 "ASSET_EXPOSURE", True, "20%", id="asset_exposure-at"),
    pytest.param(checks.asset_exposure, proposal(), snapshot(book=Book(by_asset={"BTC": D("100.01")})), CONSERVATIVE,
                 "ASSET_EXPOSURE", False, "20.001%", id="asset_exposure-above"),
    pytest.param(checks.asset_exposure, proposal(), snapshot(book=Book(by_asset={"ETH": D("900")})), CONSERVATIVE,
                 "ASSET_EXPOSURE", True, "10%", id="asset_exposure-other-assets-do-not-count"),
    # CORRELATION: conservative, fewer than 2 correlated open positions
    pytest.param(checks.correlation, proposal(), snapshot(book=Book(by_symbol={"BTC/USDT": 1})), CONSERVATIVE,
                 "CORRELATION", True, "1", id="correlation-below"),
    pytest.param(checks.correlation, proposal(), snapshot(book=Book(by_symbol={"BTC/USDT": 2})), CONSERVATIVE,
                 "CORRELATION", False, "2", id="correlation-at"),
    pytest.param(checks.correlation, proposal(), snapshot(book=Book(by_symbol={"BTC/USDT": 3})), CONSERVATIVE,
                 "CORRELATION", False, "3", id="correlation-above"),
    pytest.param(checks.correlation, proposal(),
                 snapshot(book=Book(by_symbol={"ETH/USDT": 2}), correlations={"ETH/USDT": D("0.7")}), CONSERVATIVE,
                 "CORRELATION", True, "0", id="correlation-at-threshold-does-not-count"),
    pytest.param(checks.correlation, proposal(),
                 snapshot(book=Book(by_symbol={"ETH/USDT": 2}), correlations={"ETH/USDT": D("0.71")}), CONSERVATIVE,
                 "CORRELATION", False, "2", id="correlation-above-threshold-counts"),
    pytest.param(checks.correlation, proposal(), snapshot(book=Book(by_symbol={"BTC/USDT": 9})), LIMITS,
                 "CORRELATION", True, "-", id="correlation-off"),
    # GROUP_SHARE: conservative, 40% of the open positions per group (10 with this one: at most 4)
    pytest.param(checks.group_share, proposal(group="L1"), snapshot(book=Book(count=9, by_group={"L1": 2})),
                 CONSERVATIVE, "GROUP_SHARE", True, "30%", id="group_share-below"),
    pytest.param(checks.group_share, proposal(group="L1"), snapshot(book=Book(count=9, by_group={"L1": 3})),
                 CONSERVATIVE, "GROUP_SHARE", True, "40%", id="group_share-at"),
    pytest.param(checks.group_share, proposal(group="L1"), snapshot(book=Book(count=9, by_group={"L1": 4})),
                 CONSERVATIVE, "GROUP_SHARE", False, "50%", id="group_share-above"),
    pytest.param(checks.group_share, proposal(group="L1"), snapshot(), CONSERVATIVE,
                 "GROUP_SHARE", True, "100%", id="group_share-first-of-a-group-always-allowed"),
    pytest.param(checks.group_share, proposal(group=None), snapshot(book=Book(count=1, by_group={"L1": 1})),
                 CONSERVATIVE, "GROUP_SHARE", True, "-", id="group_share-no-group"),
    # DAILY_TRADES: at most 50 (this one would be the 49th, 50th, 51st)
    pytest.param(checks.daily_trades, proposal(), snapshot(trades_today=48), LIMITS,
                 "DAILY_TRADES", True, "49", id="daily_trades-below"),
    pytest.param(checks.daily_trades, proposal(), snapshot(trades_today=49), LIMITS,
                 "DAILY_TRADES", True, "50", id="daily_trades-at"),
    pytest.param(checks.daily_trades, proposal(), snapshot(trades_today=50), LIMITS,
                 "DAILY_TRADES", False, "51", id="daily_trades-above"),
    # TRANCHES: at most 3 (this one would be the 2nd, 3rd, 4th)
    pytest.param(checks.tranches, add(tranches=1), snapshot(), LIMITS,
                 "TRANCHES", True, "2", id="tranches-below"),
    pytest.param(checks.tranches, add(tranches=2), snapshot(), LIMITS,
                 "TRANCHES", True, "3", id="tranches-at"),
    pytest.param(checks.tranches, add(tranches=3), snapshot(), LIMITS,
                 "TRANCHES", False, "4", id="tranches-above"),
    # TRANCHE_SIZE: at least 10 USDT
    pytest.param(checks.tranches, add(quantity=D("0.0999")), snapshot(), LIMITS,
                 "TRANCHE_SIZE", False, "9.99", id="tranche_min-below"),
    pytest.param(checks.tranches, add(quantity=D("0.1")), snapshot(), LIMITS,
                 "TRANCHES", True, "2", id="tranche_min-at"),
    pytest.param(checks.tranches, add(quantity=D("0.1001")), snapshot(), LIMITS,
                 "TRANCHES", True, "2", id="tranche_min-above"),
    # TRANCHE_SIZE: at most 150 USDT when set
    pytest.param(checks.tranches, add(quantity=D("1.4999")), snapshot(), limits(max_tranche_usd=D("150")),
                 "TRANCHES", True, "2", id="tranche_max-below"),
    pytest.param(checks.tranches, add(quantity=D("1.5")), snapshot(), limits(max_tranche_usd=D("150")),
                 "TRANCHES", True, "2", id="tranche_max-at"),
    pytest.param(checks.tranches, add(quantity=D("1.5001")), snapshot(), limits(max_tranche_usd=D("150")),
                 "TRANCHE_SIZE", False, "150.01", id="tranche_max-above"),
    # TRANCHE_COOLDOWN: at least 15 minutes since the last entry
    pytest.param(checks.tranche_cooldown, add(since=timedelta(minutes=14, seconds=54)), snapshot(), LIMITS,
                 "TRANCHE_COOLDOWN", False, "14.9 min", id="cooldown-below"),
    pytest.param(checks.tranche_cooldown, add(since=timedelta(minutes=15)), snapshot(), LIMITS,
                 "TRANCHE_COOLDOWN", True, "15.0 min", id="cooldown-at"),
    pytest.param(checks.tranche_cooldown, add(since=timedelta(minutes=15, seconds=6)), snapshot(), LIMITS,
                 "TRANCHE_COOLDOWN", True, "15.1 min", id="cooldown-above"),
    pytest.param(checks.tranche_cooldown, add(since=timedelta(hours=2)), snapshot(now=None), LIMITS,
                 "TRANCHE_COOLDOWN", False, "0.0 min", id="cooldown-without-a-clock-refuses"),
    # FUNDS: the cost against 100 free
    pytest.param(checks.funds, proposal(cost=D("99.99")), snapshot(free_quote=D("100")), LIMITS,
                 "FUNDS", True, "99.99", id="funds-below"),
    pytest.param(checks.funds, proposal(cost=D("100")), snapshot(free_quote=D("100")), LIMITS,
                 "FUNDS", True, "100.00", id="funds-at"),
    pytest.param(checks.funds, proposal(cost=D("100.01")), snapshot(free_quote=D("100")), LIMITS,
                 "FUNDS", False, "100.01", id="funds-above"),
    # TRADING_STATE: only ACTIVE passes
    pytest.param(checks.trading_state, proposal(), snapshot(), LIMITS,
                 "TRADING_STATE", True, "ACTIVE", id="state-no-policy"),
    pytest.param(checks.trading_state, proposal(), snapshot(policy=policy()), LIMITS,
                 "TRADING_STATE", True, "ACTIVE", id="state-active"),
    pytest.param(checks.trading_state, proposal(), snapshot(policy=held(TradingState.REDUCING, "ORDER_RATE")),
                 LIMITS, "TRADING_STATE", False, "REDUCING", id="state-reducing"),
    pytest.param(checks.trading_state, proposal(), snapshot(policy=held(TradingState.HALTED)), LIMITS,
                 "TRADING_STATE", False, "HALTED", id="state-halted"),
    # LOSS_TIERS: daily 5% of the day's start
    pytest.param(checks.loss_tiers, proposal(), snapshot(policy=policy("950.1", day_start_equity=D("1000"))),
                 LIMITS, "LOSS_TIERS", True, "-", id="tier_daily-below"),
    pytest.param(checks.loss_tiers, proposal(), snapshot(policy=policy("950", day_start_equity=D("1000"))),
                 LIMITS, "DAILY_LOSS", False, "5", id="tier_daily-at"),
    pytest.param(checks.loss_tiers, proposal(), snapshot(policy=policy("949.9", day_start_equity=D("1000"))),
                 LIMITS, "DAILY_LOSS", False, "5.01", id="tier_daily-above"),
    # LOSS_TIERS: daily 30 USDT when set
    pytest.param(checks.loss_tiers, proposal(), snapshot(policy=policy("970.01", day_start_equity=D("1000"))),
                 limits(max_daily_loss_usd=D("30")), "LOSS_TIERS", True, "-", id="tier_daily_usd-below"),
    pytest.param(checks.loss_tiers, proposal(), snapshot(policy=policy("970", day_start_equity=D("1000"))),
                 limits(max_daily_loss_usd=D("30")), "DAILY_LOSS_AMOUNT", False, "30", id="tier_daily_usd-at"),
    pytest.param(checks.loss_tiers, proposal(), snapshot(policy=policy("969.99", day_start_equity=D("1000"))),
                 limits(max_daily_loss_usd=D("30")), "DAILY_LOSS_AMOUNT", False, "30.01", id="tier_daily_usd-above"),
    # LOSS_TIERS: weekly 10% of the week's start
    pytest.param(checks.loss_tiers, proposal(), snapshot(policy=policy("900.1", week_start_equity=D("1000"))),
                 LIMITS, "LOSS_TIERS", True, "-", id="tier_weekly-below"),
    pytest.param(checks.loss_tiers, proposal(), snapshot(policy=policy("900", week_start_equity=D("1000"))),
                 LIMITS, "WEEKLY_LOSS", False, "10", id="tier_weekly-at"),
    pytest.param(checks.loss_tiers, proposal(), snapshot(policy=policy("899.9", week_start_equity=D("1000"))),
                 LIMITS, "WEEKLY_LOSS", False, "10.01", id="tier_weekly-above"),
    # LOSS_TIERS: monthly 4% of the month's start
    pytest.param(checks.loss_tiers, proposal(), snapshot(policy=policy("960.1", month_start_equity=D("1000"))),
                 LIMITS, "LOSS_TIERS", True, "-", id="tier_monthly-below"),
    pytest.param(checks.loss_tiers, proposal(), snapshot(policy=policy("960", month_start_equity=D("1000"))),
                 LIMITS, "MONTHLY_LOSS", False, "4", id="tier_monthly-at"),
    pytest.param(checks.loss_tiers, proposal(), snapshot(policy=policy("959.9", month_start_equity=D("1000"))),
                 LIMITS, "MONTHLY_LOSS", False, "4.01", id="tier_monthly-above"),
    # LOSS_TIERS: drawdown 10% from the peak
    pytest.param(checks.loss_tiers, proposal(), snapshot(policy=policy("900.1", peak_equity=D("1000"))),
                 LIMITS, "LOSS_TIERS", True, "-", id="tier_drawdown-below"),
    pytest.param(checks.loss_tiers, proposal(), snapshot(policy=policy("900", peak_equity=D("1000"))),
                 LIMITS, "DRAWDOWN", False, "10", id="tier_drawdown-at"),
    pytest.param(checks.loss_tiers, proposal(), snapshot(policy=policy("899.9", peak_equity=D("1000"))),
                 LIMITS, "DRAWDOWN", False, "10.01", id="tier_drawdown-above"),
    # LOSS_TIERS: 3 losses in a row
    pytest.param(checks.loss_tiers, proposal(), snapshot(policy=policy(loss_streak=2)), LIMITS,
                 "LOSS_TIERS", True, "-", id="tier_streak-below"),
    pytest.param(checks.loss_tiers, proposal(), snapshot(policy=policy(loss_streak=3)), LIMITS,
                 "LOSS_STREAK", False, "3", id="tier_streak-at"),
    pytest.param(checks.loss_tiers, proposal(), snapshot(policy=policy(loss_streak=4)), LIMITS,
                 "LOSS_STREAK", False, "4", id="tier_streak-above"),
    pytest.param(checks.loss_tiers, proposal(), snapshot(policy=policy(loss_streak=4, streak_base=2)), LIMITS,
                 "LOSS_TIERS", True, "-", id="tier_streak-counts-since-the-last-resume"),
    pytest.param(checks.loss_tiers, proposal(), snapshot(policy=policy("970", month_start_equity=D("1000"))),
                 limits(max_monthly_loss_percent=D("3")), "MONTHLY_LOSS", False, "3",
                 id="tier-a-stricter-strategy-stops-first"),
    pytest.param(checks.loss_tiers, proposal(), snapshot(), LIMITS,
                 "LOSS_TIERS", True, "-", id="tier-no-policy-yet"),
    # the venue
    pytest.param(checks.venue_side, proposal(side=Side.SHORT), snapshot(capabilities=SPOT), LIMITS,
                 "VENUE_SIDE", False, "short", id="venue-spot-cannot-short"),
    pytest.param(checks.venue_side, proposal(side=Side.SHORT), snapshot(), LIMITS,
                 "VENUE_SIDE", True, "short", id="venue-margin-can-short"),
    pytest.param(checks.exchange_filters, proposal(quantity=D("0.04")), snapshot(), LIMITS,
                 "EXCHANGE_FILTERS", False, "0.04", id="filters-below-min-notional"),
    pytest.param(checks.exchange_filters, proposal(quantity=D("0.05")), snapshot(), LIMITS,
                 "EXCHANGE_FILTERS", True, "0.05", id="filters-at-min-notional"),
]  # fmt: skip


@pytest.mark.parametrize(("check", "p", "s", "lim", "code", "passed", "measured"), ROWS)
def test_check_at_its_limit(
    check: Check, p: Proposal, s: PortfolioSnapshot, lim: RiskLimits, code: str, passed: bool, measured: str
) -> None:
    result = check(p, s, lim)
    assert result.code == code
    assert result.passed is passed, result.reason
    assert result.measured == measured
    assert result.limit
    if check in (checks.exchange_filters, checks.venue_side):  # no limit to measure against: a yes or a no
        assert result.reason.strip()
    else:
        assert_human_reason(result)


ONE_PERCENT = Costs(fee_rate=D("0.01"))  # 1% a fill, no slippage: risk to 98 is 101 - 97.02 = 3.98 per unit


@pytest.mark.parametrize(
    ("target", "passed", "measured"),
    [
        pytest.param(D("104"), False, "0.49", id="2:1-gross-is-0.49-net"),  # 102.96 - 101 = 1.96
        pytest.param(D("108.06"), True, "1.50", id="1.5-net-passes"),  # 106.9794 - 101 = 5.9794
        pytest.param(D("108.05"), False, "1.49", id="a-tick-below"),  # 106.9695 - 101 = 5.9695
    ],
)
def test_reward_to_risk_is_measured_net_of_fees_and_slippage(target: D, passed: bool, measured: str) -> None:
    result = checks.reward_risk(proposal(target=target, costs=ONE_PERCENT), snapshot(), LIMITS)
    assert (result.code, result.passed, result.measured) == ("RISK_REWARD", passed, measured)
    assert "net of fees and slippage" in result.reason and "before them" in result.reason


@pytest.mark.parametrize("side", [Side.LONG, Side.SHORT])
def test_a_target_that_does_not_clear_its_costs_is_refused_whatever_the_ratio(side: Side) -> None:
    stop, target = (D("99.99"), D("100.02")) if side is Side.LONG else (D("100.01"), D("99.98"))
    result = checks.reward_risk(proposal(side=side, stop=stop, target=target, costs=ONE_PERCENT), snapshot(), LIMITS)
    assert not result.passed and result.code == "RISK_REWARD"
    assert result.reason.startswith(f"the target {target} does not clear its costs: reward 0.02 per unit before")
    assert checks.reward_risk(proposal(side=side, stop=stop, target=target), snapshot(), LIMITS).passed  # gross 2:1


def test_a_tranche_below_the_minimum_and_over_the_count_reports_the_count() -> None:
    result = checks.tranches(add(tranches=3, quantity=D("0.01")), snapshot(), LIMITS)
    assert (result.code, result.passed) == ("TRANCHES", False)


@pytest.mark.parametrize(
    ("trades_today", "warned"),
    [
        pytest.param(38, False, id="39th-of-50-below-80pct"),
        pytest.param(39, True, id="40th-of-50-at-80pct"),
        pytest.param(40, True, id="41st-of-50-above-80pct"),
        pytest.param(50, False, id="refused-not-warned"),
    ],
)
def test_daily_trades_warns_from_80_percent_of_the_limit(trades_today: int, warned: bool) -> None:
    result = checks.daily_trades(proposal(), snapshot(trades_today=trades_today), LIMITS)
    if warned:
        assert result.passed
        assert result.warning == f"{trades_today + 1} of 50 trades used today"
        decision = Decision((result,))
        assert decision.warnings == (f"DAILY_TRADES: {result.warning}",)
    else:
        assert result.warning == ""


def test_trading_state_names_each_hold_and_when_it_lifts() -> None:
    state = policy(
        holds=(
            Hold("PAUSED", TradingState.HALTED, "paused: news", NOW),
            Hold("DAILY_LOSS", TradingState.HALTED, "daily loss", NOW, datetime(2026, 11, 5, tzinfo=UTC)),
        )
    )
    result = checks.trading_state(proposal(), snapshot(policy=state), LIMITS)
    assert not result.passed
    assert "paused: news (lifts on robson resume --override)" in result.reason
    assert "daily loss (lifts at 2026-11-05 00:00 UTC)" in result.reason


def test_loss_tiers_lists_every_tripped_tier_and_reports_the_first() -> None:
    state = policy("940", day_start_equity=D("1000"), month_start_equity=D("1000"))
    result = checks.loss_tiers(proposal(), snapshot(policy=state), LIMITS)
    assert result.code == "DAILY_LOSS"
    assert result.reason.startswith("6% against a limit of 5%")  # the code leads the line once: "DAILY_LOSS: 6% ..."
    assert "MONTHLY_LOSS: 6%" in result.reason


def test_a_tier_acknowledged_by_resume_no_longer_blocks_for_its_period() -> None:
    tripped = breakers.mark(policy_state.start(D("1000"), NOW), LIMITS, policy_state.Readings(D("958")), NOW).state
    assert checks.loss_tiers(proposal(), snapshot(policy=tripped), LIMITS).code == "MONTHLY_LOSS"
    resumed = breakers.resume(tripped, LIMITS, "reviewed the month", NOW).state
    result = checks.loss_tiers(proposal(), snapshot(policy=resumed), LIMITS)
    assert result.passed, result.reason
    assert evaluate(proposal(), snapshot(policy=resumed), LIMITS).approved


# ---- intents -----------------------------------------------------------------------------------

COMMON = [
    "TRADING_STATE",
    "LOSS_TIERS",
    "RISK_PER_TRADE",
    "POSITION_SIZE",
    "RISK_REWARD",
    "LEVERAGE",
    "SIGNAL_CONFIDENCE",
    "PORTFOLIO_HEAT",
    "TOTAL_EXPOSURE",
    "ASSET_EXPOSURE",
    "DAILY_TRADES",
]
VENUE = ["EXCHANGE_FILTERS", "VENUE_SIDE", "FUNDS"]


def test_the_default_proposal_passes_every_check() -> None:
    decision = evaluate(proposal(), snapshot(), LIMITS)
    assert decision.approved, decision.summary()
    assert decision.summary() == "all checks passed"
    assert decision.failures == ()


def test_open_runs_the_portfolio_checks_and_no_tranche_checks() -> None:
    found = codes(evaluate(proposal(), snapshot(), LIMITS))
    assert sorted(found) == sorted([*COMMON, "CONCURRENT_OPERATIONS", "CORRELATION", "GROUP_SHARE", *VENUE])
    assert not {"TRANCHES", "TRANCHE_SIZE", "TRANCHE_COOLDOWN"} & set(found)
    assert len(found) == len(set(found))


def test_add_runs_the_tranche_checks_and_no_concurrency() -> None:
    found = codes(evaluate(add(), snapshot(), LIMITS))
    assert sorted(found) == sorted([*COMMON, "TRANCHES", "TRANCHE_COOLDOWN", *VENUE])
    assert "CONCURRENT_OPERATIONS" not in found
    assert "CORRELATION" not in found and "GROUP_SHARE" not in found


def test_add_is_not_refused_for_concurrency_but_open_is() -> None:
    full = snapshot(book=Book(count=3))
    assert evaluate(add(), full, LIMITS).approved
    opened = evaluate(proposal(), full, LIMITS)
    assert [c.code for c in opened.failures] == ["CONCURRENT_OPERATIONS"]


def test_add_is_refused_within_the_cooldown() -> None:
    recent = add(since=timedelta(minutes=5))
    assert [c.code for c in evaluate(recent, snapshot(), LIMITS).failures] == ["TRANCHE_COOLDOWN"]


def test_reduce_is_approved_when_halted_and_over_every_limit() -> None:
    halted = policy(
        "800", day_start_equity=D("1000"), loss_streak=9, holds=(Hold("KILL_SWITCH", TradingState.HALTED, "kill", NOW),)
    )
    worst = Book(count=99, heat=D("1e6"), exposure=D("1e6"), by_asset={"BTC": D("1e6")}, by_symbol={"BTC/USDT": 9})
    everything_wrong = proposal(
        intent=Intent.REDUCE,
        quantity=D("1000.000001"),
        risk_amount=D("1e6"),
        cost=D("1e9"),
        target=D("100.01"),
        leverage=D("100"),
        confidence=D("0"),
        side=Side.SHORT,
    )
    bad = snapshot(equity=D("1"), free_quote=D("0"), capabilities=SPOT, book=worst, trades_today=10_000, policy=halted)
    assert not evaluate(replace(everything_wrong, intent=Intent.OPEN), bad, CONSERVATIVE).approved
    decision = evaluate(everything_wrong, bad, CONSERVATIVE)
    assert decision.approved
    assert codes(decision) == ["REDUCE_ONLY"]
    assert decision.summary() == "all checks passed"


def test_halted_open_and_add_are_refused() -> None:
    state = held(TradingState.HALTED)
    for p in (proposal(), add()):
        decision = evaluate(p, snapshot(policy=state), LIMITS)
        assert [c.code for c in decision.failures] == ["TRADING_STATE"]


# ---- the decision and the book -----------------------------------------------------------------


def test_summary_lists_every_failure_with_its_reason() -> None:
    decision = evaluate(proposal(leverage=D("5"), cost=D("5000")), snapshot(trades_today=50), LIMITS)
    assert not decision.approved
    failed = [c.code for c in decision.failures]
    assert failed == ["LEVERAGE", "DAILY_TRADES", "FUNDS"]
    summary = decision.summary()
    assert summary.split("; ")[0] == "LEVERAGE: leverage 5x, at most 3x"
    for failure in decision.failures:
        assert f"{failure.code}: {failure.reason}" in summary
    assert "RISK_PER_TRADE" not in summary


def test_book_of_sums_the_open_operations() -> None:
    book = Book.of(
        [
            OpenExposure("BTC/USDT", "BTC", D("300.50"), D("6.25"), "L1"),
            OpenExposure("BTC/USDC", "BTC", D("100"), D("0"), None),
            OpenExposure("ETH/USDT", "ETH", D("200.25"), D("3.75"), "L1"),
            OpenExposure("BTC/USDT", "BTC", D("50"), D("1"), "L1"),
        ]
    )
    assert book.count == 4
    assert book.heat == D("11.00")
    assert book.exposure == D("650.75")
    assert dict(book.by_asset) == {"BTC": D("450.50"), "ETH": D("200.25")}
    assert dict(book.by_symbol) == {"BTC/USDT": 2, "BTC/USDC": 1, "ETH/USDT": 1}
    assert dict(book.by_group) == {"L1": 3}
    assert snapshot(book=book).active_operations == 4


def test_book_of_nothing_is_empty() -> None:
    book = Book.of([])
    assert (book.count, book.heat, book.exposure) == (0, D(0), D(0))
    assert not book.by_asset and not book.by_symbol and not book.by_group


def test_the_book_feeds_the_portfolio_checks() -> None:
    book = Book.of([OpenExposure("ETH/USDT", "ETH", D("901"), D("58.5"), "L1")])
    decision = evaluate(proposal(group="L1"), snapshot(book=book, correlations={"ETH/USDT": D("0.9")}), CONSERVATIVE)
    # heat 58.5 + 2, exposure 901 + 100, and both positions in L1 (2 of 2 against 40%)
    assert [c.code for c in decision.failures] == ["PORTFOLIO_HEAT", "TOTAL_EXPOSURE", "GROUP_SHARE"]
    measured = {c.code: c.measured for c in decision.checks}
    assert measured["PORTFOLIO_HEAT"] == "6.05%"
    assert measured["TOTAL_EXPOSURE"] == "100.1%"
    assert measured["GROUP_SHARE"] == "100%"
    assert measured["CORRELATION"] == "1"  # one correlated open position, fewer than 2


def test_proposal_values() -> None:
    p = add(quantity=D("0.5"), position_quantity=D("1.5"), average_entry=D("110"), added_risk=None)
    assert p.order_value == D("50.0")
    assert p.position_value == D("165.0")
    assert p.heat_added == p.risk_amount


def test_the_conservative_preset() -> None:
    assert PRESETS["conservative"] == {
        "max_single_asset_exposure_percent": D("20"),
        "max_correlated_positions": 2,
        "max_group_share_percent": D("40"),
        "max_position_size_percent": D("10"),
    }
    assert CONSERVATIVE.max_single_asset_exposure_percent == D("20")
    assert CONSERVATIVE.max_correlated_positions == 2
    assert CONSERVATIVE.max_group_share_percent == D("40")
    assert CONSERVATIVE.max_position_size_percent == D("10")
    assert CONSERVATIVE.max_risk_per_trade_percent == LIMITS.max_risk_per_trade_percent
    # 10% of 1000 is 100: the default proposal is exactly at it, one more unit is not
    assert checks.position_size(proposal(), snapshot(), CONSERVATIVE).passed
    assert not checks.position_size(proposal(quantity=D("1.00001")), snapshot(), CONSERVATIVE).passed


# ---- the market at execution ------------------------------------------------------------------

PLAN = checks.Plan("ETH/USDT", Side.LONG, D("2900"), D("2850"), D("3300"))


@pytest.mark.parametrize(
    ("reference", "failing"),
    [
        pytest.param(D("2900"), set(), id="at-the-plan"),
        pytest.param(D("2929"), set(), id="1%-away"),
        pytest.param(D("2929.01"), {"ENTRY_DEVIATION"}, id="just-over-1%"),
        pytest.param(D("3000"), {"ENTRY_DEVIATION"}, id="the-issue-3.45%"),
        pytest.param(D("2850"), {"MARKET_LEVELS", "ENTRY_DEVIATION"}, id="at-the-stop"),
        pytest.param(D("3300"), {"MARKET_LEVELS", "ENTRY_DEVIATION"}, id="at-the-target"),
        pytest.param(None, {"MARKET_PRICE"}, id="no-price"),
    ],
)
def test_the_market_is_held_against_the_plan(reference: D | None, failing: set[str]) -> None:
    results = checks.market(PLAN, reference, D("1"))
    assert {c.code for c in results if not c.passed} == failing
    assert all(c.at_execution for c in results)
    for result in results:
        assert_human_reason(result)


def test_at_execution_marks_the_checks_priced_at_the_market() -> None:
    marked = checks.at_execution(evaluate(proposal(), snapshot(), LIMITS))
    assert {c.code for c in marked.checks if c.at_execution} == checks.PRICED
    assert not any(c.at_execution for c in marked.checks if c.code in ("TRADING_STATE", "LEVERAGE", "VENUE_SIDE"))
