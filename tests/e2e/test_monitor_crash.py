"""The crash drill: `robson run` is killed with SIGKILL after a stop is crossed and the exit was accepted by the
venue, before Robson recorded it. Started again, it finishes that exit: exactly one exit, CLOSED STOP_LOSS."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from robson.persistence.lease import FileLease
from tests.e2e.cli import failure, new_ledger, robson


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("ROBSON_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ROBSON_EXITS__DEFAULT__MODE", "internal")
    monkeypatch.delenv("ROBSON_CONFIG", raising=False)
    monkeypatch.delenv("ROBSON_DATABASE_URL", raising=False)
    monkeypatch.setenv("ROBSON_DATABASE_URL", f"sqlite:///{tmp_path / 'robson.db'}")
    new_ledger(f"sqlite:///{tmp_path / 'robson.db'}")
    return dict(os.environ)


def show(operation_id: int) -> dict[str, object]:
    view = json.loads(robson("show", str(operation_id), "--json"))
    assert isinstance(view, dict)
    return view


def exits(view: dict[str, object]) -> list[dict[str, str]]:
    orders = view["orders"]
    assert isinstance(orders, list)
    return [o for o in orders if o["role"] == "EXIT"]


def test_sigkill_during_an_exit_then_restart_gives_exactly_one_exit(env: dict[str, str]) -> None:
    robson("price", "BTC/USDT", "90000")
    robson("plan", "BTC/USDT", "--side", "long", "--entry", "90000", "--stop", "88200")
    robson("execute", "1")
    robson("price", "BTC/USDT", "88000")  # through the stop while no monitor runs
    crash = {**env, "ROBSON_CRASH_AFTER_EXIT_SENT": "1"}
    process = subprocess.run(
        [sys.executable, "-m", "robson", "run", "--poll", "0.05"], env=crash, capture_output=True, timeout=120
    )
    assert process.returncode == -signal.SIGKILL, process.stderr
    view = show(1)
    assert view["status"] == "ACTIVE"  # the venue filled the exit; the ledger had not heard yet
    assert [o["status"] for o in exits(view)] == ["PENDING_NEW"]

    robson("monitor", "--once")  # the restart: reconcile first, by the exit's client order id
    view = show(1)
    assert view["status"] == "CLOSED" and view["close_reason"] == "STOP_LOSS"
    assert [o["status"] for o in exits(view)] == ["FILLED"]
    robson("monitor", "--once")  # and again: nothing more is sent
    assert len(exits(show(1))) == 1
    positions = json.loads(robson("portfolio", "--json"))
    assert positions["positions"] == []


def test_run_stops_gracefully_on_sigterm(env: dict[str, str]) -> None:
    robson("price", "BTC/USDT", "90000")
    process = subprocess.Popen(
        [sys.executable, "-m", "robson", "run", "--poll", "0.05"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()  # blocks until the monitor is up: no sleeping
    assert "watching" in first
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "stopped" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [(["run", "--poll", "0"], "--poll"), (["run", "--poll", "nan"], "--poll"), (["monitor"], "--once")],
)
def test_monitor_bad_input_is_one_line_exit_2(env: dict[str, str], args: list[str], needle: str) -> None:
    assert needle in failure(*args, code=2)


def test_sigkill_in_the_middle_of_a_gap_then_restart_gives_exactly_one_exit_each(env: dict[str, str]) -> None:
    robson("price", "BTC/USDT", "90000")
    for operation_id, stop in enumerate(("81000", "80900", "80800"), start=1):
        robson("plan", "BTC/USDT", "--side", "long", "--entry", "90000", "--stop", stop)
        robson("execute", str(operation_id))
    robson("price", "BTC/USDT", "80000")  # one move through all three stops while no monitor runs
    crash = {**env, "ROBSON_CRASH_AFTER_EXIT_SENT": "1"}
    process = subprocess.run(
        [sys.executable, "-m", "robson", "run", "--poll", "0.05"], env=crash, capture_output=True, timeout=120
    )
    assert process.returncode == -signal.SIGKILL, process.stderr
    views = [show(i) for i in (1, 2, 3)]
    assert [v["status"] for v in views] == ["ACTIVE"] * 3
    assert [[o["status"] for o in exits(v)] for v in views] == [["PENDING_NEW"]] * 3  # every intent, then the kill

    robson("monitor", "--once")  # the restart: the exit the venue took is found; the two never sent go now
    views = [show(i) for i in (1, 2, 3)]
    assert all(v["status"] == "CLOSED" and v["close_reason"] == "STOP_LOSS" for v in views)
    filled = [[o for o in exits(v) if o["status"] == "FILLED"] for v in views]
    assert [len(f) for f in filled] == [1, 1, 1]  # exactly one exit each
    assert sorted(len(exits(v)) for v in views) == [1, 2, 2]  # two were recorded as never reached, then sent
    robson("monitor", "--once")  # and again: nothing more is sent
    assert [len(exits(show(i))) for i in (1, 2, 3)] == [len(exits(v)) for v in views]
    assert json.loads(robson("portfolio", "--json"))["positions"] == []


def test_a_pass_beside_a_live_run_leaves_that_runs_exits_in_flight_alone(env: dict[str, str], tmp_path: Path) -> None:
    """`monitor --once` while another robson run holds the lease: an exit that run recorded a moment ago and the
    venue does not know yet may be on its way this moment, so it is not declared never reached (and sent again).
    Once no run holds the lease, the same pass recovers it."""
    robson("price", "BTC/USDT", "90000")
    for operation_id, stop in enumerate(("81000", "80900"), start=1):
        robson("plan", "BTC/USDT", "--side", "long", "--entry", "90000", "--stop", stop)
        robson("execute", str(operation_id))
    robson("price", "BTC/USDT", "80000")
    crash = {**env, "ROBSON_CRASH_AFTER_EXIT_SENT": "1"}
    process = subprocess.run(
        [sys.executable, "-m", "robson", "run", "--poll", "0.05"], env=crash, capture_output=True, timeout=120
    )
    assert process.returncode == -signal.SIGKILL, process.stderr

    run = FileLease(Path(f"{tmp_path / 'robson.db'}.lock"))  # as if a robson run were acting for the account
    assert run.acquire()
    try:
        robson("monitor", "--once")
        views = [show(i) for i in (1, 2)]
        assert sorted(v["status"] for v in views) == ["ACTIVE", "CLOSED"]  # the exit the venue took is found
        waiting = next(v for v in views if v["status"] == "ACTIVE")
        assert [o["status"] for o in exits(waiting)] == ["PENDING_NEW"]  # left to the run sending it
    finally:
        run.release()

    robson("monitor", "--once")  # no run acts: what was on its way died with its sender, and is sent now
    views = [show(i) for i in (1, 2)]
    assert all(v["status"] == "CLOSED" and v["close_reason"] == "STOP_LOSS" for v in views)
    assert sorted(len(exits(v)) for v in views) == [1, 2]
