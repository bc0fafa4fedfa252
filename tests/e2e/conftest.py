from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A fresh data directory and ledger, and no configuration from the machine running the tests."""
    monkeypatch.setenv("ROBSON_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ROBSON_CONFIG", raising=False)
    monkeypatch.delenv("ROBSON_DATABASE_URL", raising=False)
    return ["--db", str(tmp_path / "robson.db")]
