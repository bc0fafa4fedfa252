"""robson price on paper refuses what is no price with one line and exit 2, storing nothing (before, 1e20 filled a
target at 1E+20 and 1e30 ended in `unexpected InvalidOperation`)."""

from __future__ import annotations

import pytest

from tests.e2e.cli import failure, robson, robson_json


@pytest.mark.parametrize("price", ["1e20", "1e30", "0", "0.001", "1000000.01"])
def test_robson_price_refuses_an_absurd_price_in_one_line_and_stores_nothing(db: list[str], price: str) -> None:
    robson(*db, "price", "BTC/USDT", "90000")
    line = failure(*db, "price", "BTC/USDT", price, code=2)
    assert "price" in line
    assert robson_json(*db, "price", "BTC/USDT", "90000.01")["fills"] == []  # the market was left where it was
