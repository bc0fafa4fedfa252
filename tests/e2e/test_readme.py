"""The README's examples run as written: the quickstart up to the execute, then its tranche example."""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from robson.clock import SystemClock
from tests.e2e.cli import robson

README = Path(__file__).resolve().parents[2] / "README.md"


def _commands(after: str, until: str) -> list[list[str]]:
    """The `robson ...` lines of the README between two markers, comments dropped, `&&` split."""
    text = README.read_text(encoding="utf-8")
    start = text.index(after)
    block = text[start : text.index(until, start) + len(until)]
    commands = []
    for line in block.splitlines():
        code = re.sub(r"\s+#.*$", "", line).strip()
        if not code.startswith("robson "):
            continue
        for part in code.split("&&"):
            words = shlex.split(part)
            if words and words[0] == "robson":
                commands.append(words[1:])
    return commands


def test_the_readme_tranche_example_is_accepted_under_the_default_limits(
    db: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for command in _commands("# 1. How much?", "robson execute 1"):
        robson(*db, *command)
    later = datetime.now(UTC) + timedelta(minutes=16)  # past the 15 min TRANCHE_COOLDOWN
    monkeypatch.setattr(SystemClock, "now", lambda self: later)
    tranche = _commands("# after quickstart step 2", "robson validate 1 && robson execute 1")
    assert [c[0] for c in tranche] == ["price", "plan", "validate", "execute"]
    said = [robson(*db, *command) for command in tranche]
    assert "last tranche filled 0.00500 at 91018.20; the position is now 0.05465 at an average" in " ".join(
        said[-1].split()
    )
    view = robson(*db, "show", "1", "--json")
    assert '"position_quantity": "0.05465"' in view
