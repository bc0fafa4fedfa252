"""Alpaca's data API prints JSON numbers, which can be NaN, infinite, zero or negative: none of them is a price.
The adapter refuses them as a retryable fault (asked again later); the polling feed skips them and goes on."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D

import pytest

from robson.execution.adapters.alpaca import AlpacaExchange
from robson.execution.adapters.polling_feed import PollingFeed
from robson.ports import Retryable
from tests.fakes.alpaca_server import AlpacaFake

from .test_alpaca import AAPL, connect

BAD_PRINTS = [float("nan"), float("inf"), float("-inf"), 0.0, -5.0]


@pytest.fixture
def fake() -> Iterator[AlpacaFake]:
    with AlpacaFake(symbols=("AAPL",)) as server:
        server.set_price("AAPL", D("150.37"))
        yield server


@pytest.fixture
def exchange(fake: AlpacaFake) -> AlpacaExchange:
    return connect(fake)


@pytest.mark.parametrize("bad", BAD_PRINTS)
def test_a_bad_print_is_no_last_price(fake: AlpacaFake, exchange: AlpacaExchange, bad: float) -> None:
    fake.printed["AAPL"] = bad
    with pytest.raises(Retryable, match="not a price"):
        exchange.last_price(AAPL)
    del fake.printed["AAPL"]
    assert exchange.last_price(AAPL) == D("150.37")


@pytest.mark.parametrize("bad", BAD_PRINTS)
def test_the_polling_feed_skips_a_bad_print_and_delivers_the_next_price(
    fake: AlpacaFake, exchange: AlpacaExchange, bad: float
) -> None:
    now = [0.0]
    feed = PollingFeed(exchange, [AAPL], 1.0, lambda: now[0])
    fake.printed["AAPL"] = bad
    assert feed.poll() == []
    del fake.printed["AAPL"]
    now[0] = 1.0
    assert feed.poll() == [(AAPL, D("150.37"))]
