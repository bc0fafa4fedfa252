"""BinanceFeed: the monitor's prices from Binance's market streams (ccxt.pro websockets), with reconnect and a
REST fallback.

Every symbol's miniTicker stream is watched (Binance pushes it about once a second: a sample); symbols with internal
stops are also watched on the aggregate-trade stream, so that every trade reaches the monitor, wicks included.
Each message is read here before ccxt sees it: its prices are queued in the order they came, and one that is not
a real price (0, negative, NaN, infinite, missing, not JSON) is refused, counted and the stream subscribed again at
once (inside ccxt such a message stops the receive loop: the socket stays open and delivers nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from robson.domain.errors import InvalidValue
from robson.execution.adapters.binance.errors import _first_line, log
from robson.execution.adapters.binance.streams import BACKOFF, StreamThread, _Refusing
from robson.execution.adapters.binance.wire import _config, _market_prices, _point_at, _shown
from robson.ports import (
    Retryable,
    UnknownSymbol,
)

if TYPE_CHECKING:
    from robson.execution.adapters.binance.exchange import BinanceExchange


class CcxtStreams(Protocol):
    """What the feed uses of ccxt.pro's binance client (`_Streams`): the prices themselves come through
    `handle_message`, so what the watchers return is not read."""

    urls: dict[str, object]

    async def load_markets(self) -> object: ...

    async def watch_tickers(self, symbols: list[str]) -> object: ...

    async def watch_trades_for_symbols(self, symbols: list[str], params: Mapping[str, str]) -> object: ...

    async def close_ws_clients(self) -> object: ...

    async def close(self) -> object: ...


class _Streams(_Refusing):
    """ccxt.pro.binance that hands each market message's prices to `on_price` before ccxt parses it, and refuses
    (through `on_refused`) a message that carries no real price; ccxt never sees that one."""

    def __init__(
        self, config: dict[str, object], on_price: Callable[[str, Decimal], None], on_refused: Callable[[str], None]
    ) -> None:
        super().__init__(config, on_refused)
        self._on_price = on_price

    def handle_message(self, client: object, message: object) -> None:
        try:
            prices = _market_prices(message)
        except InvalidValue as error:
            self._on_refused(str(error))
            return
        for market, price in prices:
            self._on_price(market, price)
        try:
            super().handle_message(client, message)
        except Exception as error:  # ccxt's own reading failed: its receive loop would stop; start afresh instead
            self._on_refused(f"ccxt could not read {_shown(message)}: {_first_line(str(error))}")


class BinanceFeed(StreamThread[CcxtStreams]):
    """PriceFeed (and StreamFeed) from Binance's market streams (ccxt.pro) on a background thread.

    A dropped socket is reconnected with backoff; while it is down (and before its first tick) poll() asks REST
    for the last prices instead. A malformed message is refused and the streams subscribed again at once.
    """

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        base_url: str | None = None,
        ws_url: str | None = None,
        timeout_ms: int = 10000,
        backoff: Sequence[float] = BACKOFF,
        rest: BinanceExchange | None = None,
    ) -> None:
        if not symbols:
            raise ValueError("a price feed needs at least one symbol")
        super().__init__("binance-feed", "price stream", backoff)
        self.symbols = list(symbols)
        from robson.execution.adapters.binance.exchange import BinanceExchange

        self._rest = rest or BinanceExchange("", "", base_url=base_url, timeout_ms=timeout_ms, symbols=symbols)
        self._settings = (base_url, ws_url, timeout_ms)
        self._lock = threading.Lock()
        self._ticks: list[tuple[str, Decimal]] = []
        self._symbol_of = {symbol.replace("/", ""): symbol for symbol in self.symbols}  # Binance's market ids
        self._refused: list[str] = []  # messages refused since the last call of refused()
        self._traded: frozenset[str] = frozenset()  # the symbols watched on the aggregate-trade stream too
        self._wake = asyncio.Event()  # set when the streams must be subscribed again (feed thread's loop)
        self._resubscribe = False  # a malformed message came: subscribe again on a fresh connection
        self._delivered: dict[str, Decimal] = {}  # last price per symbol handed out by poll() (caller's thread)
        self._unlisted: set[str] = set()  # symbols the venue said it does not list: no longer asked for
        self.resubscribes = 0  # after a malformed message
        self.malformed = 0  # messages refused in all
        self._start()

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

    def refused(self) -> list[str]:
        """The messages refused since the last call, each in one line."""
        with self._lock:
            refused, self._refused = self._refused, []
        return refused

    def follow_trades(self, symbols: frozenset[str]) -> None:
        """Watch these symbols' aggregate trades as well (every trade, not a sample); subscribed at once."""
        wanted = frozenset(symbol for symbol in symbols if symbol in self.symbols)
        with self._lock:
            if wanted == self._traded:
                return
            self._traded = wanted
        with contextlib.suppress(RuntimeError):  # the loop may be closed already
            self._loop.call_soon_threadsafe(self._wake.set)

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

    def _client(self) -> CcxtStreams:
        base_url, ws_url, timeout_ms = self._settings
        client: CcxtStreams = _Streams(_config("", "", base_url, timeout_ms), self._take, self._refuse)
        _point_at(client, base_url, ws_url)
        return client

    async def _session(self, client: CcxtStreams) -> None:
        """Keep the subscriptions open (the prices themselves arrive through `_take`) until the symbols to follow
        trade by trade change (the streams are then subscribed again) or the stream fails (raises)."""
        await client.load_markets()  # once, before any watcher: a watcher cancelled while loading would poison it
        self._wake.clear()
        with self._lock:
            traded = sorted(self._traded)

        def watch(kind: str) -> asyncio.Future[object]:
            watching: Coroutine[Any, Any, object] = (
                client.watch_tickers(self.symbols)
                if kind == "tickers"
                else client.watch_trades_for_symbols(traded, params={"name": "aggTrade"})
            )
            return asyncio.ensure_future(watching)

        watchers = {watch(kind): kind for kind in ("tickers", "trades") if kind == "tickers" or traded}
        changed: asyncio.Future[object] = asyncio.ensure_future(self._wake.wait())
        try:
            while not changed.done():
                done, _ = await asyncio.wait([*watchers, changed], return_when=asyncio.FIRST_COMPLETED)
                for task in done - {changed}:
                    kind = watchers.pop(task)
                    task.result()  # the stream's error, if any
                    self._failures = 0
                    watchers[watch(kind)] = kind
        finally:
            for task in (*watchers, changed):
                task.cancel()
        if self._resubscribe:  # a fresh connection: whatever ccxt made of the bad message goes with the old one
            self._resubscribe = False
            self._live.clear()
            self.resubscribes += 1
        await client.close_ws_clients()

    def _take(self, market: str, price: Decimal) -> None:
        """A price read from the socket (feed thread): queued in the order it came."""
        symbol = self._symbol_of.get(market)
        if symbol is None:
            return
        with self._lock:
            self._ticks.append((symbol, price))
        self._live.set()

    def _refuse(self, reason: str) -> None:
        """A message that carried no real price (feed thread): counted, kept for refused(), and the streams are
        subscribed again at once."""
        log.warning("Binance market message refused, subscribing again: %s", reason)
        with self._lock:
            self._refused.append(reason)
            self.malformed += 1
        self._resubscribe = True
        self._wake.set()
