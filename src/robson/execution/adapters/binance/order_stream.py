"""BinanceOrderStream: the account's own order updates, pushed by Binance's user-data stream (ccxt.pro), as the
OrderReports the REST path reads.

ccxt.pro subscribes on the WebSocket API (userDataStream.subscribe.signature, signed with the account's keys; no
listenKey to keep alive) and hands every message to `handle_message`, where it is read here before ccxt sees it:
each executionReport becomes an OrderReport through the exchange's own reader (the same client order id, status,
side and type mapping as REST, amounts as Decimals from the wire strings), with the trade it reports as its one fill
(trade id, price, quantity, fee and fee asset) and the order's cumulative filled quantity. A message that cannot be
read is refused, counted and kept for refused(); ccxt never sees it. A dropped connection, or the venue ending the
subscription, is connected and subscribed again with backoff.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from robson.execution.adapters.binance.errors import _first_line, _redact, log
from robson.execution.adapters.binance.streams import BACKOFF, StreamThread, _Refusing
from robson.execution.adapters.binance.wire import Raw, _config, _order_of_execution, _point_at, _shown, _user_event
from robson.ports import ExchangeError, OrderReport, Retryable

ENDED = frozenset({"eventStreamTerminated", "listenKeyExpired"})  # the venue's word that the subscription is over


class CcxtUserStreams(Protocol):
    """What the order stream uses of ccxt.pro's binance client (`_UserStreams`): the reports come through
    `handle_message`, so what the watcher returns is not read; it is awaited to learn that the connection failed."""

    urls: dict[str, object]

    async def load_markets(self) -> object: ...

    async def authenticate(self) -> object: ...  # subscribes to the account's user data; returns once subscribed

    async def watch_orders(self) -> object: ...

    async def close_ws_clients(self) -> object: ...

    async def close(self) -> object: ...


class _UserStreams(_Refusing):
    """ccxt.pro.binance that hands each user-data message to `on_message` before ccxt parses it; ccxt never sees one
    that `on_message` refused (returned False for)."""

    def __init__(
        self, config: dict[str, object], on_message: Callable[[object], bool], on_refused: Callable[[str], None]
    ) -> None:
        super().__init__(config, on_refused)
        self._on_message = on_message

    def handle_message(self, client: object, message: object) -> None:
        if not self._on_message(message):
            return
        try:
            super().handle_message(client, message)
        except Exception as error:  # the report was taken already: ccxt's own reading of it serves nothing here
            log.warning("ccxt could not read the user-data message %s: %s", _shown(message), _first_line(str(error)))


class BinanceOrderStream(StreamThread[CcxtUserStreams]):
    """OrderStream from Binance's user-data stream, on a background thread.

    `read` is the exchange's reader of a raw order (BinanceExchange._report) and `prepare` loads what it reads with
    (the REST markets), once per connection. Reading a leg of an OCO list this process did not place asks REST once
    for its list id, on the stream's thread. `healthy()` is False while the stream is not subscribed, and once more
    after each gap (a reconnect, a message refused), so that a caller that runs its backstop sync whenever it is
    False covers whatever the gap may have held.
    """

    def __init__(
        self,
        api_key: str,
        secret: str,
        read: Callable[[Raw], OrderReport],
        prepare: Callable[[], object],
        *,
        base_url: str | None = None,
        ws_url: str | None = None,
        ws_api_url: str | None = None,
        timeout_ms: int = 10000,
        backoff: Sequence[float] = BACKOFF,
    ) -> None:
        super().__init__("binance-orders", "order stream", backoff, secrets=[s for s in (api_key, secret) if s])
        self._keys = (api_key, secret)
        self._read = read
        self._prepare = prepare
        self._settings = (base_url, ws_url, ws_api_url, timeout_ms)
        self._lock = threading.Lock()
        self._reports: list[OrderReport] = []
        self._refused: list[str] = []  # messages refused since the last call of refused()
        self._gaps_seen = 0  # reconnects and refusals already reported by healthy()
        self._ended = asyncio.Event()  # the venue ended the subscription (stream thread's loop)
        self.malformed = 0  # messages refused in all
        self._start()

    def updates(self) -> list[OrderReport]:
        """The reports that arrived since the last call, oldest first; never waits."""
        with self._lock:
            reports, self._reports = self._reports, []
        return reports

    def healthy(self) -> bool:
        """Subscribed now, and no gap since the last call (see the class)."""
        with self._lock:
            gaps = self.reconnects + self.malformed
            fresh, self._gaps_seen = gaps == self._gaps_seen, gaps
        return self._live.is_set() and fresh

    def refused(self) -> list[str]:
        """The messages refused since the last call, each in one line."""
        with self._lock:
            refused, self._refused = self._refused, []
        return refused

    def _client(self) -> CcxtUserStreams:
        base_url, ws_url, ws_api_url, timeout_ms = self._settings
        client: CcxtUserStreams = _UserStreams(_config(*self._keys, base_url, timeout_ms), self._take, self._refuse)
        _point_at(client, base_url, ws_url, ws_api_url)
        return client

    async def _session(self, client: CcxtUserStreams) -> None:
        """Subscribe on a fresh connection and follow it until it fails or the venue ends it (raises)."""
        try:
            await client.load_markets()
            await asyncio.to_thread(self._prepare)
            self._ended.clear()
            await client.authenticate()
            self._failures = 0
            self._live.set()
            await self._follow(client)
        finally:  # the next session starts on a fresh connection: nothing ccxt kept of this one is reused
            self._live.clear()
            await client.close_ws_clients()

    async def _follow(self, client: CcxtUserStreams) -> None:
        ended = asyncio.ensure_future(self._ended.wait())
        watcher: asyncio.Future[object] | None = None
        try:
            while True:
                watcher = asyncio.ensure_future(client.watch_orders())
                await asyncio.wait([watcher, ended], return_when=asyncio.FIRST_COMPLETED)
                if ended.done():
                    raise Retryable("Binance ended the user-data subscription")
                watcher.result()  # the connection's error, if any
        finally:
            for task in (ended, watcher):
                if task is not None:
                    task.cancel()

    def _take(self, message: object) -> bool:
        """A user-data message (stream thread): an executionReport is read and queued in the order it came; one that
        cannot be read is refused (False: ccxt never sees it)."""
        try:
            event = _user_event(message)
            if event is None:  # a reply to a request: ccxt's (a refusal is said here, ccxt may lose it)
                if isinstance(message, Mapping) and "error" in message:
                    log.warning("Binance refused a user-data request: %s", _redact(_shown(message), self._secrets))
                return True
            if event["e"] in ENDED:
                self._ended.set()
            if event["e"] != "executionReport":
                return True  # a balance or list event, the end of the subscription: ccxt's too
            report = self._read(_order_of_execution(event))
        except (ExchangeError, ValueError) as error:
            self._refuse(_first_line(str(error)))
            return False
        with self._lock:
            self._reports.append(report)
        return True

    def _refuse(self, reason: str) -> None:
        log.warning("Binance user-data message refused: %s", reason)
        with self._lock:
            self._refused.append(reason)
            self.malformed += 1
