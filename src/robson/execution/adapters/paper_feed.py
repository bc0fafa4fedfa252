"""The paper venue as a price feed. Every price pushed into the paper market (by robson price, a replay, another
process) is queued in the database, a bar as its path (open, the extreme nearer the open, the other extreme,
close); the feed takes the queue in order, so the monitor sees every pushed price, not only the last one: a flash
crash through a stop and back between two passes is acted on."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from robson.domain.fills import Fill
from robson.execution.adapters.paper import PaperExchange
from robson.execution.matching import Bar
from robson.ports import Clock, PriceQueue


class QueuedMarket:
    """PaperMarket: the paper venue's market side, queuing each price it takes for the paper feed."""

    def __init__(self, exchange: PaperExchange, queue: PriceQueue, clock: Clock) -> None:
        self.exchange = exchange
        self.queue = queue
        self.clock = clock

    def push_price(self, symbol: str, price: Decimal) -> list[Fill]:
        fills = self.exchange.push_price(symbol, price)
        self.queue.append(symbol, [price], self.clock.now())
        return fills

    def push_bar(self, symbol: str, open_: Decimal, high: Decimal, low: Decimal, close: Decimal) -> list[Fill]:
        fills = self.exchange.push_bar(symbol, open_, high, low, close)
        self.queue.append(symbol, Bar(open_, high, low, close).path(), self.clock.now())
        return fills

    def reset(self, balances: dict[str, Decimal]) -> None:
        self.exchange.reset(balances)
        self.queue.clear()

    def reload(self) -> None:
        self.exchange.reload()


class PaperFeed:
    """PriceFeed (StreamFeed, QueuedFeed) over the paper venue: the queued prices in order, each with the time it
    was pushed; then, for a price the venue holds that came another way (no queue), that price once.

    A queued price leaves the queue only once the monitor says it acted on it (acted()): a monitor killed in
    between loses nothing, its successor is handed the same prices again (acting on a price twice does nothing
    the first time did not)."""

    def __init__(self, exchange: PaperExchange, queue: PriceQueue) -> None:
        self.exchange = exchange
        self.queue = queue
        self._seen: dict[str, Decimal] = {}
        self._handed: set[int] = set()  # the queued prices handed out and not yet acted on, by id

    def poll(self) -> list[tuple[str, Decimal]]:
        return [(symbol, price) for symbol, price, _ in self.poll_timed()]

    def poll_timed(self) -> list[tuple[str, Decimal, datetime | None]]:
        fresh = [row for row in self.queue.pending() if row[0] not in self._handed]  # by id: see pending()
        self._handed.update(row[0] for row in fresh)
        queued = [(symbol, price, at) for _, symbol, price, at in fresh]
        self.exchange.reload()
        self._seen.update((symbol, price) for symbol, price, _ in queued)
        changed = [(s, p) for s, p in self.exchange.prices().items() if self._seen.get(s) != p]
        self._seen.update(changed)
        return [*queued, *((symbol, price, None) for symbol, price in changed)]

    def refused(self) -> list[str]:
        return []  # the paper market refuses what is no price before queuing it

    def follow_trades(self, symbols: frozenset[str]) -> None:
        """Every pushed price is delivered already."""

    def acted(self) -> None:
        if self._handed:
            self.queue.done(sorted(self._handed))
            self._handed.clear()
