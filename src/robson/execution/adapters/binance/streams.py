"""What Binance's websocket streams share (the price feed, the order stream): a ccxt.pro client that refuses text it
cannot decode, run on its own asyncio loop in a daemon thread and connected again with backoff whenever it fails."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Generic, Protocol, TypeVar

import ccxt.pro

from robson.execution.adapters.binance.errors import _first_line, _redact, log
from robson.execution.adapters.binance.wire import _shown


class _Socket(Protocol):
    """ccxt.pro's websocket client, as far as `_Refusing.client` guards it."""

    handle_text_or_binary_message: Callable[[object], None]
    robson_guarded: bool  # set once guarded; absent before (read with getattr)


class _Refusing(ccxt.pro.binance):
    """ccxt.pro.binance whose websockets hand a message that is not JSON to `on_refused` (inside ccxt it would fail
    before `handle_message` and stop the receive loop: the socket stays open and delivers nothing)."""

    def __init__(self, config: dict[str, object], on_refused: Callable[[str], None]) -> None:
        super().__init__(config)
        self._on_refused = on_refused

    def client(self, url: str) -> _Socket:
        client: _Socket = super().client(url)
        if not getattr(client, "robson_guarded", False):
            decode = client.handle_text_or_binary_message

            def guarded(data: object) -> None:
                try:
                    decode(data)
                except Exception as error:
                    self._on_refused(f"Binance sent a message that is not JSON: {_shown(data)} ({error})")

            client.handle_text_or_binary_message = guarded
            client.robson_guarded = True
        return client


BACKOFF = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)  # seconds before each reconnect in a row; the last one repeats


class Closable(Protocol):
    async def close(self) -> object: ...


Client = TypeVar("Client", bound=Closable)


class StreamThread(Generic[Client]):
    """One ccxt.pro client on its own asyncio loop in a daemon thread. `_session` keeps it subscribed until it fails
    (raises); it is then run again on a fresh connection after the next backoff delay, until close(). `_live` is the
    subclass's to set (it knows when the stream delivers); it is cleared on every failure."""

    def __init__(self, name: str, what: str, backoff: Sequence[float], secrets: Sequence[str] = ()) -> None:
        self._what = what  # for the log: "price stream", "order stream"
        self._secrets = tuple(secrets)  # never in a log line
        self._backoff = tuple(backoff)
        self._failures = 0  # since the stream last delivered: the index of the next backoff delay
        self._live = threading.Event()
        self._closing = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop = asyncio.new_event_loop()
        self.reconnects = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def close(self) -> None:
        """Stop the stream and its thread; the websocket and ccxt's session are closed on the way out."""
        self._closing.set()
        with contextlib.suppress(RuntimeError):  # the loop may be closed already
            self._loop.call_soon_threadsafe(self._cancel)
        self._thread.join(timeout=10)

    def _client(self) -> Client:
        raise NotImplementedError

    async def _session(self, client: Client) -> None:
        raise NotImplementedError

    def _start(self) -> None:
        self._thread.start()

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

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
        client = self._client()
        try:
            while not self._closing.is_set():
                try:
                    await self._session(client)
                except Exception as error:  # anything: the thread must outlive a bad message or a dead socket
                    self._live.clear()
                    delay = self._backoff[min(self._failures, len(self._backoff) - 1)]
                    self._failures += 1
                    self.reconnects += 1
                    reason = _redact(_first_line(str(error)), self._secrets)
                    log.warning("Binance %s down (%s); reconnecting in %g s", self._what, reason, delay)
                    await asyncio.sleep(delay)
        finally:
            self._live.clear()
            await client.close()
