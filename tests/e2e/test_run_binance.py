"""`robson run --exchange binance` end to end, against the fake Binance on 127.0.0.1: an operation is planned and
executed on the venue (its stop and target rest there as one OCO list), the venue fills the stop while no Robson
process runs, and `robson run` started afterwards picks that fill up: the operation CLOSED STOP_LOSS, its fills
exactly the venue's trades, and nothing sent to the venue. Keys travel only through the environment, and never
come back out in what Robson prints."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO

import pytest

from robson import bootstrap
from robson.services import planning
from tests.e2e.cli import failure, new_ledger, robson, robson_json
from tests.fakes.binance_server import BinanceFake

KEY = "e2e-test-key-not-a-real-one-3f9c1d"  # never a real key
SECRET = "e2e-test-secret-not-a-real-one-8a27e4"
WRITES = ("POST /api/v3/order", "POST /api/v3/orderList/oco", "DELETE /api/v3/order", "DELETE /api/v3/orderList")
MISSING_KEYS = "error: binance needs ROBSON_BINANCE_API_KEY and ROBSON_BINANCE_API_SECRET (or the keyring"


@pytest.fixture
def fake() -> Iterator[BinanceFake]:
    with BinanceFake(
        balances={"USDT": "10000"}, prices={"BTCUSDT": "90000.00", "ETHUSDT": "3000.00"}, api_key=KEY
    ) as venue:
        yield venue


def _isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No configuration, keys or keyring from the machine running the tests."""
    for name in [n for n in os.environ if n.startswith("ROBSON_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")  # no keyring at all
    monkeypatch.setenv("ROBSON_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ROBSON_DATABASE_URL", f"sqlite:///{tmp_path / 'robson.db'}")


@pytest.fixture
def env(fake: BinanceFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of every command: the fake venue, its keys, a SQLite ledger in tmp_path."""
    _isolate(monkeypatch, tmp_path)
    monkeypatch.setenv("ROBSON_EXCHANGE", "binance")
    monkeypatch.setenv("ROBSON_BINANCE__BASE_URL", fake.url)
    monkeypatch.setenv("ROBSON_BINANCE__WS_URL", fake.ws_url)
    monkeypatch.setenv("ROBSON_BINANCE__SYMBOLS", '["BTC/USDT"]')
    monkeypatch.setenv("ROBSON_BINANCE_API_KEY", KEY)
    monkeypatch.setenv("ROBSON_BINANCE_API_SECRET", SECRET)
    new_ledger(f"sqlite:///{tmp_path / 'robson.db'}")
    return dict(os.environ)


class Lines:
    """What a subprocess prints, read on a thread, so that a test can wait for a line with a deadline (no sleeps)."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self.ended = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self.ended = True
            self._changed.notify_all()

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self.ended or text in self.text, timeout)
            assert text in self.text, f"not printed within {timeout} s: {text!r}; printed: {self.text!r}"

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def rest(self) -> str:
        self._reader.join(timeout=60)
        return self.text


def start_run(options: list[str], env: dict[str, str], errors: IO[str]) -> tuple[subprocess.Popen[str], Lines]:
    """`robson run` as a process of its own, what it prints read on a thread, its stderr to `errors`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "robson", "run", *options], env=env, stdout=subprocess.PIPE, stderr=errors, text=True
    )
    assert process.stdout is not None
    return process, Lines(process.stdout)


def writes(fake: BinanceFake) -> list[str]:
    return [r.route for r in fake.requests if r.route in WRITES]


def test_run_picks_up_a_stop_the_venue_filled_while_it_was_down(
    fake: BinanceFake, env: dict[str, str], tmp_path: Path
) -> None:
    robson("plan", "BTC/USDT", "--side", "long", "--entry", "90000", "--stop", "88200", "--rr", "2")
    robson("execute", "1")
    assert robson_json("show", "1")["status"] == "ACTIVE"
    resting = [(o.type, o.price or o.stop_price) for o in fake.orders if o.is_open]
    assert resting == [("STOP_LOSS", Decimal("88200")), ("LIMIT_MAKER", Decimal("93600"))]  # the OCO, on the venue

    assert fake.set_price("BTCUSDT", "88000") == 1  # through the stop, no Robson running: the venue fills it
    sent = writes(fake)
    run_env = {k: v for k, v in env.items() if k != "ROBSON_EXCHANGE"}  # the venue comes from --exchange alone
    with (tmp_path / "run.err").open("w+") as errors:
        process, printed = start_run(["--exchange", "binance", "--poll", "0.05"], run_env, errors)
        try:
            printed.wait_for("operation 1: CLOSED STOP_LOSS")  # reported once it is in the ledger
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        out = printed.rest()
        process.stdout.close()
        errors.seek(0)
        err = errors.read()
    assert process.returncode == 0, err
    assert "watching binance" in out and "robson run: stopped" in out

    app = bootstrap.build()
    try:
        operation = planning.load(app.context, 1)
    finally:
        app.close()
    assert operation.status.value == "CLOSED" and operation.close_reason is not None
    assert operation.close_reason.value == "STOP_LOSS"
    with fake.venue.lock:
        trades = list(fake.venue.trades)
    venue_fills = sorted(
        (str(t["id"]), Decimal(t["price"]), Decimal(t["qty"]), Decimal(t["commission"])) for t in trades
    )
    ledger_fills = sorted((f.trade_id, f.price, f.quantity, f.fee) for f in operation.fills)
    assert ledger_fills == venue_fills  # the entry at 90,000 and the stop at 88,000, fees to the satoshi
    assert [price for _, price, _, _ in ledger_fills] == [Decimal("90000"), Decimal("88000")]
    assert writes(fake) == sent  # picked up, not redone: no order sent, none cancelled
    assert fake.balance("BTC") == (Decimal(0), Decimal(0))
    assert KEY not in out + err and SECRET not in out + err


def test_run_on_binance_without_keys_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _isolate(monkeypatch, tmp_path)
    process = subprocess.run(
        [sys.executable, "-m", "robson", "run", "--exchange", "binance"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 2
    assert process.stderr.strip().splitlines() == [process.stderr.strip()]
    assert process.stderr.startswith(MISSING_KEYS), process.stderr
    assert not (tmp_path / "robson.db").exists()  # refused before anything was opened
    monkeypatch.setenv("ROBSON_BINANCE_API_KEY", KEY)  # half a pair is no pair
    assert failure("reconcile", "--exchange", "binance", code=2).startswith(MISSING_KEYS)


def test_keys_never_appear_in_what_robson_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with BinanceFake(api_key="the-key-this-venue-expects") as other:
        _isolate(monkeypatch, tmp_path)
        monkeypatch.setenv("ROBSON_BINANCE__BASE_URL", other.url)
        monkeypatch.setenv("ROBSON_BINANCE__WS_URL", other.ws_url)
        monkeypatch.setenv("ROBSON_BINANCE__SYMBOLS", '["BTC/USDT"]')
        monkeypatch.setenv("ROBSON_BINANCE_API_KEY", KEY)
        monkeypatch.setenv("ROBSON_BINANCE_API_SECRET", SECRET)
        new_ledger(f"sqlite:///{tmp_path / 'robson.db'}")
        for command in (["reconcile", "--exchange", "binance"], ["run", "--exchange", "binance", "--poll", "0.05"]):
            process = subprocess.run(
                [sys.executable, "-m", "robson", *command],
                env={**os.environ, "ROBSON_DEBUG": ""},
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert process.returncode == 1, (process.stdout, process.stderr)
            assert "Binance refused the API key" in process.stderr
            assert KEY not in process.stdout + process.stderr and SECRET not in process.stdout + process.stderr
        assert any(r.api_key == KEY for r in other.requests)  # the key did go where it belongs: to the venue


def test_paper_commands_refuse_a_live_venue_with_one_line(env: dict[str, str]) -> None:
    assert "works on the paper exchange only" in failure("price", "BTC/USDT", "90000", code=2)
    assert "works on the paper exchange only" in failure("paper", "reset", code=2)
    assert "--exchange must be one of paper, binance, alpaca" in failure("run", "--exchange", "kraken", code=2)


def test_commands_that_only_read_the_ledger_need_no_keys_and_ask_the_venue_nothing(
    env: dict[str, str], fake: BinanceFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    robson("plan", "BTC/USDT", "--side", "long", "--entry", "90000", "--stop", "88200", "--rr", "2")
    monkeypatch.delenv("ROBSON_BINANCE_API_KEY")
    monkeypatch.delenv("ROBSON_BINANCE_API_SECRET")
    asked = len(fake.requests)

    assert [op["status"] for op in robson_json("operations")] == ["PLANNED"]
    assert robson_json("show", "1")["symbol"] == "BTC/USDT"
    assert any(row["action"] == "OperationPlanned" for row in robson_json("audit", "1"))
    assert len(fake.requests) == asked  # nothing was asked of the venue
    assert failure("portfolio", code=2).startswith(MISSING_KEYS)  # what needs the venue still needs its keys
