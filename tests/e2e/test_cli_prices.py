"""robson price on paper refuses what is no price with one line and exit 2, storing nothing (before, 1e20 filled a
target at 1E+20 and 1e30 ended in `unexpected InvalidOperation`); robson monitor --once acts on every price pushed
since its last pass, not only the last one."""

from __future__ import annotations

import pytest

from tests.e2e.cli import failure, robson, robson_json


@pytest.mark.parametrize("price", ["1e20", "1e30", "0", "0.001", "1000000.01"])
def test_robson_price_refuses_an_absurd_price_in_one_line_and_stores_nothing(db: list[str], price: str) -> None:
    robson(*db, "price", "BTC/USDT", "90000")
    line = failure(*db, "price", "BTC/USDT", price, code=2)
    assert "price" in line.lower()
    assert robson_json(*db, "price", "BTC/USDT", "90000.01")["fills"] == []  # the market was left where it was


def test_monitor_once_acts_on_a_flash_crash_pushed_between_two_passes(
    db: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROBSON_EXITS", '{"default": {"mode": "internal"}}')
    robson(*db, "price", "BTC/USDT", "90000")
    operation = robson_json(*db, "plan", "BTC/USDT", "--side", "long", "--entry", "90000", "--stop", "88200")
    operation_id = str(operation["id"])
    robson(*db, "execute", operation_id)
    robson(*db, "monitor", "--once")
    robson(*db, "price", "BTC/USDT", "88000")  # through the stop at 88,200 ...
    robson(*db, "price", "BTC/USDT", "90000")  # ... and back before the next pass
    assert robson_json(*db, "show", operation_id)["status"] == "ACTIVE"

    robson(*db, "monitor", "--once")

    shown = robson_json(*db, "show", operation_id)
    assert (shown["status"], shown["close_reason"]) == ("CLOSED", "STOP_LOSS")
