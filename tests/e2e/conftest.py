from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli import new_ledger


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A fresh data directory and ledger, and no configuration from the machine running the tests."""
    monkeypatch.setenv("ROBSON_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ROBSON_CONFIG", raising=False)
    monkeypatch.delenv("ROBSON_DATABASE_URL", raising=False)
    ledger = tmp_path / "robson.db"
    new_ledger(f"sqlite:///{ledger}")  # an existing ledger: only init-like commands start one
    return ["--db", str(ledger)]
