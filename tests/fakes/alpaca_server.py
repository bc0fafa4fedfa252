"""A fake Alpaca on 127.0.0.1: the trading API v2 routes alpaca-py calls, the data API's latest trade, and a small
matching venue behind them, so the adapter is tested over the real wire protocol.

    with AlpacaFake() as fake:
        fake.set_price("AAPL", Decimal("150.00"))
        exchange = AlpacaExchange(FAKE_KEY_ID, FAKE_SECRET_KEY, base_url=fake.url, clock=..., timeout=0.5)

The venue: market orders fill at the price; limits, stops, stop-limits, trailing stops, bracket and OCO legs
trigger and fill as `set_price` moves the price (only while `set_clock` says the market is open); a filled leg
cancels its siblings; cash and positions move. Checks as Alpaca answers them: a used client_order_id is a 422,
too little buying power or too few shares a 403, sub-penny prices and fractional resting orders a 422.

Faults, one-shot and per route ("POST /v2/orders", "GET /v2/orders:by_client_order_id", ...):
`fake.inject(route, Fault.TIMEOUT_AFTER)`. Delays end early when the fake stops, so they never hold a test.
Messages marked [U] are this fake's wording where Alpaca's exact text is not known.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from enum import StrEnum
from functools import partial
from typing import Any

from aiohttp import web

FAKE_KEY_ID = "PKFAKEKEYID0123456789"
FAKE_SECRET_KEY = "fake-secret-0123456789abcdefghijklmnop"
CENT = Decimal("0.01")
OPEN_STATUSES = {"new", "partially_filled", "accepted", "held", "pending_new", "accepted_for_bidding", "done_for_day"}
WORKING = {"new", "partially_filled", "accepted"}
STOP_TYPES = {"stop", "stop_limit", "trailing_stop"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Fault(StrEnum):
    TIMEOUT_BEFORE = "timeout_before"  # nothing is done; the answer comes after the client gave up
    TIMEOUT_AFTER = "timeout_after"  # the request is carried out; the answer comes after the client gave up
    HTTP_500 = "http_500"
    HTTP_504 = "http_504"  # one alpaca-py retries on its own unless told not to
    RATE_LIMITED = "rate_limited"  # 429 with Retry-After
    INSUFFICIENT_BUYING_POWER = "insufficient_buying_power"  # 403
    REJECTED = "rejected"  # 422
    ERROR = "error"  # any status, code, message or raw body
    PARTIAL_FILL = "partial_fill"  # the order is accepted; its first execution fills only `quantity`


_CANNED = {
    Fault.HTTP_500: (500, 50010000, "internal server error occurred"),
    Fault.HTTP_504: (504, 50410000, "gateway timeout"),
    Fault.RATE_LIMITED: (429, 42910000, "rate limit exceeded"),
    Fault.INSUFFICIENT_BUYING_POWER: (403, 40310000, "insufficient buying power"),
    Fault.REJECTED: (422, 42210000, "order rejected by the venue"),
}


@dataclass(frozen=True)
class Injected:
    fault: Fault
    status: int = 500
    code: int | None = None
    message: str = ""
    body: str | None = None
    retry_after: int = 1
    quantity: Decimal | None = None
    delay: float = 2.0


@dataclass(frozen=True)
class Recorded:
    """One request as the fake received it (the secret key is never kept)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    key_id: str | None


@dataclass
class FakeOrder:
    id: str
    client_order_id: str
    symbol: str
    side: str
    type: str
    qty: Decimal
    time_in_force: str
    order_class: str
    created_at: datetime
    status: str = "new"
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    hwm: Decimal | None = None
    filled_qty: Decimal = Decimal(0)
    filled_value: Decimal = Decimal(0)
    parent: str | None = None
    legs: list[str] = field(default_factory=list)
    triggered: bool = False
    partial_cap: Decimal | None = None
    updated_at: datetime | None = None
    filled_at: datetime | None = None
    canceled_at: datetime | None = None
    replaced_at: datetime | None = None
    replaced_by: str | None = None
    replaces: str | None = None

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.filled_qty

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass
class Holding:
    qty: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)


class VenueError(Exception):
    """An answer of Alpaca's {"code", "message"} shape."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def text(value: Decimal) -> str:
    """Alpaca's number strings: "10", "150.25"."""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else text(value)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _number(value: Any, name: str) -> Decimal:
    try:
        result = Decimal(str(value))
    except ArithmeticError:
        raise VenueError(422, 40010001, f"invalid {name}: {value}") from None
    if not result.is_finite() or result <= 0:
        raise VenueError(422, 40010001, f"{name} must be > 0")
    return result


