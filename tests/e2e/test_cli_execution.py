"""The execution log through the CLI: every order sent leaves a row; stats summarise them per symbol."""

from __future__ import annotations

from decimal import Decimal as D

from tests.e2e.cli import failure, robson, robson_json


def test_each_order_sent_leaves_an_execution_row_and_stats_summarise_them(db: list[str]) -> None:
    robson(*db, "price", "BTC/USDT", "90000")
    operation = robson_json(*db, "plan", "BTC/USDT", "--side", "long", "--entry", "90000", "--stop", "88200")
    robson(*db, "execute", str(operation["id"]))
    rows = robson_json(*db, "execution", "log")
    assert [(r["client_order_id"], r["type"], r["status"]) for r in rows] == [
        ("rb1-e1", "MARKET", "FILLED"),
        ("rb1-s1", "STOP_MARKET", "NEW"),
        ("rb1-t1", "TAKE_PROFIT_LIMIT", "NEW"),
    ]
    entry = rows[0]
    assert entry["requested_price"] == "90000" and D(entry["executed_price"]) > D(90000)  # paper slippage
    assert D(entry["slippage_bps"]) > 0 and D(entry["fill_percent"]) == 100 and D(entry["fees"]) > 0
    assert entry["retries"] == 0 and entry["error"] is None and D(entry["latency_ms"]) >= 0
    stats = robson_json(*db, "execution", "stats")
    assert [(s["symbol"], s["executions"], s["filled"]) for s in stats] == [("BTC/USDT", "3", "1")]
    assert D(stats[0]["fees"]) == D(entry["fees"])
    assert "BTC/USDT" in robson(*db, "execution", "stats")
    assert "rb1-e1" in robson(*db, "execution", "log", "--symbol", "btc/usdt")


def test_bad_input_is_one_line(db: list[str]) -> None:
    assert "--limit" in failure(*db, "execution", "log", "--limit", "0", code=2)


def test_reconcile_says_they_agree_or_flags_what_needs_the_trader_with_exit_4(db: list[str]) -> None:
    assert "agree" in robson(*db, "reconcile")
    robson(*db, "paper", "reset", "--balance", "USDT=10000", "--balance", "BTC=0.5")
    flagged = robson(*db, "reconcile", code=4)
    assert "FLAGGED BTC" in flagged and "0.5 BTC belong to no operation" in flagged
    assert robson_json(*db, "reconcile", code=4)[0]["kind"] == "FLAGGED"
