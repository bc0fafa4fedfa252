"""Risk decisions agree with each other: validate runs every check execute will, on the same inputs (the market's
price now), and marks those that depend on the market at execution; adopt takes on only what the venue holds and
can carry."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from robson.bootstrap import App
from robson.clock import ManualClock
from robson.domain.operation import OperationStatus
from robson.domain.values import Side
from robson.risk.checks import CheckResult
from robson.services import commands, following, planning, tranches
from robson.services.errors import Refused


def _codes(details: tuple[object, ...]) -> set[str]:
    return {d.code for d in details if isinstance(d, CheckResult)}


def _plan_eth(app: App) -> int:
    following.push_price(app.context, app.market, "ETH/USDT", D(3000))
    planned = planning.plan(app.context, "ETH/USDT", Side.LONG, D(2900), D(2850), D(3300))
    assert planned.operation.id is not None
    return planned.operation.id


def test_validate_refuses_what_execute_refuses_and_marks_the_market_checks(app: App) -> None:
    """The issue's reproduction: with ETH at 3000, a plan entering at 2900 passed validate and was refused by
    execute (3.45% from the planned entry, limit 1%)."""
    operation_id = _plan_eth(app)

    _, decision = commands.validate(app.context, operation_id)
    assert not decision.approved
    failed = {c.code: c for c in decision.failures}
    assert set(failed) == {"ENTRY_DEVIATION"}
    assert failed["ENTRY_DEVIATION"].at_execution and failed["ENTRY_DEVIATION"].measured == "3.45%"
    marked = {c.code for c in decision.checks if c.at_execution}
    assert {"MARKET_LEVELS", "ENTRY_DEVIATION", "RISK_PER_TRADE", "RISK_REWARD", "FUNDS"} <= marked
    assert "TRADING_STATE" not in marked and "CONCURRENT_OPERATIONS" not in marked

    with pytest.raises(Refused, match=r"ENTRY_DEVIATION: ETH/USDT at 3000 is 3\.45% from the planned entry 2900") as no:
        commands.execute(app.context, operation_id)
    assert _codes(no.value.details) == set(failed)  # the same checks, the same verdict
    assert planning.load(app.context, operation_id).status is OperationStatus.PLANNED


def test_validate_judges_the_rules_at_the_market_price_as_execute_does(app: App) -> None:
    operation_id = _plan_eth(app)
    following.push_price(app.context, app.market, "ETH/USDT", D(2910))  # within 1% of the plan: both approve
    _, decision = commands.validate(app.context, operation_id)
    assert decision.approved
    reward = next(c for c in decision.checks if c.code == "RISK_REWARD")
    assert "2910" in next(c.reason for c in decision.checks if c.code == "MARKET_LEVELS")
    assert reward.at_execution
    assert commands.execute(app.context, operation_id).operation.status is OperationStatus.ACTIVE


def test_validate_says_when_there_is_no_price_or_the_market_is_through_a_level(app: App) -> None:
    operation_id = _plan_eth(app)
    following.push_price(app.context, app.market, "ETH/USDT", D(2840))  # through the stop
    _, decision = commands.validate(app.context, operation_id)
    assert {c.code for c in decision.failures} == {"MARKET_LEVELS", "ENTRY_DEVIATION"}
    with pytest.raises(Refused, match="already through the stop 2850") as no:
        commands.execute(app.context, operation_id)
    assert _codes(no.value.details) == {"MARKET_LEVELS", "ENTRY_DEVIATION"}


# ---- adopt -------------------------------------------------------------------------------------


def test_adopt_refuses_a_position_the_account_does_not_hold(app: App) -> None:
    following.push_price(app.context, app.market, "BTC/USDT", D(90000))
    with pytest.raises(Refused) as no:
        following.adopt(app.context, "BTC/USDT", D(100), D(90000))
    assert str(no.value) == "HELD: the account holds 0 BTC (0 free): not 100; adopt at most 0"
    assert _codes(no.value.details) == {"HELD"}
    assert planning.operations(app.context) == []
    assert app.context.exchange.open_orders() == []


def test_adopt_refuses_a_short_on_a_spot_venue(app: App) -> None:
    assert app.market is not None
    app.market.reset({"USDT": D(10000), "BTC": D("0.01")})
    following.push_price(app.context, app.market, "BTC/USDT", D(90000))
    with pytest.raises(Refused, match="VENUE_SIDE: paper is a spot account") as no:
        following.adopt(app.context, "BTC/USDT", D("0.01"), D(90000), side=Side.SHORT)
    assert _codes(no.value.details) == {"VENUE_SIDE"}
    assert planning.operations(app.context) == [] and app.context.exchange.open_orders() == []


def test_adopt_takes_only_what_no_other_operation_holds(app: App) -> None:
    assert app.market is not None
    app.market.reset({"USDT": D(10000), "BTC": D("0.01")})
    following.push_price(app.context, app.market, "BTC/USDT", D(90000))
    first = following.adopt(app.context, "BTC/USDT", D("0.006"), D(90000))
    assert first.operation.is_protected and not first.warnings
    with pytest.raises(Refused, match=r"0.006 of it held by operation\(s\) 1: not 0.005; adopt at most 0.004"):
        following.adopt(app.context, "BTC/USDT", D("0.005"), D(90000))
    second = following.adopt(app.context, "BTC/USDT", D("0.004"), D(90000))
    assert second.operation.is_protected and second.operation.status is OperationStatus.ACTIVE


def test_validate_of_a_planned_tranche_refuses_what_its_execute_refuses(app: App, clock: ManualClock) -> None:
    following.push_price(app.context, app.market, "BTC/USDT", D(90000))
    planned = planning.plan(app.context, "BTC/USDT", Side.LONG, D(90000), D(88200), reward_risk=D(2))
    assert planned.operation.id is not None
    operation_id = planned.operation.id
    commands.execute(app.context, operation_id)
    clock.advance(timedelta(minutes=15))
    following.push_price(app.context, app.market, "BTC/USDT", D(91000))
    assert tranches.plan_add(app.context, operation_id, D(91000), D("0.005")).decision.approved
    following.push_price(app.context, app.market, "BTC/USDT", D(92500))  # 1.65% above the planned add

    _, decision = commands.validate(app.context, operation_id)
    assert [(c.code, c.measured, c.at_execution) for c in decision.failures] == [("ENTRY_DEVIATION", "1.65%", True)]
    with pytest.raises(Refused, match=r"ENTRY_DEVIATION: BTC/USDT at 92500 is 1\.65% from the planned entry 91000"):
        commands.execute(app.context, operation_id)
    assert len(planning.load(app.context, operation_id).position.tranches) == 1
