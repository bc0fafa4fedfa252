"""The risk engine through the CLI: refusals exit 3 naming the rule, the circuit breaker's commands, and a halt
that outlives the process. Every invocation is a new process's view of the database; the clock is the system's,
so nothing here depends on time passing (cooldowns are tested inside the 15 minutes, never across them)."""

from __future__ import annotations

import json
from decimal import Decimal as D
from typing import Any

import pytest

from robson.cli.main import app
from tests.e2e.cli import failure, robson, robson_json, runner

LIMIT = "ROBSON_RISK__DEFAULT__"


@pytest.fixture
def market(db: list[str]) -> list[str]:
    for symbol, price in (("BTC/USDT", "90000"), ("ETH/USDT", "3000"), ("SOL/USDT", "150")):
        robson(*db, "price", symbol, price)
    return db


def refused(*args: str) -> str:
    """Refused by a rule: exit 3, one line naming it."""
    line = failure(*args, code=3)
    assert line.startswith("error: refused: ")
    return line


# A plan is sized at 1% of the equity when planned; once other entries have paid their fees, the same quantity is a
# hair over 1% of the smaller equity. validate says so (RISK_PER_TRADE); execute re-sizes to today's budget first.
DRIFT = "RISK_PER_TRADE"


def not_approved(db: list[str], operation_id: int) -> set[str]:
    """validate exits 3 and shows the failing checks; returns their codes."""
    table = runner.invoke(app, [*db, "validate", str(operation_id)])
    assert table.exit_code == 3, (table.stdout, table.stderr)
    assert "FAIL" in table.stdout and "refused" in table.stdout
    result = runner.invoke(app, [*db, "validate", str(operation_id), "--json"])
    assert result.exit_code == 3, (result.stdout, result.stderr)
    view = json.loads(result.stdout)
    assert view["approved"] is False
    failed = {c["code"] for c in view["checks"] if not c["passed"]}
    assert failed and all(code in table.stdout for code in failed)
    return failed


STOPS = {"BTC/USDT": ("90000", "85500"), "ETH/USDT": ("3000", "2850"), "SOL/USDT": ("150", "142.50")}


def plan(db: list[str], symbol: str, *extra: str) -> int:
    """A long at the symbol's pushed price, stop 5% below (three such fit the cash), target at 2R."""
    entry, stop = STOPS[symbol]
    view = robson_json(*db, "plan", symbol, "--side", "long", "--entry", entry, "--stop", stop, "--rr", "2", *extra)
    assert view["status"] == "PLANNED"
    return int(view["id"])


def plan_args(db: list[str], symbol: str) -> list[str]:
    entry, stop = STOPS[symbol]
    return [*db, "plan", symbol, "--side", "long", "--entry", entry, "--stop", stop, "--rr", "2"]


def execute(db: list[str], operation_id: int) -> dict[str, Any]:
    view = robson_json(*db, "execute", str(operation_id))
    assert view["status"] == "ACTIVE" and view["protected"] is True
    return dict(view)


def statuses(db: list[str]) -> list[tuple[int, str]]:
    return [(o["id"], o["status"]) for o in robson_json(*db, "operations")]


# ---- the rules, at plan and at validate ----------------------------------------------------------


def test_a_fourth_concurrent_operation_exits_3(market: list[str]) -> None:
    db = market
    ids = [plan(db, s) for s in ("BTC/USDT", "ETH/USDT", "SOL/USDT", "BTC/USDT")]  # nothing open yet: all pass
    for operation_id in ids[:3]:
        execute(db, operation_id)
    assert not_approved(db, ids[3]) - {DRIFT} == {"CONCURRENT_OPERATIONS"}
    assert "CONCURRENT_OPERATIONS" in refused(*db, "execute", str(ids[3]))
    assert "CONCURRENT_OPERATIONS" in refused(*plan_args(db, "ETH/USDT"))
    assert statuses(db) == [(1, "ACTIVE"), (2, "ACTIVE"), (3, "ACTIVE"), (4, "PLANNED")]
    assert len(robson_json(*db, "show", "4")["orders"]) == 0  # the refused execute sent nothing


