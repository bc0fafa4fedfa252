"""Run the CLI in-process as a trader would, and read what it says."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from robson import bootstrap
from robson.cli.main import app

runner = CliRunner()


def robson(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout


def robson_json(*args: str, code: int = 0) -> Any:
    return json.loads(robson(*args, "--json", code=code))


def failure(*args: str, code: int) -> str:
    """A command that fails with one line on stderr and this exit code; returns the line."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def new_ledger(url: str) -> None:
    """Start an empty ledger at `url`, as `robson --create` would: only init-like commands make one."""
    bootstrap.build(url, offline=True).close()
