"""The CLI as a trader uses it: the issue's worked examples, exit codes, one-line errors, --json keys."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from robson.cli.main import app
from tests.e2e.cli import failure, robson, robson_json, runner

SIZE = ["size", "--capital", "1000", "--entry", "90000", "--step", "0.00001"]


def test_size_worked_example(db: list[str]) -> None:
    view = robson_json(*SIZE, "--stop", "88200", "--fees", "none")
    assert isinstance(view, dict)
    assert view["quantity"] == "0.00555"
    assert view["position_value"] == "499.50"
    assert D(view["risk_amount"]) <= 10
    assert view["is_capped"] is False


def test_size_with_default_fees_short_and_cap(db: list[str]) -> None:
    with_fees = robson_json(*SIZE, "--stop", "88200")
    assert isinstance(with_fees, dict)
    q = D(with_fees["quantity"])
    assert q < D("0.00555")
    assert q * 1800 + q * 90000 * D("0.001") + q * 88200 * D("0.001") <= 10
    short = robson_json(*SIZE, "--stop", "91800", "--fees", "none")
    assert isinstance(short, dict) and short["quantity"] == "0.00555" and short["side"] == "short"
    capped = robson_json(*SIZE, "--stop", "89910", "--fees", "none")
    assert isinstance(capped, dict) and capped["is_capped"] is True and "50%" in capped["cap_reason"]
    assert D(capped["position_value"]) <= 500


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--stop", "nan"], "finite"),
        (["--stop", "-5"], "greater than zero"),
        (["--stop", "0"], "greater than zero"),
        (["--stop", "90000"], "differ"),
        (["--stop", "abc"], "not a number"),
        (["--stop", "88200", "--fees", "2"], "10%"),
        (["--stop", "88200", "--method", "magic"], "unknown sizing method"),
        (["--stop", "88200", "--side", "short"], "short stop must be above"),
    ],
)
def test_size_bad_input_is_one_line_and_exit_2(db: list[str], args: list[str], needle: str) -> None:
    assert needle in failure(*SIZE, *args, code=2)


def test_size_below_the_exchange_minimum_is_refused_with_exit_3(db: list[str]) -> None:
    line = failure(
        "size",
        "--capital",
        "10",
        "--entry",
        "90000",
        "--stop",
        "88200",
        "--step",
        "0.00001",
        "--min-notional",
        "5",
        code=3,
    )
    assert "minimum" in line


def test_adopt_worked_example(db: list[str]) -> None:
    robson(*db, "paper", "reset", "--balance", "USDT=10000", "--balance", "BTC=0.00033")
    robson(*db, "price", "BTC/USDT", "89000")
    view = robson_json(*db, "adopt", "BTC/USDT", "--qty", "0.00033", "--entry", "88837.92")
    assert isinstance(view, dict)
    assert (view["stop_price"], view["target_price"]) == ("87061.17", "92391.43")
    assert view["status"] == "ACTIVE" and view["protected"] is True
    assert view["warnings"] == []


def test_adopt_refuses_what_the_account_does_not_hold_or_cannot_carry(db: list[str]) -> None:
    """Issue 12: with 0 BTC held, adopt --qty 100 was ACTIVE (heat 1905%); adopt --side short rested an OCO."""
    robson(*db, "price", "BTC/USDT", "90000")
    line = failure(*db, "adopt", "BTC/USDT", "--qty", "100", "--entry", "90000", code=3)
    assert line == "error: refused: HELD: the account holds 0 BTC (0 free): not 100; adopt at most 0"
    line = failure(*db, "adopt", "BTC/USDT", "--qty", "0.001", "--entry", "90000", "--side", "short", code=3)
    assert line.startswith("error: refused: VENUE_SIDE: paper is a spot account")
    assert robson_json(*db, "operations") == []


def test_plan_validate_execute_price_show_portfolio_close(db: list[str]) -> None:
    robson(*db, "paper", "reset", "--balance", "USDT=10000")
    robson(*db, "price", "BTC/USDT", "90000")
    planned = robson_json(*db, "plan", "BTC/USDT", "--side", "long", "--entry", "90000", "--stop", "88200", "--rr", "2")
    assert isinstance(planned, dict)
    assert planned["id"] == 1 and planned["status"] == "PLANNED" and planned["target_price"] == "93600.00"
    assert D(planned["risk_amount"]) <= 100
    decision = robson_json(*db, "validate", "1")
    assert isinstance(decision, dict) and decision["approved"] is True
    executed = robson_json(*db, "execute", "1")
    assert isinstance(executed, dict) and executed["status"] == "ACTIVE" and executed["protected"] is True
    folio = robson_json(*db, "portfolio")
    assert isinstance(folio, dict) and folio["active_operations"] == 1
    moved = robson_json(*db, "price", "BTC/USDT", "93600")
    assert isinstance(moved, dict) and moved["operations"][0]["close_reason"] == "TAKE_PROFIT"
    shown = robson_json(*db, "show", "1")
    assert isinstance(shown, dict) and len(shown["tranches"]) == 1 and len(shown["trades"]) == 1
    listed = robson_json(*db, "operations", "--status", "closed")
    assert isinstance(listed, list) and [o["id"] for o in listed] == [1]
    trail = robson_json(*db, "audit", "1")
    assert isinstance(trail, list)
    assert [r["action"] for r in trail][:2] == ["OperationPlanned", "OperationValidated"]
    assert "OperationClosed" in [r["action"] for r in trail]


def test_refusals_exit_3_and_bad_ids_exit_2(db: list[str]) -> None:
    robson(*db, "price", "ETH/USDT", "3000")
    assert "VENUE_SIDE" in failure(*db, "plan", "ETH/USDT", "--side", "short", "--entry", "3000", code=3)
    robson(*db, "plan", "ETH/USDT", "--side", "long", "--entry", "3000")
    robson(*db, "pause", "--reason", "news at 14:00")
    result = runner.invoke(app, [*db, "validate", "1"])
    assert result.exit_code == 3 and "FAIL" in result.stdout and "TRADING_STATE" in result.stdout
    assert "TRADING_STATE" in failure(*db, "execute", "1", code=3)
    assert "unknown operation id 7" in failure(*db, "show", "7", code=2)
    assert "whole number" in failure(*db, "show", "x", code=2)
    assert "unknown symbol" in failure(*db, "plan", "DOGE/USDT", "--side", "long", "--entry", "1", code=2)
    assert "stop must be below" in failure(
        *db, "plan", "BTC/USDT", "--side", "long", "--entry", "90000", "--stop", "91000", code=2
    )
    assert "side must be" in failure(*db, "plan", "BTC/USDT", "--side", "up", "--entry", "90000", code=2)
    assert "reason is required" in failure(*db, "close", "1", "--reason", " ", code=2)
    listed = robson_json(*db, "operations")
    assert isinstance(listed, list) and len(listed) == 1  # nothing half-written by the failures


def test_malformed_configuration_is_one_line_exit_2(
    db: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "robson.toml"
    config.write_text("[risk.default]\nmax_risk_per_trade_percent = -1\n")
    monkeypatch.setenv("ROBSON_CONFIG", str(config))
    assert "configuration error" in failure(*db, "portfolio", code=2)
    config.write_text("[risk.default]\nbogus = 1\n")
    assert "bogus" in failure(*db, "portfolio", code=2)


def test_paper_reset_is_refused_while_operations_are_live(db: list[str]) -> None:
    robson(*db, "price", "BTC/USDT", "90000")
    robson(*db, "plan", "BTC/USDT", "--side", "long", "--entry", "90000")
    robson(*db, "execute", "1")
    assert "still live" in failure(*db, "paper", "reset", code=3)
    assert "ASSET=AMOUNT" in failure(*db, "paper", "reset", "--balance", "USDT", code=2)
    robson(*db, "paper", "reset", "--force")
    folio = robson_json(*db, "portfolio")
    assert isinstance(folio, dict) and folio["capital"] == "10000.00"
