"""A price feed for a venue with no stream wired: it asks the venue's last price of each symbol, at most once per
interval, and hands out the prices that changed. A price that is no real price (NaN, infinite, zero, negative) is
refused, not handed out; the venue adapters refuse those already (a retryable fault), this is the second line."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from decimal import Decimal

from robson.ports import ExchangePort, Retryable

log = logging.getLogger(__name__)


class PollingFeed:
    def __init__(
        self,
        exchange: ExchangePort,
        symbols: Sequence[str],
        interval_seconds: float,
        monotonic: Callable[[], float],
    ) -> None:
        if not symbols:
            raise ValueError("a price feed needs at least one symbol")
        self.exchange = exchange
        self.symbols = list(symbols)
        self._interval = interval_seconds
        self._monotonic = monotonic
        self._next: float | None = None
        self._seen: dict[str, Decimal] = {}
        self._refused: list[str] = []

    def refused(self) -> list[str]:
        """The prices refused since the last call, each in one line."""
        refused, self._refused = self._refused, []
        return refused

    def follow_trades(self, symbols: frozenset[str]) -> None:
        """Nothing to follow: a polled venue offers its last trade only (see the README on what polling sees)."""

    def poll(self) -> list[tuple[str, Decimal]]:
        """The symbols whose last price changed since the last poll; nothing between two intervals (the venue's
        rate limit is the monitor's too). A venue that does not answer for a symbol is asked again next time."""
        now = self._monotonic()
        if self._next is not None and now < self._next:
            return []
        self._next = now + self._interval
        ticks = []
        for symbol in self.symbols:
            try:
                price = self.exchange.last_price(symbol)
            except Retryable as error:
                log.warning("%s price for %s unavailable: %s", self.exchange.name, symbol, error)
                continue
            if price is not None and (not price.is_finite() or price <= 0):
                self._refused.append(f"{self.exchange.name} gave {symbol} the price {price}, which is not a price")
                continue
            if price is not None and self._seen.get(symbol) != price:
                ticks.append((symbol, price))
                self._seen[symbol] = price
        return ticks