def test_reward_to_risk_below_the_minimum_exits_3(market: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    db = market
    line = refused(
        *db, "plan", "BTC/USDT", "--side", "long", "--entry", "90000", "--stop", "88200", "--target", "92160"
    )
    assert "RISK_REWARD" in line and "0.96 net of fees and slippage" in line  # 1.20 before the costs
    assert statuses(db) == []
    monkeypatch.setenv(f"{LIMIT}MIN_RISK_REWARD_RATIO", "0.9")  # a looser strategy plans it...
    robson(*db, "plan", "BTC/USDT", "--side", "long", "--entry", "90000", "--stop", "88200", "--target", "92160")
    monkeypatch.delenv(f"{LIMIT}MIN_RISK_REWARD_RATIO")  # ...the default one refuses it at validate
    assert not_approved(db, 1) == {"RISK_REWARD"}


def test_a_target_that_does_not_clear_its_costs_exits_3(market: list[str]) -> None:
    """The issue's reproduction: a stop a cent away, so a 2:1 target two cents away; fees of about 180 per unit."""
    db = market
    line = refused(*db, "plan", "BTC/USDT", "--side", "long", "--entry", "90000", "--stop", "89999.99")
    assert line.startswith("error: refused: RISK_REWARD: the target 90000.02 does not clear its costs")
    assert "reward 0.02 per unit before fees and slippage, -215.99 after" in line
    assert statuses(db) == []


def test_validate_refuses_what_execute_would_and_marks_the_market_checks(market: list[str]) -> None:
    """Issue 12: with ETH at 3000, a plan entering at 2900 was approved by validate and refused by execute."""
    db = market
    robson(*db, "plan", "ETH/USDT", "--side", "long", "--entry", "2900", "--stop", "2850", "--target", "3300")
    view = json.loads(runner.invoke(app, [*db, "validate", "1", "--json"]).stdout)
    assert view["approved"] is False
    failed = [c for c in view["checks"] if not c["passed"]]
    assert [(c["code"], c["measured"], c["at_execution"]) for c in failed] == [("ENTRY_DEVIATION", "3.45%", True)]
    assert {c["code"] for c in view["checks"] if c["at_execution"]} >= {"MARKET_LEVELS", "RISK_PER_TRADE", "FUNDS"}
    table = runner.invoke(app, [*db, "validate", "1"])
    assert table.exit_code == 3 and "ENTRY_DEVIATION*" in table.stdout
    assert "* depends on the market" in table.stdout
    line = refused(*db, "execute", "1")
    assert line == (
        "error: refused: ENTRY_DEVIATION: ETH/USDT at 3000 is 3.45% from the planned entry 2900 (limit 1%); plan again"
    )
    assert statuses(db) == [(1, "PLANNED")]


def test_heat_over_the_limit_exits_3(market: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    db = market
    monkeypatch.setenv(f"{LIMIT}MAX_PORTFOLIO_HEAT_PERCENT", "2.5")
    btc, eth, sol = (plan(db, s) for s in ("BTC/USDT", "ETH/USDT", "SOL/USDT"))
    execute(db, btc)
    execute(db, eth)
    status = robson_json(*db, "risk", "status")
    assert status["heat_limit_percent"] == "2.5" and D("1.95") < D(status["heat_percent"]) < D("2.05")
    assert not_approved(db, sol) - {DRIFT} == {"PORTFOLIO_HEAT"}
    assert "PORTFOLIO_HEAT" in refused(*db, "execute", str(sol))
    assert "PORTFOLIO_HEAT" in refused(*plan_args(db, "SOL/USDT"))
    assert statuses(db) == [(1, "ACTIVE"), (2, "ACTIVE"), (3, "PLANNED")]


def test_one_trade_more_than_the_daily_limit_exits_3_but_closing_passes(
    market: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = market
    monkeypatch.setenv(f"{LIMIT}MAX_TRADES_PER_DAY", "2")
    first = plan(db, "BTC/USDT")
    execute(db, first)
    robson(*db, "close", str(first), "--reason", "round trip")
    second, third = plan(db, "BTC/USDT"), plan(db, "ETH/USDT")  # each would be the 2nd trade: both pass
    execute(db, second)
    assert robson_json(*db, "risk", "status")["trades_today"] == 2
    assert not_approved(db, third) - {DRIFT} == {"DAILY_TRADES"}
    assert "DAILY_TRADES" in refused(*db, "execute", str(third))
    assert "DAILY_TRADES" in refused(*plan_args(db, "SOL/USDT"))
    closed = robson_json(*db, "close", str(second), "--reason", "exits always pass")
    assert closed["status"] == "CLOSED" and closed["close_reason"] == "MANUAL"
    assert statuses(db) == [(1, "CLOSED"), (2, "CLOSED"), (3, "PLANNED")]


def test_a_fourth_tranche_exits_3(market: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    db = market
    monkeypatch.setenv(f"{LIMIT}TRANCHE_COOLDOWN_MINUTES", "0")
    execute(db, plan(db, "BTC/USDT"))
    add = [*db, "plan", "BTC/USDT", "--side", "long", "--entry", "90000", "--add-to", "1", "--quantity", "0.004"]
    stops = [D(robson_json(*db, "show", "1")["stop_price"])]
    for _ in range(2):
        assert robson_json(*add)["pending_add"]["quantity"] == "0.004"
        executed = execute(db, 1)
        stops.append(D(executed["stop_price"]))
    assert stops == sorted(stops) and len(set(stops)) == 3  # each tranche tightened the whole position's stop
    shown = robson_json(*db, "show", "1")
    assert len(shown["tranches"]) == 3
    line = refused(*add)
    assert "TRANCHES" in line and "tranche 4" in line
    assert "pending_add" not in robson_json(*db, "show", "1")


def test_a_second_tranche_inside_the_cooldown_exits_3(market: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    db = market
    execute(db, plan(db, "BTC/USDT"))
    add = [*db, "plan", "BTC/USDT", "--side", "long", "--entry", "90000", "--add-to", "1", "--quantity", "0.004"]
    line = refused(*add)  # right after the first: well inside the default 15 minutes
    assert "TRANCHE_COOLDOWN" in line and "at least 15 min" in line
    assert "pending_add" not in robson_json(*db, "show", "1")

    monkeypatch.setenv(f"{LIMIT}TRANCHE_COOLDOWN_MINUTES", "0")  # planned under a strategy without a cooldown...
    robson(*add)
    monkeypatch.delenv(f"{LIMIT}TRANCHE_COOLDOWN_MINUTES")  # ...the default one refuses it
    assert not_approved(db, 1) == {"TRANCHE_COOLDOWN"}
    assert "TRANCHE_COOLDOWN" in refused(*db, "execute", "1")
    assert len(robson_json(*db, "show", "1")["tranches"]) == 1


def test_nothing_new_while_paused_but_a_close_passes(market: list[str]) -> None:
    db = market
    execute(db, plan(db, "BTC/USDT"))
    held = plan(db, "ETH/USDT")
    paused = robson_json(*db, "pause", "--reason", "x")
    assert paused["state"] == "HALTED" and [h["code"] for h in paused["holds"]] == ["PAUSED"]
    assert "TRADING_STATE" in refused(*plan_args(db, "SOL/USDT"))
    assert not_approved(db, held) == {"TRADING_STATE"}
    assert "TRADING_STATE" in refused(*db, "execute", str(held))
    closed = robson_json(*db, "close", "1", "--reason", "exits still go through")
    assert closed["status"] == "CLOSED"
    assert robson_json(*db, "risk", "status")["state"] == "HALTED"
    assert statuses(db) == [(1, "CLOSED"), (2, "PLANNED")]


# ---- the circuit breaker's commands --------------------------------------------------------------


def test_risk_status_json_keys(market: list[str]) -> None:
    db = market
    fresh = robson_json(*db, "risk", "status")
    assert fresh["state"] == "ACTIVE" and fresh["holds"] == []
    assert (fresh["heat"], fresh["exposure"], fresh["trades_today"]) == ("0.00", "0.00", 0)
    execute(db, plan(db, "BTC/USDT"))
    status = robson_json(*db, "risk", "status")
    assert {"state", "tiers", "heat", "heat_percent", "exposure", "exposure_percent", "trades_today"} <= set(status)
    assert [t["code"] for t in status["tiers"]] == [
        "DAILY_LOSS",
        "DAILY_LOSS_AMOUNT",
        "WEEKLY_LOSS",
        "MONTHLY_LOSS",
        "DRAWDOWN",
        "LOSS_STREAK",
    ]
    for tier in status["tiers"]:
        assert {"measured", "limit", "tripped"} <= set(tier) and tier["tripped"] is False
    monthly = next(t for t in status["tiers"] if t["code"] == "MONTHLY_LOSS")
    assert monthly["limit"] == "4" and D(monthly["measured"]) < D("0.1")  # the entry's fees only
    assert status["trades_today"] == 1 and status["active_operations"] == 1
    assert D(90) < D(status["heat"]) < D(101) and D(1800) < D(status["exposure"]) < D(2000)


def test_resume_needs_an_override(market: list[str]) -> None:
    db = market
    robson(*db, "pause", "--reason", "lunch")
    missing = runner.invoke(app, [*db, "resume"])
    assert missing.exit_code == 2 and "--override" in missing.stderr  # a usage error
    assert "override reason" in failure(*db, "resume", "--override", " ", code=2)
    assert robson_json(*db, "risk", "status")["state"] == "HALTED"
    assert robson_json(*db, "resume", "--override", "back")["state"] == "ACTIVE"
    assert "already ACTIVE" in failure(*db, "resume", "--override", "again", code=2)


def test_kill_flattens_everything_and_halts(market: list[str]) -> None:
    db = market
    btc, eth = plan(db, "BTC/USDT"), plan(db, "ETH/USDT")
    execute(db, btc)
    execute(db, eth)
    sol = plan(db, "SOL/USDT")
    killed = robson_json(*db, "kill", "--reason", "test")
    assert killed["state"] == "HALTED"
    assert {(r["id"], r["status"], r["close_reason"]) for r in killed["operations"]} == {
        (btc, "CLOSED", "KILL_SWITCH"),
        (eth, "CLOSED", "KILL_SWITCH"),
        (sol, "CANCELLED", None),
    }
    listed = robson_json(*db, "operations")
    assert "ACTIVE" not in {o["status"] for o in listed} and all(not o["protected"] for o in listed)
    folio = robson_json(*db, "portfolio")
    assert folio["active_operations"] == 0
    status = robson_json(*db, "risk", "status")
    assert status["state"] == "HALTED" and [h["code"] for h in status["holds"]] == ["KILL_SWITCH"]
    assert status["heat"] == "0.00" and status["exposure"] == "0.00"
    assert "TRADING_STATE" in refused(*plan_args(db, "BTC/USDT"))
    robson(*db, "resume", "--override", "post-mortem done")
    plan(db, "BTC/USDT")


def test_a_monthly_halt_outlives_the_process_until_an_override(market: list[str]) -> None:
    db = market
    planned = robson_json(*db, "plan", "BTC/USDT", "--side", "long", "--entry", "90000")  # the default 2% stop
    execute(db, planned["id"])
    gap = robson_json(*db, "price", "BTC/USDT", "81000")  # the market gaps 10% through the stop
    assert gap["operations"][0]["close_reason"] == "STOP_LOSS"

    status = robson_json(*db, "risk", "status")
    monthly = next(t for t in status["tiers"] if t["code"] == "MONTHLY_LOSS")
    assert D(4) <= D(monthly["measured"]) < D(5) and monthly["tripped"] is True
    assert status["state"] == "HALTED" and [h["code"] for h in status["holds"]] == ["MONTHLY_LOSS"]
    assert status["holds"][0]["lifts"] == "on robson resume --override"
    trail = [r for r in robson_json(*db, "audit") if r["entity"] == "policy"]
    assert [r["after"].get("alert") for r in trail if r["action"] == "RiskAlerted"] == ["MONTHLY_LOSS_WARNING"] * 2

    for _ in range(2):  # every later process still sees it
        assert robson_json(*db, "risk", "status")["state"] == "HALTED"
        line = refused(*db, "plan", "BTC/USDT", "--side", "long", "--entry", "81000")
        assert "TRADING_STATE" in line and "MONTHLY_LOSS" in line
    assert "override reason" in failure(*db, "resume", "--override", " ", code=2)
    assert robson_json(*db, "risk", "status")["state"] == "HALTED"

    resumed = robson_json(*db, "resume", "--override", "reviewed")
    assert resumed["state"] == "ACTIVE" and resumed["holds"] == []
    assert robson_json(*db, "risk", "status")["state"] == "ACTIVE"
    robson(*db, "plan", "BTC/USDT", "--side", "long", "--entry", "81000")  # acknowledged for the month
    actions = [r["action"] for r in robson_json(*db, "audit") if r["entity"] == "policy"]
    assert actions.count("TradingResumed") == 1
