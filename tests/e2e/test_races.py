"""Several `robson` processes at once, on SQLite and on PostgreSQL: the paper venue is as strict as a real one (each
read-modify-write one transaction no other process's can interleave with), so nothing any of them did is lost.
After every race: every process ended cleanly, the venue's balances are to the satoshi what the ledger's fills
imply, every fill the venue made is in the ledger, and reconcile finds nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from robson.domain.values import OrderSide
from robson.services import following, planning
from tests.conftest import DatabaseTarget
from tests.e2e.cli import robson
from tests.e2e.racing import Finished, Run, isolated_env, open_app, race

ROUNDS = 3  # each race is run this many times over (cheap: the processes start in parallel)


@pytest.fixture
def env(database_target: DatabaseTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return isolated_env(database_target, tmp_path, monkeypatch)


def clean(finished: list[Finished], codes: tuple[int, ...] = (0,)) -> None:
    for done in finished:
        assert done.code in codes, (done.args, done.code, done.out, done.err)
        assert "Traceback" not in done.err and "IntegrityError" not in done.err, (done.args, done.err)


def books_agree(database_target: DatabaseTarget) -> None:
    """The venue holds, to the last digit, what the initial balances and the ledger's fills say; every fill the
    venue made is in the ledger (and nothing else is); reconcile finds nothing."""
    app = open_app(database_target.url, database_target.schema)
    try:
        expected: dict[str, Decimal] = defaultdict(Decimal)
        expected.update(app.settings.paper.initial_balances)
        ledger, venue = set(), set()
        for op in planning.operations(app.context):
            instrument = app.context.instrument(op.symbol)
            for fill in op.fills:
                ledger.add(fill.trade_id)
                sign = 1 if fill.side is OrderSide.BUY else -1
                expected[instrument.base] += sign * fill.quantity
                expected[instrument.quote] -= sign * fill.price * fill.quantity + fill.fee
            for order in op.orders:
                if order.exchange_order_id:
                    venue |= {
                        f.trade_id for f in app.context.exchange.get_order(op.symbol, order.client_order_id).fills
                    }
        balances = app.context.exchange.balances()
        held = {asset: balances[asset].total for asset in balances if balances[asset].total}
        assert held == {asset: amount for asset, amount in expected.items() if amount}
        assert venue == ledger
    finally:
        app.close()
    assert json.loads(robson("reconcile", "--json")) == []


def open_position(symbol: str, entry: str, stop: str) -> int:
    robson("price", symbol, entry)
    planned = json.loads(robson("plan", symbol, "--side", "long", "--entry", entry, "--stop", stop, "--json"))
    robson("execute", str(planned["id"]))
    return int(planned["id"])


def status(operation_id: int) -> tuple[str, str | None]:
    view = json.loads(robson("show", str(operation_id), "--json"))
    return view["status"], view["close_reason"]


def test_price_pushes_on_different_symbols_lose_nothing(
    env: dict[str, str], database_target: DatabaseTarget, tmp_path: Path
) -> None:
    for _ in range(ROUNDS):  # through the targets: wins, so that the loss limits never halt a later round
        btc = open_position("BTC/USDT", "90000", "88200")
        eth = open_position("ETH/USDT", "3000", "2940")
        finished = race([["price", "BTC/USDT", "93700"], ["price", "ETH/USDT", "3130"]], env, tmp_path)
        clean(finished)
        assert status(btc) == ("CLOSED", "TAKE_PROFIT") and status(eth) == ("CLOSED", "TAKE_PROFIT")
        books_agree(database_target)


def test_price_pushes_on_one_symbol_fill_one_leg_of_an_oco(
    env: dict[str, str], database_target: DatabaseTarget, tmp_path: Path
) -> None:
    for _ in range(ROUNDS):
        btc = open_position("BTC/USDT", "90000", "88200")
        view = json.loads(robson("show", str(btc), "--json"))
        target = view["target_price"]
        finished = race([["price", "BTC/USDT", "88000"], ["price", "BTC/USDT", target]] * 2, env, tmp_path)
        clean(finished)
        assert status(btc)[0] == "CLOSED"
        exits = [o for o in json.loads(robson("show", str(btc), "--json"))["orders"] if o["status"] == "FILLED"]
        assert len(exits) == 2  # the entry and ONE leg of the OCO, never both
        books_agree(database_target)


def test_concurrent_closes_sell_once(env: dict[str, str], database_target: DatabaseTarget, tmp_path: Path) -> None:
    for _ in range(ROUNDS):
        btc = open_position("BTC/USDT", "90000", "88200")
        finished = race([["close", str(btc), "--reason", "race"]] * 3, env, tmp_path)
        clean(finished, codes=(0, 2))
        assert [done.code for done in finished].count(0) >= 1
        for done in finished:  # the others read it again and are told, in one line, that it is closed now
            assert done.code == 0 or (done.err.count("\n") == 1 and "already CLOSED" in done.err), done.err
        assert status(btc) == ("CLOSED", "MANUAL")
        books_agree(database_target)


def test_a_copy_read_before_a_killed_runs_exit_never_calls_that_exit_unsent(
    env: dict[str, str], database_target: DatabaseTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROBSON_EXITS__DEFAULT__MODE", "internal")
    btc = open_position("BTC/USDT", "90000", "88200")
    stale = open_app(database_target.url, database_target.schema)  # robson sync, started before the exit
    try:
        robson("price", "BTC/USDT", "88000")  # through the internal stop while no monitor runs
        crash = {**os.environ, "ROBSON_CRASH_AFTER_EXIT_SENT": "1"}
        process = subprocess.run(
            [sys.executable, "-m", "robson", "run", "--poll", "0.05"], env=crash, capture_output=True, timeout=120
        )
        assert process.returncode == -signal.SIGKILL, process.stderr  # the venue took the exit; the ledger not yet
        following.sync(stale.context)  # its copy of the paper account predates the exit
    finally:
        stale.close()
    view = json.loads(robson("show", str(btc), "--json"))
    exits = [o for o in view["orders"] if o["role"] == "EXIT"]
    assert [o["status"] for o in exits] == ["FILLED"], exits  # found on the venue, not "never reached"
    assert status(btc) == ("CLOSED", "STOP_LOSS")
    robson("monitor", "--once")  # the restart sends nothing more
    assert len([o for o in json.loads(robson("show", str(btc), "--json"))["orders"] if o["role"] == "EXIT"]) == 1
    books_agree(database_target)


def test_run_keeps_watching_while_other_processes_write_its_operations(
    env: dict[str, str], database_target: DatabaseTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROBSON_EXITS__DEFAULT__MODE", "internal")  # robson run makes the exits
    robson("price", "BTC/USDT", "90000")
    run = Run(dict(os.environ), tmp_path)
    try:
        run.printed.wait_for("watching paper")
        for _ in range(ROUNDS):  # through the targets: wins, so that the loss limits never halt a later round
            btc = open_position("BTC/USDT", "90000", "88200")
            eth = open_position("ETH/USDT", "3000", "2940")
            racers = [["price", "BTC/USDT", "93700"], ["price", "ETH/USDT", "3130"], ["sync"], ["sync"], ["sync"]]
            clean(race(racers, dict(os.environ), tmp_path))
            for operation_id in (btc, eth):
                try:
                    run.printed.wait_for(f"operation {operation_id}: CLOSED")
                except AssertionError as missed:  # say what the ledger and robson run's log say
                    raise AssertionError(f"{missed}; ledger: {status(operation_id)}; log: {run.logged()}") from None
            assert run.process.poll() is None  # still watching
            assert status(btc) == ("CLOSED", "TAKE_PROFIT") and status(eth) == ("CLOSED", "TAKE_PROFIT")
            books_agree(database_target)
        assert run.stop() == 0, run.logged()
    finally:
        run.end()
    assert "changed by another process" not in run.printed.rest() + run.logged()
