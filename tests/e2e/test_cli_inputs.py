"""Issue 12 item F: every input gets one line and the right exit code, and what the user typed is shown verbatim.
One test per row of the issue's table."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.cli import failure, robson, robson_json

SIZE = ["size", "--entry", "90000", "--stop", "88200"]


@pytest.mark.parametrize("text", ["1e27", "1e400", "1E+1000000"])
def test_an_absurd_capital_is_one_line_exit_2_showing_it_verbatim(db: list[str], text: str) -> None:
    line = failure(*SIZE, "--capital", text, code=2)
    assert line.startswith(f"error: --capital: '{text}' is too large")


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "BTC/USDT", "--side", "long", "--entry", "1e400"],
        ["plan", "BTC/USDT", "--side", "long", "--entry", "90000", "--stop", "1e400"],
        ["price", "BTC/USDT", "1e400"],
        ["price", "BTC/USDT", "1e30"],
        ["adopt", "BTC/USDT", "--qty", "1e400", "--entry", "90000"],
        ["adopt", "BTC/USDT", "--qty", "0.001", "--entry", "1e400"],
    ],
)
def test_absurd_prices_and_quantities_are_refused_before_anything_is_stored(db: list[str], args: list[str]) -> None:
    line = failure(*db, *args, code=2)
    assert "is too large" in line and "'1e" in line
    assert robson_json(*db, "operations") == []


def test_a_negative_price_is_a_value_refused_in_one_line_not_an_unknown_option(db: list[str]) -> None:
    assert failure(*db, "price", "BTC/USDT", "-1", code=2) == "error: PRICE: '-1' must be greater than zero"


@pytest.mark.parametrize("command", ["execute", "show", "close", "validate", "audit"])
def test_an_operation_id_too_large_for_the_ledger_is_exit_2_not_an_overflow(db: list[str], command: str) -> None:
    extra = ["--reason", "x"] if command == "close" else []
    line = failure(*db, command, "99999999999999999999999", *extra, code=2)
    assert "unknown operation id 99999999999999999999999" in line and "not a valid id" in line


def test_demo_with_a_negative_seed_is_exit_2(tmp_path: Path) -> None:
    line = failure("demo", "--seed", "-1", "--bars", "100", "--operations", "1", "--db", str(tmp_path / "d.db"), code=2)
    assert line == "error: --seed: '-1' must be zero or more"


def test_a_malformed_toml_file_is_named_exit_2(db: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "robson.toml"
    config.write_text("[risk\nmax_risk_per_trade_percent = 1\n")
    monkeypatch.setenv("ROBSON_CONFIG", str(config))
    line = failure(*db, "operations", code=2)
    assert line.startswith(f"error: configuration error in {config}: not valid TOML")


@pytest.mark.parametrize(("path", "says"), [("/nope.toml", "no such file"), ("/etc", "is not a file")])
def test_robson_config_missing_or_a_directory_is_one_line_exit_2(
    db: list[str], monkeypatch: pytest.MonkeyPatch, path: str, says: str
) -> None:
    monkeypatch.setenv("ROBSON_CONFIG", path)
    assert failure(*db, "operations", code=2) == f"error: configuration error: ROBSON_CONFIG='{path}'" + (
        f": {says}" if says == "no such file" else f" {says}"
    )


def test_malformed_json_in_a_variable_is_one_line_naming_it(db: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROBSON_RISK", "{bad")
    line = failure(*db, "operations", code=2)
    assert line == "error: configuration error in the environment: ROBSON_RISK='{bad' is not valid JSON"


def test_an_unknown_top_level_variable_is_refused_like_a_nested_typo(
    db: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROBSON_MAX_SLIPAGE_BPS", "5")
    line = failure(*db, "operations", code=2)
    assert "unknown setting ROBSON_MAX_SLIPAGE_BPS" in line and "ROBSON_MAX_SLIPPAGE_BPS" in line
    monkeypatch.delenv("ROBSON_MAX_SLIPAGE_BPS")
    monkeypatch.setenv("ROBSON_PAPER__TAKER_FE", "0.001")
    assert "taker_fe" in failure(*db, "operations", code=2).lower()
    monkeypatch.delenv("ROBSON_PAPER__TAKER_FE")
    # what tooling and the tests set, and the venue keys, are not settings and not typos
    for name, value in [
        ("ROBSON_TEST_POSTGRES_URL", "postgresql+psycopg://x@127.0.0.1/y"),
        ("ROBSON_DEBUG", ""),
        ("ROBSON_BINANCE_API_KEY", "k"),
        ("ROBSON_MAX_SLIPPAGE_BPS", "40"),
    ]:
        monkeypatch.setenv(name, value)
    assert robson_json(*db, "operations") == []


def test_a_configuration_error_names_the_file_and_the_section(
    db: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "robson.toml"
    monkeypatch.setenv("ROBSON_CONFIG", str(config))
    config.write_text("[paper]\ntaker_fee = 0.5\n")
    line = failure(*db, "operations", code=2)
    assert line.startswith(f"error: configuration error in {config} [paper]: taker_fee: ") and "0.5" in line
    config.write_text("[risk.scalp]\nmax_risk_per_trade_percent = -1\n")  # checked by a model validator
    line = failure(*db, "operations", code=2)
    assert line.startswith(f"error: configuration error in {config} [risk.scalp]: ") and "Value error" not in line
    config.write_text('[exits.default]\nmode = "internal"\ntrail_r = 1\n')
    assert f"{config} [exits.default]: trailing" in failure(*db, "operations", code=2)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "--db: '' is empty"),
        ("sqlite:///:memory:", "--db: 'sqlite:///:memory:' is an in-memory database"),
        ("memory://", "--db: 'memory://' is an in-memory database"),
    ],
)
def test_an_empty_or_in_memory_database_is_one_line_exit_2(url: str, says: str) -> None:
    assert failure("--db", url, "operations", code=2).startswith(f"error: {says}")


def test_a_device_as_the_ledger_is_one_line_without_sql() -> None:
    line = failure("--db", "sqlite:////dev/null", "operations", code=1)
    assert line == "error: cannot use /dev/null as the ledger: it is not a regular file"


def test_an_unreachable_postgresql_is_one_line_without_a_link_or_the_password() -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    line = failure("--db", f"postgresql+psycopg://robson:s3cret@127.0.0.1:{port}/ledger", "operations", code=1)
    assert line.startswith(f"error: cannot open the ledger at postgresql+psycopg://robson:***@127.0.0.1:{port}/ledger")
    assert "s3cret" not in line and "sqlalche.me" not in line


def test_only_init_like_commands_create_a_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROBSON_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ROBSON_DATABASE_URL", raising=False)
    for target, where in [
        ("garbage", tmp_path / "garbage"),
        ("sqlite:///proc/x.db", tmp_path / "proc" / "x.db"),
    ]:
        line = failure("--db", target, "operations", code=2)
        assert line.startswith(f"error: no ledger at {where}: start one with `robson paper reset`")
        assert not where.exists() and not (tmp_path / "proc").exists()  # nothing made: no file, no folder
    config = tmp_path / "robson.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path}/missing/folder/robson.db"\n')
    monkeypatch.setenv("ROBSON_CONFIG", str(config))
    assert "no ledger at" in failure("show", "1", code=2)
    assert not (tmp_path / "missing").exists()
    assert "no ledger at" in failure("plan", "BTC/USDT", "--side", "long", "--entry", "90000", code=2)
    robson("paper", "reset")  # init-like: starts the ledger
    assert (tmp_path / "missing" / "folder" / "robson.db").is_file()
    assert robson_json("operations") == []
    assert robson_json("--db", str(tmp_path / "new.db"), "--create", "operations") == []  # or an explicit --create


def test_an_unwritable_ledger_path_is_one_line() -> None:
    line = failure("--db", "/proc/robson/x.db", "--create", "operations", code=1)
    assert line.startswith("error: cannot create the ledger at /proc/robson/x.db")


def test_an_absurd_paper_balance_is_refused_before_anything_is_stored(db: list[str]) -> None:
    line = failure(*db, "paper", "reset", "--balance", "USDT=1e30", code=2)
    assert line.startswith("error: --balance USDT: '1e30' is too large")
    folio = robson_json(*db, "portfolio")  # every later command still works, on the account as it was
    assert isinstance(folio, dict) and folio["capital"] == "10000.00"


def test_output_into_a_closed_pipe_stops_quietly(db: list[str]) -> None:
    robson(*db, "price", "BTC/USDT", "90000")
    robson(*db, "plan", "BTC/USDT", "--side", "long", "--entry", "90000")
    robson_command = f"{sys.executable} -m robson {db[0]} {db[1]}"
    # `| head -1` reads a line and leaves; `| true` leaves before the first write: the write fails every time
    for command, shown in [
        (f"{robson_command} show 1 --json | head -1", "{\n"),
        (f"{robson_command} show 1 --json | true", ""),
        (f"{robson_command} show 1 | true", ""),
    ]:
        process = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, env=dict(os.environ), timeout=60
        )
        assert (process.stdout, process.stderr, process.returncode) == (shown, "", 0), command


def test_audit_of_an_unknown_id_is_exit_2_like_show(db: list[str]) -> None:
    assert failure(*db, "audit", "999", code=2) == failure(*db, "show", "999", code=2)
    assert "unknown operation id 999" in failure(*db, "audit", "999", code=2)


def test_reasons_are_shown_verbatim_never_as_markup(db: list[str]) -> None:
    robson(*db, "price", "BTC/USDT", "90000")
    for _ in range(2):
        robson(*db, "plan", "BTC/USDT", "--side", "long", "--entry", "90000", "--stop", "88200")
    robson(*db, "close", "1", "--reason", "exit [per plan]")
    robson(*db, "close", "2", "--reason", "[/] typo")
    robson(*db, "pause", "--reason", "x [/]")
    robson(*db, "resume", "--override", "[bold]reviewed[/bold] :smile:")
    robson(*db, "kill", "--reason", "[red]news")
    assert "exit [per plan]" in robson(*db, "show", "1")
    assert "[/] typo" in robson(*db, "show", "2")
    trail = robson(*db, "audit")  # reads back the pause, resume and kill reasons (a cancel's is the note)
    assert "x [/]" in trail and "[bold]reviewed[/bold] :smile:" in trail and "[red]news" in trail
    assert "[red]news" in robson(*db, "risk", "status")
