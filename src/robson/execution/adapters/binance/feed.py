"""BinanceFeed: the monitor's prices from ccxt.pro websockets, with reconnect and a REST fallback."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import ccxt  # type: ignore[import-untyped]
import ccxt.pro  # type: ignore[import-untyped]

from robson.execution.adapters.binance.errors import _first_line, log
from robson.execution.adapters.binance.wire import _amount, _config, _point_at
from robson.ports import (
    Retryable,
    UnknownSymbol,
)

# ---- the price feed ------------------------------------------------------------------------------------------

if TYPE_CHECKING:
    from robson.execution.adapters.binance.exchange import BinanceExchange


class BinanceFeed:
    """PriceFeed from Binance's miniTicker websocket streams (ccxt.pro) on a background thread.

    A dropped socket is reconnected with backoff; while it is down (and before its first tick) poll() asks REST
    for the last prices instead.
    """

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        base_url: str | None = None,
        ws_url: str | None = None,
        timeout_ms: int = 10000,
        backoff: Sequence[float] = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0),
        rest: BinanceExchange | None = None,
    ) -> None:
        if not symbols:
            raise ValueError("a price feed needs at least one symbol")
        self.symbols = list(symbols)
        from robson.execution.adapters.binance.exchange import BinanceExchange

        self._rest = rest or BinanceExchange("", "", base_url=base_url, timeout_ms=timeout_ms, symbols=symbols)
        self._settings = (base_url, ws_url, timeout_ms)
        self._backoff = tuple(backoff)
        self._lock = threading.Lock()
        self._ticks: list[tuple[str, Decimal]] = []
        self._streamed: dict[str, Decimal] = {}  # last price per symbol taken from the socket (feed thread only)
        self._delivered: dict[str, Decimal] = {}  # last price per symbol handed out by poll() (caller's thread)
        self._unlisted: set[str] = set()  # symbols the venue said it does not list: no longer asked for
        self._live = threading.Event()
        self._closing = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop = asyncio.new_event_loop()
        self.reconnects = 0
        self._thread = threading.Thread(target=self._run, name="binance-feed", daemon=True)
        self._thread.start()

    @property
    def connected(self) -> bool:
        """True while the websocket delivers; False before its first tick and after a drop."""
        return self._live.is_set()

    def poll(self) -> list[tuple[str, Decimal]]:
        """The ticks since the last poll, in order. A repeat of a symbol's last delivered price is left out, as
        the paper feed does, so a switch between socket and REST hands out no stale copies."""
        with self._lock:
            ticks, self._ticks = self._ticks, []
        fresh = []
        for symbol, price in ticks + (self._rest_ticks() if not self._live.is_set() else []):
            if self._delivered.get(symbol) != price:
                fresh.append((symbol, price))
                self._delivered[symbol] = price
        return fresh

    def close(self) -> None:
        """Stop the stream and its thread; the websocket and ccxt's session are closed on the way out."""
        self._closing.set()
        with contextlib.suppress(RuntimeError):  # the loop may be closed already
            self._loop.call_soon_threadsafe(self._cancel)
        self._thread.join(timeout=10)

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _rest_ticks(self) -> list[tuple[str, Decimal]]:
        ticks = []
        for symbol in self.symbols:
            if symbol in self._unlisted:
                continue
            try:
                price = self._rest.last_price(symbol)
            except Retryable as error:
                log.warning("Binance REST price for %s unavailable: %s", symbol, error)
                continue
            except UnknownSymbol as error:  # delisted, or a symbol the venue never had: not watched any more
                log.error("Binance does not list %s (%s): its price is no longer watched", symbol, error)
                self._unlisted.add(symbol)
                continue
            if price is not None:
                ticks.append((symbol, price))
        return ticks

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._task = self._loop.create_task(self._stream())
        try:
            self._loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        finally:
            self._loop.close()

    async def _stream(self) -> None:
        base_url, ws_url, timeout_ms = self._settings
        client = ccxt.pro.binance(_config("", "", base_url, timeout_ms))
        _point_at(client, base_url, ws_url)
        failures = 0
        try:
            while not self._closing.is_set():
                try:
                    tickers = await client.watch_tickers(self.symbols)
                except Exception as error:  # anything: the feed thread must outlive a bad message or a dead socket
                    self._live.clear()
                    delay = self._backoff[min(failures, len(self._backoff) - 1)]
                    failures += 1
                    self.reconnects += 1
                    log.warning("Binance price stream down (%s); reconnecting in %g s", _first_line(str(error)), delay)
                    await asyncio.sleep(delay)
                    continue
                failures = 0
                self._receive(tickers, client.tickers)
        finally:
            self._live.clear()
            await client.close()

    def _receive(self, tickers: Mapping[str, Any], latest: Mapping[str, Any]) -> None:
        """Queue the ticks of one wake-up. ccxt resolves a watcher once; updates that arrived before the next
        watch only sit in client.tickers, so the newest of those is queued too."""
        ticks = []
        for source in (tickers, {s: latest[s] for s in self.symbols if s in latest}):
            for symbol, ticker in source.items():
                text = (ticker.get("info") or {}).get("c")
                if text is None:
                    continue
                price = _amount({"c": text}, "c")
                if source is tickers or self._streamed.get(symbol) != price:
                    ticks.append((symbol, price))
                    self._streamed[symbol] = price
        with self._lock:
            self._ticks.extend(ticks)
        self._live.set()
