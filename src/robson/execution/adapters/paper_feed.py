"""The paper venue as a price feed: each poll re-reads the account (another process pushes the prices) and
returns the symbols whose price changed since the last poll."""

from __future__ import annotations

from decimal import Decimal

from robson.execution.adapters.paper import PaperExchange


class PaperFeed:
    def __init__(self, exchange: PaperExchange) -> None:
        self.exchange = exchange
        self._seen: dict[str, Decimal] = {}

    def poll(self) -> list[tuple[str, Decimal]]:
        self.exchange.reload()
        ticks = [(symbol, price) for symbol, price in self.exchange.prices().items() if self._seen.get(symbol) != price]
        self._seen.update(ticks)
        return ticks
