"""MemoryPriceQueue: the paper venue's pushed prices in memory, as SqlPriceQueue keeps them in the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from robson.execution.adapters import memory_store
from robson.execution.adapters.memory_store import MemoryPriceQueue

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=1)


def test_prices_come_out_in_order_with_their_time_until_acted_on() -> None:
    queue = MemoryPriceQueue()
    assert queue.pending() == ([], 0)
    queue.append("BTC/USDT", [D("90000"), D("89900.5")], T0)
    queue.append("ETH/USDT", [D("3100")], T1)
    queue.append("SOL/USDT", [], T1)  # nothing pushed: nothing queued
    queued, newest = queue.pending()
    assert queued == [("BTC/USDT", D("90000"), T0), ("BTC/USDT", D("89900.5"), T0), ("ETH/USDT", D("3100"), T1)]
    after_first, again = queue.pending(after=newest - 2)
    assert after_first == queued[1:] and again == newest
    queue.done(newest - 1)  # the first two were acted on
    assert queue.pending() == ([("ETH/USDT", D("3100"), T1)], newest)
    queue.clear()
    queue.append("BTC/USDT", [D("1")], T1)
    assert queue.pending() == ([("BTC/USDT", D("1"), T1)], newest + 1)  # ids go on after a clear


def test_only_the_newest_prices_are_kept_while_nobody_takes_them() -> None:
    queue = MemoryPriceQueue()
    queue.append("BTC/USDT", [D(n) for n in range(memory_store.KEEP + 5)], T0)
    queued, newest = queue.pending()
    assert len(queued) == memory_store.KEEP and queued[0][1] == D(5) and newest == memory_store.KEEP + 5
