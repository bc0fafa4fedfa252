"""One `robson run` acts for an account at a time (a lease: a file lock beside SQLite, an advisory lock on
PostgreSQL). A second one says who holds it, in one line, and exits 3; with --standby it waits and takes over
the watch when the first one dies, SIGKILL included."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DatabaseTarget
from tests.e2e.cli import robson
from tests.e2e.racing import Run, isolated_env


@pytest.fixture
def env(database_target: DatabaseTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return isolated_env(database_target, tmp_path, monkeypatch)


@pytest.fixture
def runs(env: dict[str, str]) -> Iterator[list[Run]]:
    """The robson run processes a test starts, killed at its end if still running."""
    started: list[Run] = []
    yield started
    for run in started:
        run.end()


def test_a_second_run_is_refused_in_one_line_and_a_standby_takes_over(
    env: dict[str, str], runs: list[Run], tmp_path: Path
) -> None:
    robson("price", "BTC/USDT", "90000")
    first = Run(env, tmp_path)
    runs.append(first)
    first.printed.wait_for("watching paper")

    second = subprocess.run(
        [sys.executable, "-m", "robson", "run", "--poll", "0.05"], env=env, capture_output=True, text=True, timeout=120
    )
    assert second.returncode == 3, (second.stdout, second.stderr)
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and "another robson run acts for this account" in lines[0], second.stderr
    assert f"robson run pid {first.process.pid}" in lines[0]  # who holds it
    assert "watching" not in second.stdout

    standby = Run(env, tmp_path, "--standby")
    runs.append(standby)
    standby.printed.wait_for("standby")
    assert "watching" not in standby.printed.text
    first.process.send_signal(signal.SIGKILL)  # the lease ends with its holder, however it ends
    first.process.wait(timeout=60)
    standby.printed.wait_for("took over the watch")
    standby.printed.wait_for("watching paper")
    assert standby.stop() == 0, standby.logged()
    assert "robson run: stopped" in standby.printed.rest()


def test_a_standby_stops_cleanly_without_ever_acting(env: dict[str, str], runs: list[Run], tmp_path: Path) -> None:
    robson("price", "BTC/USDT", "90000")
    first = Run(env, tmp_path)
    runs.append(first)
    first.printed.wait_for("watching paper")
    standby = Run(env, tmp_path, "--standby")
    runs.append(standby)
    standby.printed.wait_for("standby")
    assert standby.stop() == 0, standby.logged()
    assert "stopped while on standby" in standby.printed.rest()
    assert first.process.poll() is None  # the holder watches on
