"""Race real `robson` processes: each is started, imports Robson (the slow part), says it is ready, and then waits
on a shared pipe; once every one is ready the pipe is closed and they all go at once. No sleeps: the start is an
end of file every process reads at the same moment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from robson.bootstrap import App, build
from tests.conftest import DatabaseTarget
from tests.e2e.test_run_binance import Lines

READY = "racer-ready"
RACER = f"""
import os, sys
from robson.cli.main import app
fifo = os.open(sys.argv[1], os.O_RDONLY)  # a writer (the test) holds it open: this returns at once
print({READY!r}, flush=True)
os.read(fifo, 1)  # end of file: every racer was ready and the test closed its end
os.close(fifo)
app(args=sys.argv[2:], prog_name="robson")
"""


class Run:
    """A `robson run` process: what it prints (read as it comes, to wait for a line with a deadline) and, in a
    file, what it logs."""

    def __init__(self, env: dict[str, str], workdir: Path, *options: str) -> None:
        self.errors = tempfile.TemporaryFile("w+", dir=workdir)  # noqa: SIM115 -- closed by end()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "robson", "run", "--poll", "0.05", *options],
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
        )
        assert self.process.stdout is not None
        self.printed = Lines(self.process.stdout)

    def stop(self) -> int:
        """SIGTERM, and its exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def logged(self) -> str:
        self.errors.seek(0)
        return self.errors.read()

    def end(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=60)  # what it logged stays readable (the file goes with this object)


@dataclass(frozen=True)
class Finished:
    args: tuple[str, ...]
    code: int
    out: str
    err: str


def race(commands: list[list[str]], env: dict[str, str], workdir: Path) -> list[Finished]:
    """Run every command as its own process, all released at the same instant; wait for all of them."""
    gate = workdir / f"gate-{os.getpid()}-{len(list(workdir.glob('gate-*')))}"
    os.mkfifo(gate)
    holder = os.open(gate, os.O_RDWR)  # keeps the pipe open for writing until every racer is ready
    processes = []
    try:
        for command in commands:
            process = subprocess.Popen(
                [sys.executable, "-c", RACER, str(gate), *command],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            processes.append(process)
        for process in processes:
            assert process.stdout is not None
            line = process.stdout.readline()  # blocks until that racer is ready (or has died)
            assert line.strip() == READY, (line, process.stderr.read() if process.stderr else "")
    finally:
        os.close(holder)  # the start
    finished = []
    for command, process in zip(commands, processes, strict=True):
        out, err = process.communicate(timeout=300)
        finished.append(Finished(tuple(command), process.returncode, out, err))
    return finished


def isolated_env(database_target: DatabaseTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of every command: no configuration from the machine, the test's own ledger and data."""
    for name in [n for n in os.environ if n.startswith("ROBSON_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ROBSON_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ROBSON_DATABASE_URL", database_env(database_target.url, database_target.schema))
    build(database_target.url, schema=database_target.schema, create=True).close()  # only init-like commands start one
    return dict(os.environ)


def database_env(url: str, schema: str | None) -> str:
    """The ledger URL a CLI process uses: on PostgreSQL, the test's own schema rides in the URL."""
    if schema is None:
        return url
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def open_app(url: str, schema: str | None) -> App:
    return build(url, schema=schema)
