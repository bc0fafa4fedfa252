"""The kill switch, pause and resume as a trader runs them, with Binance unreachable (nothing listens on
127.0.0.1:9): the halt is persisted and audited, and the kill says, line by line and by its exit code (4), that it
is halted but not yet flat. With the venue back, the kill finishes the job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from robson import bootstrap
from tests.e2e.cli import new_ledger, robson, robson_json
from tests.e2e.test_run_binance import KEY, SECRET, _isolate, start_run
from tests.fakes.binance_server import BinanceFake

DEAD = "http://127.0.0.1:9"  # the discard port: nothing listens, every connection is refused
NOT_FLAT = 4


@pytest.fixture
def dead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    _isolate(monkeypatch, tmp_path)
    new_ledger(f"sqlite:///{tmp_path / 'robson.db'}")  # an existing ledger: only init-like commands start one
    monkeypatch.setenv("ROBSON_EXCHANGE", "binance")
    monkeypatch.setenv("ROBSON_BINANCE__BASE_URL", DEAD)
    monkeypatch.setenv("ROBSON_BINANCE__SYMBOLS", '["BTC/USDT"]')
    monkeypatch.setenv("ROBSON_BINANCE_API_KEY", KEY)
    monkeypatch.setenv("ROBSON_BINANCE_API_SECRET", SECRET)
    return dict(os.environ)


@pytest.fixture
def fake() -> Iterator[BinanceFake]:
    with BinanceFake(balances={"USDT": "10000"}, prices={"BTCUSDT": "90000.00"}, api_key=KEY) as venue:
        yield venue


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "robson", *args], env=env, capture_output=True, text=True, timeout=120)


def stored_holds() -> list[str]:
    app = bootstrap.build(offline=True)
    try:
        with app.context.unit_of_work() as uow:
            state = uow.policy.get()
    finally:
        app.close()
    return [hold.code for hold in state.holds] if state is not None else []


def policy_trail() -> list[tuple[str, object]]:
    rows = robson_json("audit")
    return [(row["action"], row["after"].get("hold") or row["after"].get("state")) for row in rows]


def test_kill_pause_resume_with_binance_unreachable(dead: dict[str, str]) -> None:
    killed = run("kill", "--reason", "x", env=dead)
    assert killed.returncode == NOT_FLAT, (killed.stdout, killed.stderr)
    lines = killed.stderr.strip().splitlines()
    assert lines[-1] == "error: halted, not yet flat: robson run goes on flattening until flat"
    assert any(line.startswith("not done: ") and "Binance could not be reached" in line for line in lines)
    assert "Traceback" not in killed.stderr
    assert stored_holds() == ["KILL_SWITCH"]
    assert ("HoldAdded", "KILL_SWITCH") in policy_trail() and ("TradingStateChanged", "HALTED") in policy_trail()

    paused = run("pause", "--reason", "x", env=dead)
    assert paused.returncode == 0, paused.stderr
    assert stored_holds() == ["KILL_SWITCH", "PAUSED"]

    resumed = run("resume", "--override", "venue is back", env=dead)
    assert resumed.returncode == 0, resumed.stderr
    assert "Trading state: ACTIVE" in resumed.stdout
    assert stored_holds() == []
    assert "TradingResumed" in [action for action, _ in policy_trail()]


def test_pause_and_resume_need_no_keys_at_all(dead: dict[str, str]) -> None:
    env = {k: v for k, v in dead.items() if k not in ("ROBSON_BINANCE_API_KEY", "ROBSON_BINANCE_API_SECRET")}
    paused = run("pause", "--reason", "no keys on this machine", env=env)
    assert paused.returncode == 0, paused.stderr
    assert stored_holds() == ["PAUSED"]
    resumed = run("resume", "--override", "reviewed", env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert stored_holds() == []


def test_kill_lists_the_position_it_could_not_close_and_finishes_when_the_venue_is_back(
    fake: BinanceFake, dead: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    live = {**dead, "ROBSON_BINANCE__BASE_URL": fake.url}
    monkeypatch.setenv("ROBSON_BINANCE__BASE_URL", fake.url)
    robson("plan", "BTC/USDT", "--side", "long", "--entry", "90000", "--stop", "88200", "--rr", "2")
    robson("execute", "1")
    assert robson_json("show", "1")["status"] == "ACTIVE"

    killed = run("kill", "--reason", "exchange incident", env=dead)
    assert killed.returncode == NOT_FLAT, (killed.stdout, killed.stderr)
    assert "not done: operation 1 is still ACTIVE (BTC/USDT): Binance could not be reached" in killed.stderr
    assert stored_holds() == ["KILL_SWITCH"]
    assert robson_json("show", "1")["status"] == "ACTIVE"
    assert [o.type for o in fake.orders if o.is_open] == ["STOP_LOSS", "LIMIT_MAKER"]  # its protection still rests

    again = run("kill", "--reason", "exchange incident", env=live)
    assert again.returncode == 0, (again.stdout, again.stderr)
    shown = robson_json("show", "1")
    assert (shown["status"], shown["close_reason"]) == ("CLOSED", "KILL_SWITCH")
    assert [o for o in fake.orders if o.is_open] == []
    assert stored_holds() == ["KILL_SWITCH"]


def test_robson_run_goes_on_flattening_after_a_kill_the_venue_interrupted(
    fake: BinanceFake, dead: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    live = {**dead, "ROBSON_BINANCE__BASE_URL": fake.url, "ROBSON_BINANCE__WS_URL": fake.ws_url}
    monkeypatch.setenv("ROBSON_BINANCE__BASE_URL", fake.url)
    robson("plan", "BTC/USDT", "--side", "long", "--entry", "90000", "--stop", "88200", "--rr", "2")
    robson("execute", "1")
    assert run("kill", "--reason", "exchange incident", env=dead).returncode == NOT_FLAT

    with (tmp_path / "run.err").open("w+") as errors:
        process, printed = start_run(["--poll", "0.05"], live, errors)
        try:
            printed.wait_for("watching binance")
            deadline = time.monotonic() + 60
            done = "operation 1: CLOSED KILL_SWITCH"
            price = 90000
            while done not in printed.text and not printed.ended and time.monotonic() < deadline:
                price += 1
                fake.set_price("BTCUSDT", str(price))  # ticks: each pass marks to market and enforces the hold
                with printed._changed:
                    printed._changed.wait_for(lambda: done in printed.text or printed.ended, timeout=0.5)
            assert done in printed.text, printed.text + (errors.seek(0) or errors.read())
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        process.stdout.close()
    assert process.returncode == 0
    shown = robson_json("show", "1")
    assert (shown["status"], shown["close_reason"]) == ("CLOSED", "KILL_SWITCH")
    assert [o for o in fake.orders if o.is_open] == [] and fake.balance("BTC") == (0, 0)
    assert stored_holds() == ["KILL_SWITCH"]  # flat, and halted until a resume
