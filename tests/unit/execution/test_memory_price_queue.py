"""MemoryPriceQueue: the paper venue's pushed prices in memory, as SqlPriceQueue keeps them in the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from robson.execution.adapters import memory_store
from robson.execution.adapters.memory_store import MemoryPriceQueue

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=1)


def test_prices_come_out_in_order_with_their_id_and_time_until_acted_on() -> None:
    queue = MemoryPriceQueue()
    assert queue.pending() == []
    queue.append("BTC/USDT", [D("90000"), D("89900.5")], T0)
    queue.append("ETH/USDT", [D("3100")], T1)
    queue.append("SOL/USDT", [], T1)  # nothing pushed: nothing queued
    assert queue.pending() == [
        (1, "BTC/USDT", D("90000"), T0),
        (2, "BTC/USDT", D("89900.5"), T0),
        (3, "ETH/USDT", D("3100"), T1),
    ]
    queue.done([1, 3])  # acted on, whatever their order: the others stay
    assert queue.pending() == [(2, "BTC/USDT", D("89900.5"), T0)]
    queue.done([1])  # twice is harmless
    queue.clear()
    queue.append("BTC/USDT", [D("1")], T1)
    assert queue.pending() == [(4, "BTC/USDT", D("1"), T1)]  # ids go on after a clear


def test_only_the_newest_prices_are_kept_while_nobody_takes_them() -> None:
    queue = MemoryPriceQueue()
    queue.append("BTC/USDT", [D(n) for n in range(memory_store.KEEP + 5)], T0)
    queued = queue.pending()
    assert len(queued) == memory_store.KEEP
    assert queued[0][:3] == (6, "BTC/USDT", D(5)) and queued[-1][0] == memory_store.KEEP + 5
