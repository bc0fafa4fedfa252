"""The paper venue as a price feed. Every price pushed into the paper market (by robson price, a replay, another
process) is queued in the database, a bar as its path (open, the extreme nearer the open, the other extreme,
close); the feed takes the queue in order, so the monitor sees every pushed price, not only the last one: a flash
crash through a stop and back between two passes is acted on."""

from __future__ import annotations

from decimal import Decimal

from robson.domain.fills import Fill
from robson.execution.adapters.paper import PaperExchange
from robson.execution.matching import Bar
from robson.ports import PriceQueue


class QueuedMarket:
    """PaperMarket: the paper venue's market side, queuing each price it takes for the paper feed."""

    def __init__(self, exchange: PaperExchange, queue: PriceQueue) -> None:
        self.exchange = exchange
        self.queue = queue

    def push_price(self, symbol: str, price: Decimal) -> list[Fill]:
        fills = self.exchange.push_price(symbol, price)
        self.queue.append(symbol, [price])
        return fills

    def push_bar(self, symbol: str, open_: Decimal, high: Decimal, low: Decimal, close: Decimal) -> list[Fill]:
        fills = self.exchange.push_bar(symbol, open_, high, low, close)
        self.queue.append(symbol, Bar(open_, high, low, close).path())
        return fills

    def reset(self, balances: dict[str, Decimal]) -> None:
        self.exchange.reset(balances)
        self.queue.clear()

    def reload(self) -> None:
        self.exchange.reload()


class PaperFeed:
    """PriceFeed (and StreamFeed) over the paper venue: the queued prices in order; then, for a price the venue
    holds that came another way (no queue), that price once."""

    def __init__(self, exchange: PaperExchange, queue: PriceQueue) -> None:
        self.exchange = exchange
        self.queue = queue
        self._seen: dict[str, Decimal] = {}

    def poll(self) -> list[tuple[str, Decimal]]:
        ticks = self.queue.take()
        self.exchange.reload()
        self._seen.update(ticks)
        changed = [(s, p) for s, p in self.exchange.prices().items() if self._seen.get(s) != p]
        self._seen.update(changed)
        return ticks + changed

    def refused(self) -> list[str]:
        return []  # the paper market refuses what is no price before queuing it

    def follow_trades(self, symbols: frozenset[str]) -> None:
        """Every pushed price is delivered already."""