class AlpacaFake:
    """The fake server and its venue. Thread-safe: handlers run on the server's loop, tests call from theirs."""

    def __init__(
        self,
        *,
        symbols: tuple[str, ...] = ("AAPL", "MSFT", "SPY"),
        cash: Decimal = Decimal("100000"),
        api_key: str = FAKE_KEY_ID,
        secret_key: str = FAKE_SECRET_KEY,
    ) -> None:
        self._keys = (api_key, secret_key)
        self._lock = threading.RLock()
        self._cash = cash
        self._holdings: dict[str, Holding] = {}
        self._prices: dict[str, Decimal] = {}
        self.printed: dict[str, float] = {}  # a latest trade the data API prints instead (a bad print: nan, inf, 0)
        self.quotes: dict[str, tuple[Decimal, Decimal]] = {}  # symbol -> (bid, ask); else both at the last price
        self._assets: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, FakeOrder] = {}  # by Alpaca id, in creation order
        self.activities: list[dict[str, Any]] = []
        self.requests: list[Recorded] = []
        self._faults: dict[str, deque[Injected]] = {}
        self._partial: Injected | None = None  # the PARTIAL_FILL fault of the request being served
        self._last_time = datetime.now(UTC)
        self._is_open = True
        self._next_open = self._last_time + timedelta(days=1)
        self._next_close = self._last_time + timedelta(hours=6)
        for symbol in symbols:
            self.add_asset(symbol)
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self.url = ""

    # ---- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> AlpacaFake:
        self.start()
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._loop.run_forever, name="alpaca-fake", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(sock), self._loop).result(timeout=10)

    def close(self) -> None:
        if self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._thread = None

    async def _serve(self, sock: socket.socket) -> None:
        self._stopping = asyncio.Event()
        app = web.Application()
        for method, path, handler in self._routes():
            app.router.add_route(method, path, self._wrap(method, path, handler))
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def _shutdown(self) -> None:
        assert self._stopping is not None and self._runner is not None
        self._stopping.set()
        await self._runner.cleanup()

    def _routes(self) -> list[tuple[str, str, Callable[[web.Request, Any], tuple[int, Any]]]]:
        return [
            ("GET", "/v2/account", self._account),
            ("GET", "/v2/clock", self._clock),
            ("GET", "/v2/assets/{symbol}", self._asset),
            ("POST", "/v2/orders", self._submit),
            ("GET", "/v2/orders", self._list_orders),
            ("DELETE", "/v2/orders", self._cancel_all),
            ("GET", "/v2/orders:by_client_order_id", self._by_client_order_id),
            ("GET", "/v2/orders/{order_id}", self._get_order),
            ("PATCH", "/v2/orders/{order_id}", self._replace),
            ("DELETE", "/v2/orders/{order_id}", self._cancel),
            ("GET", "/v2/positions", self._positions),
            ("GET", "/v2/positions/{symbol}", self._position),
            ("GET", "/v2/account/activities/{activity_type}", self._activities),
            ("GET", "/v2/stocks/trades/latest", self._latest_trades),
            ("GET", "/v2/stocks/quotes/latest", self._latest_quotes),
        ]

    # ---- what tests drive -----------------------------------------------------------------------

    def add_asset(self, symbol: str, *, tradable: bool = True, fractionable: bool = True) -> None:
        with self._lock:
            self._assets[symbol] = {
                "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{symbol}.alpaca.fake")),
                "class": "us_equity",
                "exchange": "NASDAQ",
                "symbol": symbol,
                "name": f"{symbol} Inc. Common Stock",
                "status": "active",
                "tradable": tradable,
                "marginable": True,
                "shortable": True,
                "easy_to_borrow": True,
                "fractionable": fractionable,
                "maintenance_margin_requirement": 30,
                "attributes": [],
            }

    def set_price(self, symbol: str, price: Decimal) -> None:
        """A trade prints at this price: resting orders of the symbol trigger and fill against it."""
        with self._lock:
            self._prices[symbol] = price
            self._match(symbol)

    def set_clock(self, is_open: bool, next_open: datetime | None = None, next_close: datetime | None = None) -> None:
        with self._lock:
            self._is_open = is_open
            now = self._now()
            self._next_open = next_open or now + timedelta(hours=1 if not is_open else 24)
            self._next_close = next_close or now + timedelta(hours=6 if is_open else 30)
            for symbol in list(self._prices):
                self._match(symbol)

    def inject(
        self,
        route: str,
        fault: Fault,
        *,
        status: int = 500,
        code: int | None = None,
        message: str = "",
        body: str | None = None,
        retry_after: int = 1,
        quantity: Decimal | None = None,
        delay: float = 2.0,
    ) -> None:
        """Queue one fault for the next request to `route` ("METHOD /path/{name}" as routed)."""
        if route not in {f"{method} {path}" for method, path, _ in self._routes()}:
            raise ValueError(f"the fake has no route {route!r}")
        with self._lock:
            spec = Injected(fault, status, code, message, body, retry_after, quantity, delay)
            self._faults.setdefault(route, deque()).append(spec)

    def requests_to(self, method: str, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def orders_with_client_id(self, client_order_id: str) -> list[FakeOrder]:
        with self._lock:
            return [o for o in self.orders.values() if o.client_order_id == client_order_id]

    def snapshot_orders(self) -> list[FakeOrder]:
        """Every order the venue accepted (bracket and OCO legs included), oldest first, as copies."""
        with self._lock:
            return [replace(o, legs=list(o.legs)) for o in self.orders.values()]

    def snapshot_activities(self) -> list[dict[str, Any]]:
        """Every FILL activity (one per execution), oldest first, as copies."""
        with self._lock:
            return [dict(a) for a in self.activities]

    @property
    def cash(self) -> Decimal:
        with self._lock:
            return self._cash

    def position(self, symbol: str) -> Decimal:
        with self._lock:
            return self._holdings.get(symbol, Holding()).qty

    # ---- the wire --------------------------------------------------------------------------------

    def _wrap(self, method: str, path: str, handler: Callable[[web.Request, Any], tuple[int, Any]]) -> Handler:
        route = f"{method} {path}"

        async def serve(request: web.Request) -> web.StreamResponse:
            body = await request.json(loads=partial(json.loads, parse_float=Decimal)) if request.can_read_body else None
            key_id = request.headers.get("APCA-API-KEY-ID")
            with self._lock:
                self.requests.append(Recorded(method, request.path, dict(request.query), body, key_id))
                queue = self._faults.get(route)
                fault = queue.popleft() if queue else None
            if (key_id, request.headers.get("APCA-API-SECRET-KEY")) != self._keys:
                return self._error(401, 40110000, "request is not authorized")
            if fault is not None and fault.fault is Fault.TIMEOUT_BEFORE:
                await self._pause(fault.delay)
                return self._error(504, 50410000, "gateway timeout")
            if fault is not None and (answer := self._fault_answer(fault)) is not None:
                return answer
            try:
                with self._lock:
                    self._partial = fault if fault is not None and fault.fault is Fault.PARTIAL_FILL else None
                    status, payload = handler(request, body)
            except VenueError as error:
                return self._error(error.status, error.code, error.message)
            finally:
                self._partial = None
            if fault is not None and fault.fault is Fault.TIMEOUT_AFTER:
                await self._pause(fault.delay)
            if payload is None:
                return web.Response(status=status)
            return web.Response(status=status, text=json.dumps(payload), content_type="application/json")

        return serve

    def _fault_answer(self, fault: Injected) -> web.Response | None:
        if fault.fault in _CANNED:
            status, code, message = _CANNED[fault.fault]
            headers = {"Retry-After": str(fault.retry_after)} if fault.fault is Fault.RATE_LIMITED else None
            return self._error(status, fault.code or code, fault.message or message, headers)
        if fault.fault is Fault.ERROR:
            if fault.body is not None:
                return web.Response(status=fault.status, text=fault.body)
            return self._error(fault.status, fault.code or fault.status * 100000, fault.message or "error")
        return None

    async def _pause(self, seconds: float) -> None:
        assert self._stopping is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    @staticmethod
    def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
        body = json.dumps({"code": code, "message": message})
        return web.Response(status=status, text=body, content_type="application/json", headers=headers)

    # ---- account, clock, assets, positions, activities, data ---------------------------------------

    def _account(self, request: web.Request, body: Any) -> tuple[int, Any]:
        long_value = sum((h.qty * self._prices.get(s, Decimal(0)) for s, h in self._holdings.items()), Decimal(0))
        equity = self._cash + long_value
        buying_power = self._cash - self._reserved_cash()
        return 200, {
            "id": "2f5b1a4e-8b43-4c1e-9a0c-000000000001",
            "account_number": "PA3FAKE00001",
            "status": "ACTIVE",
            "crypto_status": "ACTIVE",
            "currency": "USD",
            "buying_power": text(buying_power),
            "regt_buying_power": text(buying_power),
            "daytrading_buying_power": "0",
            "non_marginable_buying_power": text(buying_power),
            "cash": text(self._cash),
            "accrued_fees": "0",
            "pending_transfer_in": "0",
            "portfolio_value": text(equity),
            "pattern_day_trader": False,
            "trading_blocked": False,
            "transfers_blocked": False,
            "account_blocked": False,
            "created_at": "2024-01-02T15:00:00Z",
            "trade_suspended_by_user": False,
            "multiplier": "1",
            "shorting_enabled": False,
            "equity": text(equity),
            "last_equity": text(equity),
            "long_market_value": text(long_value),
            "short_market_value": "0",
            "initial_margin": "0",
            "maintenance_margin": "0",
            "last_maintenance_margin": "0",
            "sma": "0",
            "daytrade_count": 0,
        }

    def _clock(self, request: web.Request, body: Any) -> tuple[int, Any]:
        now = self._now()
        return 200, {
            "timestamp": _iso(now),
            "is_open": self._is_open,
            "next_open": _iso(self._next_open),
            "next_close": _iso(self._next_close),
        }

    def _asset(self, request: web.Request, body: Any) -> tuple[int, Any]:
        asset = self._assets.get(request.match_info["symbol"])
        if asset is None:
            raise VenueError(404, 40410000, "asset not found")
        return 200, asset

    def _positions(self, request: web.Request, body: Any) -> tuple[int, Any]:
        return 200, [self._position_json(symbol) for symbol, h in self._holdings.items() if h.qty != 0]

    def _position(self, request: web.Request, body: Any) -> tuple[int, Any]:
        symbol = request.match_info["symbol"]
        if self._holdings.get(symbol, Holding()).qty == 0:
            raise VenueError(404, 40410000, "position does not exist")
        return 200, self._position_json(symbol)

    def _position_json(self, symbol: str) -> dict[str, Any]:
        holding = self._holdings[symbol]
        price = self._prices.get(symbol, holding.cost / holding.qty)
        value = holding.qty * price
        return {
            "asset_id": self._assets[symbol]["id"],
            "symbol": symbol,
            "exchange": "NASDAQ",
            "asset_class": "us_equity",
            "asset_marginable": True,
            "avg_entry_price": text(holding.cost / holding.qty),
            "qty": text(holding.qty),
            "side": "long",
            "market_value": text(value),
            "cost_basis": text(holding.cost),
            "unrealized_pl": text(value - holding.cost),
            "unrealized_plpc": text(((value - holding.cost) / holding.cost).quantize(Decimal("0.0001"))),
            "unrealized_intraday_pl": text(value - holding.cost),
            "unrealized_intraday_plpc": "0",
            "current_price": text(price),
            "lastday_price": text(price),
            "change_today": "0",
            "qty_available": text(holding.qty - self._held_shares(symbol)),
        }

    def _activities(self, request: web.Request, body: Any) -> tuple[int, Any]:
        if request.match_info["activity_type"] != "FILL":
            return 200, []
        query = request.query
        entries = list(self.activities)
        if "after" in query:
            after = datetime.fromisoformat(query["after"].replace("Z", "+00:00"))
            entries = [a for a in entries if datetime.fromisoformat(a["transaction_time"]) > after]
        if query.get("direction", "desc") == "desc":
            entries.reverse()
        if "page_token" in query:
            ids = [a["id"] for a in entries]
            entries = entries[ids.index(query["page_token"]) + 1 :] if query["page_token"] in ids else []
        return 200, entries[: int(query.get("page_size", "100"))]

    def _latest_trades(self, request: web.Request, body: Any) -> tuple[int, Any]:
        trades = {}
        for symbol in request.query.get("symbols", "").split(","):
            if symbol in self._prices:
                trades[symbol] = {
                    "t": _iso(self._now()),
                    "x": "V",
                    "p": self.printed.get(symbol, float(self._prices[symbol])),  # the data API sends JSON numbers
                    "s": 100,
                    "c": ["@"],
                    "i": len(self.activities) + 1,
                    "z": "C",
                }
        return 200, {"trades": trades}

    def _latest_quotes(self, request: web.Request, body: Any) -> tuple[int, Any]:
        quotes = {}
        for symbol in request.query.get("symbols", "").split(","):
            if symbol in self._prices:
                bid, ask = self.quotes.get(symbol, (self._prices[symbol], self._prices[symbol]))
                quotes[symbol] = {
                    "t": _iso(self._now()),
                    "ax": "V",
                    "ap": float(ask),  # JSON numbers, as the data API sends them
                    "as": 1,
                    "bx": "V",
                    "bp": float(bid),
                    "bs": 1,
                    "c": ["R"],
                    "z": "C",
                }
        return 200, {"quotes": quotes}

    # ---- orders: reading and cancelling ---------------------------------------------------------------

    def _list_orders(self, request: web.Request, body: Any) -> tuple[int, Any]:
        query = request.query
        nested = query.get("nested", "false").lower() in ("true", "1")
        status = query.get("status", "open")
        symbols = set(query["symbols"].split(",")) if query.get("symbols") else None
        chosen = []
        for order in self.orders.values():
            if nested and order.parent is not None:
                continue
            group = [order, *(self.orders[leg] for leg in order.legs)] if nested else [order]
            is_open = any(member.is_open for member in group)
            if (status == "open" and not is_open) or (status == "closed" and is_open):
                continue
            if symbols is not None and order.symbol not in symbols:
                continue
            if "side" in query and order.side != query["side"]:
                continue
            chosen.append(order)
        if query.get("direction", "desc") == "desc":
            chosen.reverse()
        limit = min(int(query.get("limit", "50")), 500)
        return 200, [self._json(order, nested=nested) for order in chosen[:limit]]

    def _get_order(self, request: web.Request, body: Any) -> tuple[int, Any]:
        order = self._order(request.match_info["order_id"])
        return 200, self._json(order, nested=request.query.get("nested", "false").lower() in ("true", "1"))

    def _by_client_order_id(self, request: web.Request, body: Any) -> tuple[int, Any]:
        for order in self.orders.values():
            if order.client_order_id == request.query.get("client_order_id"):
                return 200, self._json(order, nested=False)  # [U] whether Alpaca nests legs here
        raise VenueError(404, 40410000, "order not found")

    def _cancel(self, request: web.Request, body: Any) -> tuple[int, Any]:
        order = self._order(request.match_info["order_id"])
        if not order.is_open:
            raise VenueError(422, 42210000, f'order is already in "{order.status}" state')
        self._cancel_group(order)
        return 204, None

    def _cancel_all(self, request: web.Request, body: Any) -> tuple[int, Any]:
        cancelled = [order for order in self.orders.values() if order.is_open]
        for order in cancelled:
            self._close(order, "canceled")
        return 207, [{"id": order.id, "status": 200, "body": None} for order in cancelled]

    def _replace(self, request: web.Request, body: Any) -> tuple[int, Any]:
        old = self._order(request.match_info["order_id"])
        if not old.is_open:
            raise VenueError(422, 42210000, f'order is already in "{old.status}" state')
        new_id = body.get("client_order_id") or str(uuid.uuid4())
        if any(o.client_order_id == new_id for o in self.orders.values() if o is not old):
            raise VenueError(422, 40010001, "client_order_id must be unique")
        fields = {**old.__dict__, "id": str(uuid.uuid4()), "client_order_id": new_id, "created_at": self._now()}
        new = FakeOrder(**{**fields, "legs": list(old.legs), "updated_at": None, "replaced_by": None})
        new.qty = _number(body["qty"], "qty") if "qty" in body else old.qty
        for name in ("limit_price", "stop_price"):
            if name in body:
                setattr(new, name, self._price(body[name], name))
        if "trail" in body:
            trail = _number(body["trail"], "trail")
            new.trail_price, new.trail_percent = (trail, None) if old.trail_price is not None else (None, trail)
        new.replaces, old.replaced_by, old.replaced_at = old.id, new.id, self._now()
        old.status = "replaced"
        self._relink(old, new)
        self.orders[new.id] = new
        self._match(new.symbol, arriving={new.id})
        return 200, self._json(new, nested=True)

    def _relink(self, old: FakeOrder, new: FakeOrder) -> None:
        if old.parent is not None:
            siblings = self.orders[old.parent].legs
            siblings[siblings.index(old.id)] = new.id
        for leg in old.legs:
            self.orders[leg].parent = new.id

    def _order(self, order_id: str) -> FakeOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise VenueError(404, 40410000, "order not found")
        return order

    # ---- orders: placing ------------------------------------------------------------------------------

    def _submit(self, request: web.Request, body: Any) -> tuple[int, Any]:
        orders = self._new_orders(body if isinstance(body, dict) else {})
        self._check_funds(orders[0])
        if self._partial is not None:
            half = (orders[0].qty / 2).to_integral_value(ROUND_DOWN)
            orders[0].partial_cap = self._partial.quantity or half or orders[0].qty
        for order in orders:
            self.orders[order.id] = order
        self._match(orders[0].symbol, arriving={order.id for order in orders})
        return 200, self._json(orders[0], nested=True)

    def _new_orders(self, body: dict[str, Any]) -> list[FakeOrder]:
        symbol, side, kind = body.get("symbol"), body.get("side"), body.get("type")
        tif, order_class = body.get("time_in_force"), body.get("order_class") or "simple"
        asset = self._assets.get(str(symbol))
        if asset is None or not asset["tradable"]:
            raise VenueError(422, 40010001, f'asset "{symbol}" not found')
        if side not in ("buy", "sell") or kind not in ("market", "limit", "stop", "stop_limit", "trailing_stop"):
            raise VenueError(422, 40010001, "invalid side or type")
        if tif not in ("day", "gtc", "opg", "cls", "ioc", "fok"):
            raise VenueError(422, 40010001, "invalid time_in_force")
        if "notional" in body:
            raise VenueError(422, 40010001, "notional orders are not supported by this fake")
        qty = _number(body.get("qty"), "qty")
        if qty != qty.to_integral_value() and not (kind == "market" and tif == "day" and asset["fractionable"]):
            raise VenueError(422, 40010001, "fractional orders must be market orders with time_in_force=day")  # [U]
        client_order_id = body.get("client_order_id") or str(uuid.uuid4())
        if any(order.client_order_id == client_order_id for order in self.orders.values()):
            raise VenueError(422, 40010001, "client_order_id must be unique")
        order = FakeOrder(
            id=str(uuid.uuid4()),
            client_order_id=client_order_id,
            symbol=str(symbol),
            side=side,
            type=kind,
            qty=qty,
            time_in_force=tif,
            order_class=order_class,
            created_at=self._now(),
            status="new" if self._is_open else "accepted",
        )
        self._prices_of(order, body)
        if order_class in ("simple", ""):
            return [order]
        if order_class in ("bracket", "oco"):
            return [order, *self._exit_legs(order, body)]
        raise VenueError(422, 40010001, f"order_class {order_class} is not supported by this fake")

    def _prices_of(self, order: FakeOrder, body: dict[str, Any]) -> None:
        needs_limit = order.type in ("limit", "stop_limit") and order.order_class != "oco"
        needs_stop = order.type in ("stop", "stop_limit")
        if needs_limit and "limit_price" not in body:
            raise VenueError(422, 40010001, "limit_price is required for limit orders")
        if needs_stop and "stop_price" not in body:
            raise VenueError(422, 40010001, "stop_price is required for stop orders")
        if "limit_price" in body:
            order.limit_price = self._price(body["limit_price"], "limit_price")
        if needs_stop:
            order.stop_price = self._price(body["stop_price"], "stop_price")
        if order.type == "trailing_stop":
            if ("trail_price" in body) == ("trail_percent" in body):
                raise VenueError(422, 40010001, "exactly one of trail_price and trail_percent is required")
            if order.time_in_force not in ("day", "gtc") or order.order_class not in ("simple", ""):
                raise VenueError(422, 40010001, "trailing stops must be simple day or gtc orders")
            if "trail_price" in body:
                order.trail_price = _number(body["trail_price"], "trail_price")
            else:
                order.trail_percent = _number(body["trail_percent"], "trail_percent")

    def _exit_legs(self, parent: FakeOrder, body: dict[str, Any]) -> list[FakeOrder]:
        """The legs of a bracket (a target and a stop, held until the entry fills) or an OCO (the stop)."""
        take_profit, stop_loss = body.get("take_profit") or {}, body.get("stop_loss") or {}
        if "limit_price" not in take_profit or "stop_price" not in stop_loss:
            raise VenueError(422, 40010001, "take_profit.limit_price and stop_loss.stop_price are required")
        if parent.time_in_force not in ("day", "gtc"):
            raise VenueError(422, 40010001, "time_in_force must be day or gtc for advanced orders")
        target = self._price(take_profit["limit_price"], "take_profit.limit_price")
        stop = self._price(stop_loss["stop_price"], "stop_loss.stop_price")
        stop_limit = (
            self._price(stop_loss["limit_price"], "stop_loss.limit_price") if "limit_price" in stop_loss else None
        )
        exit_side = parent.side if parent.order_class == "oco" else ("sell" if parent.side == "buy" else "buy")
        self._check_exit_prices(parent, exit_side, target, stop)
        legs_status = "held" if parent.order_class == "bracket" else parent.status

        def leg(kind: str, limit_price: Decimal | None, stop_price: Decimal | None) -> FakeOrder:
            return FakeOrder(
                id=str(uuid.uuid4()),
                client_order_id=str(uuid.uuid4()),
                symbol=parent.symbol,
                side=exit_side,
                type=kind,
                qty=parent.qty,
                time_in_force=parent.time_in_force,
                order_class=parent.order_class,
                created_at=parent.created_at,
                status=legs_status,
                limit_price=limit_price,
                stop_price=stop_price,
                parent=parent.id,
            )

        stop_leg = leg("stop_limit" if stop_limit is not None else "stop", stop_limit, stop)
        if parent.order_class == "oco":
            if parent.type != "limit":
                raise VenueError(422, 40010001, "oco orders must be limit orders")
            parent.limit_price = target
            legs = [stop_leg]
        else:
            if parent.type not in ("market", "limit"):
                raise VenueError(422, 40010001, "bracket orders must be market or limit orders")
            legs = [leg("limit", target, None), stop_leg]
        parent.legs = [order.id for order in legs]
        return legs

    def _check_exit_prices(self, parent: FakeOrder, exit_side: str, target: Decimal, stop: Decimal) -> None:
        """Alpaca's rules: target beyond stop, and the stop at least a cent beyond the base price."""
        sell = exit_side == "sell"
        if (target <= stop) if sell else (target >= stop):
            relation = ">" if sell else "<"
            raise VenueError(422, 42210000, f"take_profit.limit_price must be {relation} stop_loss.stop_price")
        bases = [self._prices[parent.symbol]] if parent.symbol in self._prices else []
        bases += [target] if parent.order_class == "oco" else [parent.limit_price] if parent.limit_price else []
        if bases and (stop > min(bases) - CENT if sell else stop < max(bases) + CENT):
            relation = "<= base_price - 0.01" if sell else ">= base_price + 0.01"
            raise VenueError(422, 42210000, f"stop_loss.stop_price must be {relation}")  # [U]

    def _price(self, value: Any, name: str) -> Decimal:
        price = _number(value, name)
        if price >= 1 and price % CENT != 0:
            raise VenueError(
                422, 42210000, f"invalid {name} {value}. sub-penny increment does not fulfill minimum pricing criteria"
            )
        return price

    def _check_funds(self, order: FakeOrder) -> None:
        if order.side == "buy":
            price = order.limit_price or order.stop_price or self._prices.get(order.symbol)
            if price is None:
                raise VenueError(422, 40010001, f"no price for {order.symbol} in this fake yet")
            if order.qty * price > self._cash - self._reserved_cash():
                raise VenueError(403, 40310000, "insufficient buying power")
            return
        available = self._holdings.get(order.symbol, Holding()).qty - self._held_shares(order.symbol)
        if order.qty > available:
            message = (
                f"insufficient qty available for order (requested: {text(order.qty)}, available: {text(available)})"
            )
            raise VenueError(403, 40310000, message)

    def _counted(self, order: FakeOrder) -> bool:
        """Whether an open order holds cash or shares: held legs do not, and a group's stop rides on its target."""
        if not order.is_open or order.status == "held":
            return False
        return not (order.parent is not None and order.type in STOP_TYPES)

    def _reserved_cash(self) -> Decimal:
        total = Decimal(0)
        for order in self.orders.values():
            if order.side == "buy" and self._counted(order):
                price = order.limit_price or order.stop_price or self._prices.get(order.symbol, Decimal(0))
                total += order.remaining * price
        return total

    def _held_shares(self, symbol: str) -> Decimal:
        orders = self.orders.values()
        return sum(
            (o.remaining for o in orders if o.symbol == symbol and o.side == "sell" and self._counted(o)), Decimal(0)
        )

    # ---- matching -----------------------------------------------------------------------------------

    def _match(self, symbol: str, arriving: set[str] | None = None) -> None:
        """Trigger and fill the working orders of a symbol at its price; legs a fill releases get a pass too."""
        price = self._prices.get(symbol)
        if price is None or not self._is_open:
            return
        arriving = arriving or set()
        done: set[str] = set()
        for _ in range(5):
            orders = [
                o for o in self.orders.values() if o.symbol == symbol and o.status in WORKING and o.id not in done
            ]
            if not orders:
                return
            for order in orders:
                done.add(order.id)
                if order.status not in WORKING:
                    continue  # cancelled by a sibling's fill in this pass
                fill_price = self._fill_price(order, price, order.id in arriving)
                if fill_price is not None:
                    self._execute(order, fill_price)

    def _fill_price(self, order: FakeOrder, price: Decimal, arriving: bool) -> Decimal | None:
        buy = order.side == "buy"
        if order.type == "trailing_stop":
            self._trail(order, price)
        if order.type in ("stop", "trailing_stop", "stop_limit") and not order.triggered:
            assert order.stop_price is not None
            order.triggered = price >= order.stop_price if buy else price <= order.stop_price
            if not order.triggered:
                return None
        if order.type in ("market", "stop", "trailing_stop"):
            return price
        assert order.limit_price is not None
        if not (price <= order.limit_price if buy else price >= order.limit_price):
            return None
        resting_limit = order.type == "limit" and not arriving
        return order.limit_price if resting_limit else price

    def _trail(self, order: FakeOrder, price: Decimal) -> None:
        buy = order.side == "buy"
        order.hwm = price if order.hwm is None else (min(order.hwm, price) if buy else max(order.hwm, price))
        if order.trail_price is not None:
            stop = order.hwm + order.trail_price if buy else order.hwm - order.trail_price
        else:
            assert order.trail_percent is not None
            stop = order.hwm * (1 + (order.trail_percent if buy else -order.trail_percent) / 100)
        order.stop_price = stop.quantize(CENT, rounding=ROUND_UP if buy else ROUND_DOWN)

    def _execute(self, order: FakeOrder, price: Decimal) -> None:
        quantity = order.remaining
        if order.partial_cap is not None:
            quantity, order.partial_cap = min(order.partial_cap, quantity), None
        holding = self._holdings.setdefault(order.symbol, Holding())
        if order.side == "buy":
            self._cash -= quantity * price
            holding.qty, holding.cost = holding.qty + quantity, holding.cost + quantity * price
        else:
            average = holding.cost / holding.qty if holding.qty else price
            self._cash += quantity * price
            holding.qty, holding.cost = holding.qty - quantity, holding.cost - quantity * average
        now = self._now()
        order.filled_qty += quantity
        order.filled_value += quantity * price
        order.status = "filled" if order.remaining == 0 else "partially_filled"
        order.updated_at, order.filled_at = now, now if order.status == "filled" else None
        self.activities.append(
            {
                "id": f"{now:%Y%m%d%H%M%S%f}::{uuid.uuid4()}",
                "account_id": "2f5b1a4e-8b43-4c1e-9a0c-000000000001",
                "activity_type": "FILL",
                "transaction_time": now.isoformat(),
                "type": "fill" if order.status == "filled" else "partial_fill",
                "price": text(price),
                "qty": text(quantity),
                "side": order.side,
                "symbol": order.symbol,
                "leaves_qty": text(order.remaining),
                "order_id": order.id,
                "cum_qty": text(order.filled_qty),
                "order_status": order.status,
            }
        )
        if order.status == "filled":
            self._after_fill(order)

    def _after_fill(self, order: FakeOrder) -> None:
        """A filled bracket entry releases its legs; a filled exit leg cancels the other exit."""
        if order.order_class == "bracket" and order.parent is None:
            for leg in order.legs:
                self.orders[leg].status = "new"
            return
        if order.order_class in ("bracket", "oco"):
            root = self.orders[order.parent] if order.parent else order
            exits = [self.orders[leg] for leg in root.legs] + ([root] if root.order_class == "oco" else [])
            for other in exits:
                if other is not order and other.is_open:
                    self._close(other, "canceled")

    def _cancel_group(self, order: FakeOrder) -> None:
        root = self.orders[order.parent] if order.parent else order
        for member in [root, *(self.orders[leg] for leg in root.legs)]:
            if member.is_open:
                self._close(member, "canceled")

    def _close(self, order: FakeOrder, status: str) -> None:
        order.status = status
        order.updated_at = order.canceled_at = self._now()

    # ---- shapes ---------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        """Now, strictly after the previous answer: orders and fills keep their order even within a microsecond."""
        self._last_time = max(datetime.now(UTC), self._last_time + timedelta(microseconds=1))
        return self._last_time

    def _json(self, order: FakeOrder, *, nested: bool) -> dict[str, Any]:
        average = order.filled_value / order.filled_qty if order.filled_qty else None
        legs = [self._json(self.orders[leg], nested=False) for leg in order.legs] if nested and order.legs else None
        return {
            "id": order.id,
            "client_order_id": order.client_order_id,
            "created_at": _iso(order.created_at),
            "updated_at": _iso(order.updated_at or order.created_at),
            "submitted_at": _iso(order.created_at),
            "filled_at": _iso(order.filled_at),
            "expired_at": None,
            "canceled_at": _iso(order.canceled_at),
            "failed_at": None,
            "replaced_at": _iso(order.replaced_at),
            "replaced_by": order.replaced_by,
            "replaces": order.replaces,
            "asset_id": self._assets[order.symbol]["id"],
            "symbol": order.symbol,
            "asset_class": "us_equity",
            "notional": None,
            "qty": text(order.qty),
            "filled_qty": text(order.filled_qty),
            "filled_avg_price": _opt(average),
            "order_class": order.order_class,
            "order_type": order.type,
            "type": order.type,
            "side": order.side,
            "position_intent": ("buy_to_open" if order.side == "buy" else "sell_to_close"),
            "time_in_force": order.time_in_force,
            "limit_price": _opt(order.limit_price),
            "stop_price": _opt(order.stop_price),
            "status": order.status,
            "extended_hours": False,
            "legs": legs,
            "trail_percent": _opt(order.trail_percent),
            "trail_price": _opt(order.trail_price),
            "hwm": _opt(order.hwm),
            "subtag": None,
            "source": None,
            "expires_at": None,
        }
