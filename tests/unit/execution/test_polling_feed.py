"""The polling feed: the venue's last prices, at most once per interval, only those that changed."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from robson.execution.adapters.polling_feed import PollingFeed
from robson.ports import Retryable


class Prices:
    name = "stub"

    def __init__(self) -> None:
        self.prices: dict[str, D | None] = {"AAPL/USD": D("150"), "MSFT/USD": None}
        self.down: set[str] = set()
        self.asked = 0

    def last_price(self, symbol: str) -> D | None:
        self.asked += 1
        if symbol in self.down:
            raise Retryable("the venue did not answer in time")
        return self.prices[symbol]


def test_changed_prices_once_per_interval() -> None:
    venue, now = Prices(), [0.0]
    feed = PollingFeed(venue, ["AAPL/USD", "MSFT/USD"], 2.0, lambda: now[0])  # type: ignore[arg-type]
    assert feed.poll() == [("AAPL/USD", D("150"))]  # no trade yet for MSFT
    now[0] = 1.0
    assert feed.poll() == [] and venue.asked == 2  # within the interval: the venue is not asked
    now[0] = 2.0
    assert feed.poll() == []  # asked again, nothing changed
    venue.prices["MSFT/USD"] = D("400")
    venue.down.add("AAPL/USD")
    now[0] = 4.0
    assert feed.poll() == [("MSFT/USD", D("400"))]  # a symbol the venue failed on is skipped, not fatal


def test_a_feed_needs_symbols() -> None:
    with pytest.raises(ValueError, match="at least one symbol"):
        PollingFeed(Prices(), [], 1.0, lambda: 0.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [D("NaN"), D("Infinity"), D(0), D(-5)])
def test_a_price_that_is_no_real_price_is_refused_and_the_next_real_one_delivered(bad: D) -> None:
    venue, now = Prices(), [0.0]
    feed = PollingFeed(venue, ["AAPL/USD"], 1.0, lambda: now[0])  # type: ignore[arg-type]
    venue.prices["AAPL/USD"] = bad
    assert feed.poll() == []
    assert len(feed.refused()) == 1 and feed.refused() == []
    venue.prices["AAPL/USD"] = D("149")
    now[0] = 1.0
    assert feed.poll() == [("AAPL/USD", D("149"))]
