"""Issue 12 item G: what a trader reads. Numbers and statuses are never cut, human output is rounded (JSON is
exact), execute says what protects the position, and run, monitor and demo speak JSON when asked."""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from robson.backtest.demo import DemoReport
from robson.cli import demo, render
from robson.cli.main import app
from tests.e2e.cli import failure, robson, robson_json, runner

PLAN = ["plan", "BTC/USDT", "--side", "long", "--entry", "90000", "--stop", "88200", "--rr", "2"]


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def test_operations_on_80_columns_never_cut_a_number_or_a_status(
    db: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    robson(*db, "price", "BTC/USDT", "90000")
    robson(*db, *PLAN)
    robson(*db, *PLAN)
    robson(*db, "close", "2", "--reason", "changed my mind")
    monkeypatch.setattr(render.console, "width", 80)
    out = robson(*db, "operations")
    assert "…" not in out
    assert all(len(line) <= 80 for line in _lines(out)), out
    for whole in ("90000.00", "88200.00", "93600.00", "0.04965", "CANCELLED", "PLANNED"):
        assert re.search(rf"(^|\s){re.escape(whole)}(\s|$)", out), (whole, out)
    assert "not shown at this width" in out  # what was left out is named
    monkeypatch.setattr(render.console, "width", 160)
    assert "not shown" not in robson(*db, "operations")


def test_human_output_is_rounded_and_json_stays_exact(db: list[str]) -> None:
    robson(*db, "price", "BTC/USDT", "90000")
    planned = robson(*db, *PLAN)
    assert "99.99 " in planned and "99.987" not in planned  # the risk, to the cent
    exact = robson_json(*db, "show", "1")
    assert isinstance(exact, dict) and exact["risk_amount"].startswith("99.98717")
    robson(*db, "execute", "1")
    robson(*db, "price", "BTC/USDT", "90001.37")
    folio = robson(*db, "portfolio")
    capital = robson_json(*db, "portfolio")["capital"]
    assert len(capital.split(".")[1]) > 2  # the exact capital has more than cents ...
    shown = str(round(float(capital), 2))  # ... and the table shows it to the cent
    assert re.search(rf"\b{re.escape(f'{float(shown):.2f}')}\b", folio) and capital not in folio


def test_execute_says_what_protects_the_position_and_how_the_entry_filled(db: list[str]) -> None:
    robson(*db, "price", "BTC/USDT", "90000")
    robson(*db, *PLAN)
    out = robson(*db, "execute", "1")
    assert "filled 0.04965 at 90018.00 (planned 90000.00; 2 bps worse than planned)" in out
    assert "protected on the venue: stop 88200.00 (order rb1-s1, venue id " in out
    assert "target 93600.00 (order rb1-t1, venue id " in out
    shown = robson_json(*db, "show", "1")
    assert isinstance(shown, dict) and shown["protection"] == "exchange"


def test_execute_in_internal_mode_says_the_monitor_protects_it(db: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROBSON_EXITS__DEFAULT__MODE", "internal")
    robson(*db, "price", "BTC/USDT", "90000")
    robson(*db, *PLAN)
    out = robson(*db, "execute", "1")
    assert "protected by robson run (internal mode): stop 88200.00, target 93600.00" in out
    view = robson_json(*db, "show", "1")
    assert isinstance(view, dict) and view["protection"] == "internal"


def test_a_planned_operation_has_no_position(db: list[str]) -> None:
    robson(*db, "price", "BTC/USDT", "90000")
    robson(*db, *PLAN)
    view = robson_json(*db, "show", "1")
    assert isinstance(view, dict) and view["position_status"] is None
    out = robson(*db, "show", "1")
    assert "no position" in out and "CLOSED" not in out


def test_audit_reads_as_changes_not_python_dicts(db: list[str]) -> None:
    robson(*db, "price", "BTC/USDT", "90000")
    robson(*db, *PLAN)
    robson(*db, "execute", "1")
    out = robson(*db, "audit", "1")
    assert "status PLANNED -> ACTIVE" in out and "status PENDING_NEW -> FILLED" in out
    assert "{'" not in out and "'}" not in out


@pytest.mark.parametrize(
    ("command", "option", "metavar"),
    [
        ("plan", "--entry", "PRICE"),
        ("plan", "--quantity", "QTY"),
        ("size", "--capital", "AMOUNT"),
        ("size", "--risk", "PERCENT"),
        ("adopt", "--qty", "QTY"),
        ("plan", "--add-to", "ID"),
    ],
)
def test_help_labels_numbers_by_what_they_are(command: str, option: str, metavar: str) -> None:
    out = robson(command, "--help")
    line = next(line for line in out.splitlines() if f" {option} " in line)
    assert metavar in line and "<str>" not in line and "TEXT" not in line


def _commands() -> list[list[str]]:
    group: Any = typer.main.get_command(app)  # Typer's own group (it carries a click of its own)
    paths = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            paths += [[name, sub] for sub in command.commands]
        else:
            paths.append([name])
    return paths


def test_no_help_labels_a_parameter_with_a_python_type() -> None:
    """Every command's help: no `<str>` beside an ID or a price, no `<bool>` beside a flag."""
    runner = CliRunner()
    paths = _commands()
    assert len(paths) > 20
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
        assert result.exit_code == 0, (path, result.output)
        labels = re.findall(r"<(?:str|bool|int|float|text|Decimal)>", result.output)
        assert not labels, (path, labels, result.output)


def test_version() -> None:
    out = robson("--version")
    assert re.fullmatch(r"robson \d+\.\d+\.\d+\S*\n", out)


def test_sync_says_when_nothing_changed(db: list[str]) -> None:
    assert "nothing changed" in robson(*db, "sync")


def test_plurals_are_right(db: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "one.toml"
    config.write_text("[risk.default]\nmax_concurrent_operations = 1\n")
    monkeypatch.setenv("ROBSON_CONFIG", str(config))
    robson(*db, "price", "BTC/USDT", "90000")
    robson(*db, *PLAN)
    robson(*db, "execute", "1")
    assert "1 operation active, at most 1 allowed" in failure(*db, *PLAN, code=3)
    assert "monitor: 1 operation watched" in robson(*db, "monitor", "--once")


def test_monitor_once_json_is_json_lines(db: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROBSON_EXITS__DEFAULT__MODE", "internal")
    robson(*db, "price", "BTC/USDT", "90000")
    robson(*db, *PLAN)
    robson(*db, "execute", "1")
    robson(*db, "price", "BTC/USDT", "88000")  # through the stop: the monitor acts on it
    events = [json.loads(line) for line in robson(*db, "monitor", "--once", "--json").splitlines()]
    assert [e["event"] for e in events][-1] == "stopped"
    closed = [e for e in events if e["event"] == "outcome" and e["id"] == 1]
    assert closed and closed[-1]["status"] == "CLOSED" and closed[-1]["close_reason"] == "STOP_LOSS"


def _read_line(process: subprocess.Popen[str], deadline: float) -> dict[str, Any]:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=deadline - time.monotonic()):
                line = process.stdout.readline()
                assert line, "robson run ended early"
                event: dict[str, Any] = json.loads(line)
                return event
    raise AssertionError("no line from robson run before the deadline")


def test_run_json_prints_a_line_per_outcome_and_alert(db: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROBSON_EXITS__DEFAULT__MODE", "internal")
    robson(*db, "price", "BTC/USDT", "90000")
    robson(*db, *PLAN)
    robson(*db, "execute", "1")
    process = subprocess.Popen(
        [sys.executable, "-m", "robson", *db, "run", "--json", "--poll", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        deadline = time.monotonic() + 60
        assert _read_line(process, deadline)["event"] == "started"
        robson(*db, "price", "BTC/USDT", "88000")
        events = [_read_line(process, deadline)]
        while not any(e["event"] == "outcome" and e["status"] == "CLOSED" for e in events):
            events.append(_read_line(process, deadline))
        closed = next(e for e in events if e["event"] == "outcome" and e["status"] == "CLOSED")
        assert closed["id"] == 1 and closed["close_reason"] == "STOP_LOSS"
        process.send_signal(signal.SIGTERM)
        while (event := _read_line(process, deadline))["event"] != "stopped":
            assert event["event"] in ("outcome", "alert")
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_demo_json_is_one_summary_and_progress_goes_to_stderr(tmp_path: Path) -> None:
    process = subprocess.run(
        [sys.executable, "-m", "robson", "demo", "--bars", "200", "--operations", "1", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "ROBSON_DATA_DIR": str(tmp_path)},
        timeout=300,
    )
    assert process.returncode == 0, process.stderr
    summary = json.loads(process.stdout)
    assert summary["within_budget"] is True and summary["operations"]
    assert {"bars_pushed", "capital_start", "capital_end", "overrides", "refusals"} <= summary.keys()
    assert "demo: pushing 200 bars per symbol" in process.stderr and "demo: stopped after " in process.stderr


def test_demo_says_what_its_overrides_did(capsys: pytest.CaptureFixture[str]) -> None:
    report = DemoReport(overrides=["3 losses in a row: resumed with an override"])
    demo._summary(report)
    out = capsys.readouterr().out
    assert "risk engine halted trading (3 losses in a row: resumed with an override)" in out
    said = " ".join(out.split())
    assert "every operation stayed within its risk budget; the risk engine halted trading once" in said
    assert "robson resume --override" in said and "lifted every hold" in said


def test_usage_errors_are_one_line(db: list[str]) -> None:
    result = runner.invoke(app, [*db, "plan"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: Missing argument 'SYMBOL'. (see robson plan --help)"
