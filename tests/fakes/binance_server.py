"""A fake Binance spot venue on 127.0.0.1: the real wire protocol ccxt speaks, a small matching engine behind it,
and one-shot faults, so the adapter is tested against HTTP and websockets instead of patches.

    with BinanceFake() as fake:
        exchange = BinanceExchange("key", "secret", base_url=fake.url, timeout_ms=300)
        fake.inject("POST /api/v3/order", Fault.timeout_after_accept())
        fake.set_price("BTCUSDT", "31000")

It ignores timestamp, recvWindow and signature. Prices move only through `set_price`: market orders fill at the
last price, resting limits at their limit price, stops at the price that triggered them; an OCO leg that fills, even
partly, expires its sibling. Fees are 0.1% of the notional, paid in the quote asset. Not supported: quoteOrderQty,
trailing deltas, iceberg orders, self-trade prevention.

The account's user-data stream is served both ways Binance serves it: on the WebSocket API (`ws_api_url`,
userDataStream.subscribe.signature: what ccxt.pro uses for spot) and by listenKey (POST/PUT/DELETE
/api/v3/userDataStream, then `ws_url`/<listenKey>; deprecated by Binance for spot). Every change of an order (placed,
each trade, cancelled, expired) is pushed to both as an executionReport; listStatus and balance events are not sent.
`send_user_data` pushes any message (a malformed one, say) and `drop_websockets` cuts these connections too.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from aiohttp import WSMsgType, web

FEE_RATE = Decimal("0.001")
ZERO = Decimal(0)
EIGHT_PLACES = Decimal("0.00000001")
INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
DUPLICATE_ORDER = "Duplicate order sent."
WOULD_TRIGGER = "Order would trigger immediately."
WOULD_TAKE = "Order would immediately match and take."
BAD_OCO_PRICES = "The relationship of the prices for the orders is not correct."
OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED")
TRIGGERED_TYPES = ("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
LIST_TYPES = ("LIMIT_MAKER", *TRIGGERED_TYPES)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PARAMS = web.RequestKey("params", dict)  # the request's query and form fields, merged
PARTIAL = web.RequestKey("partial", object)  # a partial-fill fault's fraction, or None


def wire(value: Decimal) -> str:
    """Binance writes amounts as strings with eight decimals."""
    return f"{value:.8f}"


def now_ms() -> int:
    return int(time.time() * 1000)


# ---- the market's reference data, in the shape of GET /api/v3/exchangeInfo ---------------------------------


def _symbol_info(symbol: str, base: str, quote: str, tick: str, step: str, notional: dict[str, Any]) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": True,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000.00000000", "tickSize": tick},
            {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "9000.00000000", "stepSize": step},
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {"filterType": "MARKET_LOT_SIZE", "minQty": "0.0", "maxQty": "328.37710865", "stepSize": "0.0"},
            notional,
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
        ],
        "permissions": [],
        "permissionSets": [["SPOT", "MARGIN"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


SYMBOLS: dict[str, dict[str, Any]] = {
    # BTCUSDT carries today's NOTIONAL filter; ETHUSDT the legacy MIN_NOTIONAL and a 2022-style orderTypes list
    # without STOP_LOSS, as both still appear in the wild.
    "BTCUSDT": _symbol_info(
        "BTCUSDT",
        "BTC",
        "USDT",
        "0.01000000",
        "0.00001000",
        {
            "filterType": "NOTIONAL",
            "minNotional": "5.00000000",
            "applyMinToMarket": True,
            "maxNotional": "9000000.00000000",
            "applyMaxToMarket": False,
            "avgPriceMins": 5,
        },
    ),
    "ETHUSDT": {
        **_symbol_info(
            "ETHUSDT",
            "ETH",
            "USDT",
            "0.01000000",
            "0.00010000",
            {"filterType": "MIN_NOTIONAL", "minNotional": "10.00000000", "applyToMarket": True, "avgPriceMins": 5},
        ),
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
    },
}
RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]


def _filter(symbol: str, name: str) -> dict[str, Any]:
    return next(f for f in SYMBOLS[symbol]["filters"] if f["filterType"] == name)


# ---- faults, requests, orders --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """One thing to go wrong with the next request on a route. Build one with the class methods."""

    kind: str  # "before" (delay, never process), "after" (process, then delay), "reply" (an error), "partial"
    delay: float = 0.0
    status: int = 400
    code: int | None = None
    msg: str = ""
    retry_after: int | None = None
    fraction: Decimal = Decimal("0.5")

    @classmethod
    def timeout_before_accept(cls, delay: float = 1.0) -> Fault:
        """Hold the request past the client's timeout and drop it: the venue never sees the order."""
        return cls("before", delay=delay)

    @classmethod
    def timeout_after_accept(cls, delay: float = 1.0) -> Fault:
        """Accept the order, then answer too late: the client times out but the order is live."""
        return cls("after", delay=delay)

    @classmethod
    def server_error(cls) -> Fault:
        return cls("reply", status=500, msg="Internal Server Error")

    @classmethod
    def unavailable(cls) -> Fault:
        msg = "Timeout waiting for response from backend server. Send status unknown; execution status unknown."
        return cls("reply", status=503, code=-1007, msg=msg)

    @classmethod
    def rate_limited(cls, retry_after: int = 7) -> Fault:
        msg = "Too much request weight used; current limit is 6000 request weight per 1 MINUTE."
        return cls("reply", status=429, code=-1003, msg=msg, retry_after=retry_after)

    @classmethod
    def banned(cls, retry_after: int = 120) -> Fault:
        msg = f"Way too much request weight used; IP banned until {now_ms() + retry_after * 1000}."
        return cls("reply", status=418, code=-1003, msg=msg, retry_after=retry_after)

    @classmethod
    def insufficient_balance(cls) -> Fault:
        return cls("reply", code=-2010, msg=INSUFFICIENT_BALANCE)

    @classmethod
    def filter_failure(cls, name: str = "LOT_SIZE") -> Fault:
        return cls("reply", code=-1013, msg=f"Filter failure: {name}")

    @classmethod
    def error(cls, status: int, code: int | None, msg: str, retry_after: int | None = None) -> Fault:
        """Any other reply, e.g. Fault.error(401, -2015, 'Invalid API-key, IP, or permissions for action.')."""
        return cls("reply", status=status, code=code, msg=msg, retry_after=retry_after)

    @classmethod
    def partial_fill(cls, fraction: str = "0.5") -> Fault:
        """The order's first execution fills only this fraction; the rest stays open for a later set_price. On an OCO
        (POST /api/v3/orderList/oco) it applies to whichever leg executes first; its sibling expires all the same."""
        return cls("partial", fraction=Decimal(fraction))


@dataclass(frozen=True)
class FakeRequest:
    method: str
    path: str
    params: dict[str, str]
    api_key: str | None
    received_at: float = 0.0  # time.perf_counter() when the request reached the handler

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class FakeOrder:
    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    quantity: Decimal
    price: Decimal = ZERO
    stop_price: Decimal = ZERO
    time_in_force: str | None = None
    list_id: int = -1
    status: str = "NEW"
    executed: Decimal = ZERO
    quote: Decimal = ZERO
    created: int = field(default_factory=now_ms)
    updated: int = field(default_factory=now_ms)
    triggered: bool = False
    partial: Decimal | None = None  # fraction of the first execution (a partial-fill fault)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.executed

    @property
    def lock_key(self) -> str:
        return f"list:{self.list_id}" if self.list_id >= 0 else self.client_order_id

    def wire(self) -> dict[str, Any]:
        """The order as GET /api/v3/order shows it."""
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": self.list_id,
            "clientOrderId": self.client_order_id,
            "price": wire(self.price),
            "origQty": wire(self.quantity),
            "executedQty": wire(self.executed),
            "cummulativeQuoteQty": wire(self.quote),
            "status": self.status,
            "timeInForce": self.time_in_force or "GTC",
            "type": self.type,
            "side": self.side,
            "stopPrice": wire(self.stop_price),
            "icebergQty": wire(ZERO),
            "time": self.created,
            "updateTime": self.updated,
            "isWorking": self.type not in TRIGGERED_TYPES or self.triggered,
            "workingTime": self.created,
            "origQuoteOrderQty": wire(ZERO),
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }


class VenueError(Exception):
    """A refusal, answered as Binance does: HTTP status and {"code": ..., "msg": ...}."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


def _mandatory(name: str) -> VenueError:
    return VenueError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def _decimal(params: dict[str, str], name: str, required: bool = True) -> Decimal | None:
    text = params.get(name)
    if text in (None, ""):
        if required:
            raise _mandatory(name)
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise VenueError(-1100, f"Illegal characters found in parameter '{name}'.") from None
    if not value.is_finite() or value <= 0:
        raise _mandatory(name)
    return value


# ---- the venue: balances, orders, trades and matching (no I/O; callers hold `lock`) ---------------------------------


class FakeVenue:
    def __init__(self, balances: dict[str, str], prices: dict[str, str]) -> None:
        self.listeners: list[Callable[[dict[str, Any]], None]] = []  # each executionReport, called with `lock` held
        self.lock = threading.RLock()
        self.free: dict[str, Decimal] = defaultdict(Decimal, {a: Decimal(v) for a, v in balances.items()})
        self.locked: dict[str, Decimal] = defaultdict(Decimal)
        self.locks: dict[str, tuple[str, Decimal]] = {}  # by order (or list) key: asset and amount held
        self.prices = {s: Decimal(p) for s, p in prices.items()}
        self.orders: dict[str, FakeOrder] = {}  # by client order id
        self.lists: dict[int, dict[str, Any]] = {}
        self.trades: list[dict[str, Any]] = []
        self.next_order_id, self.next_trade_id, self.next_list_id = 1000, 5000, 1
        self.next_execution_id = 9000

    # ---- reading ----

    def symbol(self, params: dict[str, str], required: bool = True) -> str | None:
        symbol = params.get("symbol")
        if symbol is None:
            if required:
                raise _mandatory("symbol")
            return None
        if symbol not in SYMBOLS:
            raise VenueError(-1121, "Invalid symbol.")
        return symbol

    def find(self, params: dict[str, str], unknown: VenueError) -> FakeOrder:
        symbol = self.symbol(params)
        cid, oid = params.get("origClientOrderId"), params.get("orderId")
        if cid is None and oid is None:
            raise VenueError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
        for order in self.orders.values():
            if order.symbol == symbol and (order.client_order_id == cid or str(order.order_id) == oid):
                return order
        raise unknown

    def account(self) -> dict[str, Any]:
        assets = sorted(set(self.free) | set(self.locked))
        return {
            "makerCommission": 10,
            "takerCommission": 10,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": wire(FEE_RATE),
                "taker": wire(FEE_RATE),
                "buyer": wire(ZERO),
                "seller": wire(ZERO),
            },
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": now_ms(),
            "accountType": "SPOT",
            "balances": [{"asset": a, "free": wire(self.free[a]), "locked": wire(self.locked[a])} for a in assets],
            "permissions": ["SPOT"],
            "uid": 354937868,
        }

    def ticker(self, symbol: str) -> dict[str, Any]:
        price = wire(self.prices[symbol])
        return {
            "symbol": symbol,
            "priceChange": "0.00000000",
            "priceChangePercent": "0.000",
            "weightedAvgPrice": price,
            "prevClosePrice": price,
            "lastPrice": price,
            "lastQty": "0.00100000",
            "bidPrice": price,
            "bidQty": "1.00000000",
            "askPrice": price,
            "askQty": "1.00000000",
            "openPrice": price,
            "highPrice": price,
            "lowPrice": price,
            "volume": "100.00000000",
            "quoteVolume": wire(self.prices[symbol] * 100),
            "openTime": now_ms() - 86_400_000,
            "closeTime": now_ms(),
            "firstId": 1,
            "lastId": self.next_trade_id,
            "count": self.next_trade_id,
        }

    # ---- orders ----

    def place_order(self, params: dict[str, str], partial: Decimal | None) -> dict[str, Any]:
        symbol = self.symbol(params)
        assert symbol is not None
        cid = params.get("newClientOrderId") or f"fake-{self.next_order_id}"
        order = self._new_order(symbol, params, cid)
        if cid in self.orders:
            raise VenueError(-2010, DUPLICATE_ORDER)
        last = self.prices.get(symbol)
        if order.type in TRIGGERED_TYPES and last is not None and self._triggers(order, last):
            raise VenueError(-2010, WOULD_TRIGGER)
        fill_price = self._immediate_price(order, last)
        if order.type == "LIMIT_MAKER" and fill_price is not None:
            raise VenueError(-2010, WOULD_TAKE)
        if order.type == "MARKET" and last is None:
            raise VenueError(-1013, "Market order without a market price.")  # never on Binance: it always has one
        self._check_notional(symbol, order.quantity, order.price or order.stop_price or last)
        self._hold(order.lock_key, *self._lock_of(order, fill_price))
        order.partial = partial
        self._add(order)
        fills = [self._execute(order, fill_price)] if fill_price is not None else []
        return {**self._result(order), "fills": fills}

    def place_oco(self, params: dict[str, str], partial: Decimal | None = None) -> dict[str, Any]:
        symbol = self.symbol(params)
        assert symbol is not None
        side = params.get("side", "")
        if side not in ("BUY", "SELL"):
            raise _mandatory("side")
        list_cid = params.get("listClientOrderId") or f"fake-list-{self.next_list_id}"
        legs = []
        for position in ("above", "below"):
            leg_params = {
                "side": side,
                "quantity": params.get("quantity", ""),
                "type": params.get(f"{position}Type", ""),
                "price": params.get(f"{position}Price", ""),
                "stopPrice": params.get(f"{position}StopPrice", ""),
                "timeInForce": params.get(f"{position}TimeInForce", ""),
            }
            cid = params.get(f"{position}ClientOrderId") or f"fake-{self.next_order_id + len(legs)}"
            legs.append(self._new_order(symbol, leg_params, cid, in_list=True))
        above, below = legs
        if above.client_order_id == below.client_order_id or any(leg.client_order_id in self.orders for leg in legs):
            raise VenueError(-2010, DUPLICATE_ORDER)
        if any(found["listClientOrderId"] == list_cid for found in self.lists.values()):
            raise VenueError(-2010, DUPLICATE_ORDER)
        last = self.prices.get(symbol)
        if last is None or not self._level(below) < last < self._level(above):
            raise VenueError(-2010, BAD_OCO_PRICES)
        for leg in legs:
            self._check_notional(symbol, leg.quantity, self._level(leg))
        list_id = self.next_list_id
        locks = [self._lock_of(leg, None) for leg in legs]
        self._hold(f"list:{list_id}", locks[0][0], max(amount for _, amount in locks))
        self.next_list_id += 1
        self.lists[list_id] = {"listClientOrderId": list_cid, "symbol": symbol, "time": now_ms()}
        for leg in (below, above):
            leg.list_id = list_id
            leg.partial = partial
            self._add(leg)
        return self._list_result(list_id, "EXEC_STARTED", "EXECUTING")

    def cancel_order(self, params: dict[str, str]) -> dict[str, Any]:
        order = self.find(params, VenueError(-2011, "Unknown order sent."))
        if not order.is_open:
            raise VenueError(-2011, "Unknown order sent.")
        siblings = [o for o in self.orders.values() if order.list_id >= 0 and o.list_id == order.list_id]
        cancel_id = params.get("newClientOrderId") or f"cancel-{order.order_id}"
        for other in siblings or [order]:  # cancelling one leg of a list cancels the whole list, as on Binance
            self._close(other, "CANCELED", cancel_id if other is order else f"cancel-{other.order_id}")
        return {**self._result(order), "origClientOrderId": order.client_order_id, "clientOrderId": cancel_id}

    def cancel_list(self, params: dict[str, str]) -> dict[str, Any]:
        self.symbol(params)
        list_id = self._find_list(params)
        legs = self._legs(list_id)
        if not any(leg.is_open for leg in legs):
            raise VenueError(-2011, "Unknown order sent.")
        for leg in legs:
            self._close(leg, "CANCELED", f"cancel-{leg.order_id}")
        result = self._list_result(list_id, "ALL_DONE", "ALL_DONE")
        for report in result["orderReports"]:  # as on Binance: the original id, and the cancel's own id
            report["origClientOrderId"], report["clientOrderId"] = (
                report["clientOrderId"],
                f"cancel-{report['orderId']}",
            )
        return result

    def get_list(self, params: dict[str, str]) -> dict[str, Any]:
        list_id = self._find_list(params, cid_key="origClientOrderId")
        done = not any(leg.is_open for leg in self._legs(list_id))
        result = self._list_result(list_id, "ALL_DONE" if done else "EXEC_STARTED", "ALL_DONE" if done else "EXECUTING")
        del result["orderReports"]
        return result

    def my_trades(self, params: dict[str, str]) -> list[dict[str, Any]]:
        symbol = self.symbol(params)
        order_id = params.get("orderId")
        limit = int(params.get("limit") or 500)
        found = [t for t in self.trades if t["symbol"] == symbol and order_id in (None, str(t["orderId"]))]
        return found[:limit]

    # ---- the market ----

    def set_price(self, symbol: str, price: Decimal) -> int:
        """Move the market and run every open order of the symbol against it, oldest first. Returns the fills."""
        if symbol not in SYMBOLS:
            raise ValueError(f"unknown symbol {symbol}")
        self.prices[symbol] = price
        fills = 0
        for order in sorted(self.orders.values(), key=lambda o: o.order_id):
            if order.symbol != symbol or not order.is_open:
                continue
            if order.type in TRIGGERED_TYPES and not order.triggered and self._triggers(order, price):
                order.triggered = True
            fill_price = self._resting_price(order, price)
            if fill_price is None:
                continue
            if self._affordable(order, fill_price):
                self._execute(order, fill_price)
                fills += 1
            else:
                self._close(order, "EXPIRED")  # a buy that gapped past what the account can pay
        return fills

    # ---- inside ----

    def _new_order(self, symbol: str, params: dict[str, str], cid: str, in_list: bool = False) -> FakeOrder:
        side, type_ = params.get("side", ""), params.get("type", "")
        if side not in ("BUY", "SELL"):
            raise _mandatory("side")
        if type_ not in SYMBOLS[symbol]["orderTypes"] or (in_list and type_ not in LIST_TYPES):
            raise VenueError(-1116, "Invalid orderType.")
        if params.get("quoteOrderQty"):
            raise VenueError(-1106, "Parameter 'quoteOrderQty' sent when not required.")  # not simulated
        takes_price = type_ in ("LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
        takes_stop = type_ in TRIGGERED_TYPES
        quantity = _decimal(params, "quantity")
        price = _decimal(params, "price", required=takes_price)
        stop = _decimal(params, "stopPrice", required=takes_stop)
        if price is not None and not takes_price:
            raise VenueError(-1106, "Parameter 'price' sent when not required.")
        if stop is not None and not takes_stop:
            raise VenueError(-1106, "Parameter 'stopPrice' sent when not required.")
        tif = params.get("timeInForce") or None
        if takes_price and type_ != "LIMIT_MAKER" and tif is None:
            raise _mandatory("timeInForce")
        assert quantity is not None
        self._check_filters(symbol, quantity, [p for p in (price, stop) if p is not None])
        return FakeOrder(symbol, 0, cid, side, type_, quantity, price or ZERO, stop or ZERO, tif)

    @staticmethod
    def _check_filters(symbol: str, quantity: Decimal, prices: list[Decimal]) -> None:
        price_filter, lot = _filter(symbol, "PRICE_FILTER"), _filter(symbol, "LOT_SIZE")
        tick, step = Decimal(price_filter["tickSize"]), Decimal(lot["stepSize"])
        for price in prices:
            if not Decimal(price_filter["minPrice"]) <= price <= Decimal(price_filter["maxPrice"]) or price % tick:
                raise VenueError(-1013, "Filter failure: PRICE_FILTER")
        if not Decimal(lot["minQty"]) <= quantity <= Decimal(lot["maxQty"]) or quantity % step:
            raise VenueError(-1013, "Filter failure: LOT_SIZE")

    @staticmethod
    def _check_notional(symbol: str, quantity: Decimal, price: Decimal | None) -> None:
        notional = next(f for f in SYMBOLS[symbol]["filters"] if f["filterType"] in ("NOTIONAL", "MIN_NOTIONAL"))
        if price is not None and quantity * price < Decimal(notional["minNotional"]):
            raise VenueError(-1013, f"Filter failure: {notional['filterType']}")

    @staticmethod
    def _triggers(order: FakeOrder, price: Decimal) -> bool:
        """Stop losses trigger when the price falls to a sell stop (rises to a buy stop); take profits the reverse."""
        falling = (order.side == "SELL") == order.type.startswith("STOP_LOSS")
        return price <= order.stop_price if falling else price >= order.stop_price

    @staticmethod
    def _level(order: FakeOrder) -> Decimal:
        return order.price if order.type == "LIMIT_MAKER" else order.stop_price

    @staticmethod
    def _marketable(order: FakeOrder, price: Decimal) -> bool:
        return price <= order.price if order.side == "BUY" else price >= order.price

    def _immediate_price(self, order: FakeOrder, last: Decimal | None) -> Decimal | None:
        if last is None:
            return None
        if order.type == "MARKET":
            return last
        if order.type in ("LIMIT", "LIMIT_MAKER") and self._marketable(order, last):
            return last
        return None

    def _resting_price(self, order: FakeOrder, price: Decimal) -> Decimal | None:
        if order.type == "MARKET" or (order.type in ("STOP_LOSS", "TAKE_PROFIT") and order.triggered):
            return price
        limit_works = order.type in ("LIMIT", "LIMIT_MAKER") or order.triggered
        return order.price if limit_works and self._marketable(order, price) else None

    def _lock_of(self, order: FakeOrder, fill_price: Decimal | None) -> tuple[str, Decimal]:
        base, quote = SYMBOLS[order.symbol]["baseAsset"], SYMBOLS[order.symbol]["quoteAsset"]
        if order.side == "SELL":
            return base, order.quantity
        price = fill_price if order.type == "MARKET" else order.price if order.price > 0 else order.stop_price
        assert price is not None
        return quote, price * order.quantity * (1 + FEE_RATE)

    def _affordable(self, order: FakeOrder, price: Decimal) -> bool:
        if order.side == "SELL":
            return True
        _, held = self.locks.get(order.lock_key, ("", ZERO))
        quote = SYMBOLS[order.symbol]["quoteAsset"]
        return self.free[quote] + held >= price * order.remaining * (1 + FEE_RATE)

    def _hold(self, key: str, asset: str, amount: Decimal) -> None:
        if self.free[asset] < amount:
            raise VenueError(-2010, INSUFFICIENT_BALANCE)
        self.free[asset] -= amount
        self.locked[asset] += amount
        self.locks[key] = (asset, amount)

    def _release(self, key: str, share: Decimal = Decimal(1)) -> None:
        asset, amount = self.locks.pop(key, ("", ZERO))
        if not asset:
            return
        released = amount if share >= 1 else amount * share
        self.free[asset] += released
        self.locked[asset] -= released
        if released < amount:
            self.locks[key] = (asset, amount - released)

    def _add(self, order: FakeOrder) -> None:
        order.order_id = self.next_order_id
        self.next_order_id += 1
        order.created = order.updated = now_ms()
        self.orders[order.client_order_id] = order
        self._report(order, "NEW")

    def _execute(self, order: FakeOrder, price: Decimal) -> dict[str, Any]:
        """Fill the order's remaining quantity (or a fault's fraction of it) at this price and settle it."""
        quantity = order.remaining
        if order.partial is not None:
            step = Decimal(_filter(order.symbol, "LOT_SIZE")["stepSize"])
            quantity = max(step, (quantity * order.partial / step).to_integral_value(ROUND_DOWN) * step)
            order.partial = None
        self._release(order.lock_key, quantity / order.remaining)
        base, quote = SYMBOLS[order.symbol]["baseAsset"], SYMBOLS[order.symbol]["quoteAsset"]
        notional = price * quantity
        fee = (notional * FEE_RATE).quantize(EIGHT_PLACES)
        if order.side == "BUY":
            self.free[quote] -= notional + fee
            self.free[base] += quantity
        else:
            self.free[base] -= quantity
            self.free[quote] += notional - fee
        order.executed += quantity
        order.quote += notional
        order.updated = now_ms()
        order.status = "FILLED" if order.remaining == 0 else "PARTIALLY_FILLED"
        trade = {
            "symbol": order.symbol,
            "id": self.next_trade_id,
            "orderId": order.order_id,
            "orderListId": order.list_id,
            "price": wire(price),
            "qty": wire(quantity),
            "quoteQty": wire(notional),
            "commission": wire(fee),
            "commissionAsset": quote,
            "time": order.updated,
            "isBuyer": order.side == "BUY",
            "isMaker": order.type in ("LIMIT", "LIMIT_MAKER") and price == order.price,
            "isBestMatch": True,
        }
        self.next_trade_id += 1
        self.trades.append(trade)
        self._report(order, "TRADE", trade)
        if order.list_id >= 0:  # as on Binance: once one leg fills, fully or partly, the other is cancelled
            for other in self._legs(order.list_id):
                if other is not order and other.is_open:
                    self._close(other, "EXPIRED")
        fill = {k: trade[k] for k in ("price", "qty", "commission", "commissionAsset")}
        return {**fill, "tradeId": trade["id"]}

    def _close(self, order: FakeOrder, status: str, cancel_id: str | None = None) -> None:
        """End an open order: CANCELED by a request (`cancel_id`: the cancel's own client order id), or EXPIRED."""
        order.status = status
        order.updated = now_ms()
        if order.list_id < 0 or not any(o.is_open for o in self._legs(order.list_id)):
            self._release(order.lock_key)
        self._report(order, "CANCELED" if cancel_id is not None else status, cancel_id=cancel_id)

    def _report(
        self, order: FakeOrder, execution: str, trade: dict[str, Any] | None = None, cancel_id: str | None = None
    ) -> None:
        """The executionReport Binance pushes on the user-data stream when an order changes (fields as documented:
        c is the cancel's own id and C the order's when a request cancelled it; l, L, n, N, t describe the trade that
        this execution is, if any; z and Z are cumulative)."""
        if not self.listeners:
            return
        self.next_execution_id += 1
        last = trade or {"qty": wire(ZERO), "price": wire(ZERO), "quoteQty": wire(ZERO), "commission": "0"}
        event = {
            "e": "executionReport",
            "E": now_ms(),
            "s": order.symbol,
            "c": cancel_id if cancel_id is not None else order.client_order_id,
            "S": order.side,
            "o": order.type,
            "f": order.time_in_force or "GTC",
            "q": wire(order.quantity),
            "p": wire(order.price),
            "P": wire(order.stop_price),
            "F": wire(ZERO),
            "g": order.list_id,
            "C": order.client_order_id if cancel_id is not None else "",
            "x": execution,
            "X": order.status,
            "r": "NONE",
            "i": order.order_id,
            "l": last["qty"],
            "z": wire(order.executed),
            "L": last["price"],
            "n": last["commission"],
            "N": trade["commissionAsset"] if trade else None,
            "T": order.updated,
            "t": trade["id"] if trade else -1,
            "I": self.next_execution_id,
            "w": order.is_open and (order.type not in TRIGGERED_TYPES or order.triggered),
            "m": bool(trade and trade["isMaker"]),
            "M": False,
            "O": order.created,
            "Z": wire(order.quote),
            "Y": last["quoteQty"],
            "Q": wire(ZERO),
            "W": order.created,
            "V": "EXPIRE_MAKER",
        }
        for listener in self.listeners:
            listener(event)

    def _legs(self, list_id: int) -> list[FakeOrder]:
        return sorted((o for o in self.orders.values() if o.list_id == list_id), key=lambda o: o.order_id)

    def _find_list(self, params: dict[str, str], cid_key: str = "listClientOrderId") -> int:
        wanted_id, wanted_cid = params.get("orderListId"), params.get(cid_key)
        if wanted_id is None and wanted_cid is None:
            raise _mandatory("orderListId")
        for list_id, found in self.lists.items():
            if str(list_id) == wanted_id or found["listClientOrderId"] == wanted_cid:
                return list_id
        raise VenueError(-2011, "Order list does not exist.")

    def _result(self, order: FakeOrder) -> dict[str, Any]:
        """The order as POST /api/v3/order (RESULT/FULL) and DELETE answer it."""
        shown = order.wire()
        for key in ("icebergQty", "time", "updateTime", "isWorking"):
            del shown[key]
        return {**shown, "transactTime": order.updated}

    def _list_result(self, list_id: int, list_status: str, order_status: str) -> dict[str, Any]:
        legs = self._legs(list_id)
        found = self.lists[list_id]
        return {
            "orderListId": list_id,
            "contingencyType": "OCO",
            "listStatusType": list_status,
            "listOrderStatus": order_status,
            "listClientOrderId": found["listClientOrderId"],
            "transactionTime": now_ms(),
            "symbol": found["symbol"],
            "orders": [{"symbol": o.symbol, "orderId": o.order_id, "clientOrderId": o.client_order_id} for o in legs],
            "orderReports": [self._result(o) for o in legs],
        }


# ---- the server: HTTP routes, websockets, faults, the request log ----------------------------------------------


@dataclass
class _Stream:
    """One websocket connection: its subscriptions and an outbox written in order by one task."""

    socket: web.WebSocketResponse
    transport: asyncio.BaseTransport | None
    outbox: asyncio.Queue[dict[str, Any] | str] = field(default_factory=asyncio.Queue)
    streams: set[str] = field(default_factory=set)
    listen_key: str | None = None  # a user-data stream by listenKey (/ws/<listenKey>): events as they are
    subscription: int | None = None  # the WebSocket API's user-data subscription, once subscribed: events wrapped
    subscriptions_made: int = 0  # the WebSocket API numbers a connection's subscriptions from 0

    @property
    def user_data(self) -> bool:
        return self.listen_key is not None or self.subscription is not None


class BinanceFake:
    """The fake venue served on 127.0.0.1 from a background thread. Use it as a context manager."""

    def __init__(
        self,
        balances: dict[str, str] | None = None,
        prices: dict[str, str] | None = None,
        api_key: str | None = None,
    ) -> None:
        self.venue = FakeVenue(
            balances if balances is not None else {"USDT": "10000", "BTC": "1", "ETH": "10"},
            prices if prices is not None else {"BTCUSDT": "30000.00", "ETHUSDT": "2000.00"},
        )
        self.api_key = api_key  # when set, signed requests with another key get 401 -2015
        self.quotes: dict[str, tuple[Decimal, Decimal]] = {}  # symbol -> (bid, ask); else both at the last price
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._requests: list[FakeRequest] = []
        self._streams: list[_Stream] = []
        self._refuse_websockets = False
        self.listen_key: str | None = None  # the account's active listenKey (one per account, as on Binance)
        self._changed = threading.Condition()
        self.venue.listeners.append(self.send_user_data)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="binance-fake", daemon=True)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ---- lifecycle ----

    def __enter__(self) -> BinanceFake:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *args: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        routes = {
            ("GET", "/api/v3/ping"): self._ping,
            ("GET", "/api/v3/time"): self._time,
            ("GET", "/api/v3/exchangeInfo"): self._exchange_info,
            ("GET", "/api/v3/ticker/price"): self._ticker_price,
            ("GET", "/api/v3/ticker/24hr"): self._ticker_24hr,
            ("GET", "/api/v3/ticker/bookTicker"): self._book_ticker,
            ("GET", "/api/v3/account"): self._account,
            ("POST", "/api/v3/order"): self._place_order,
            ("GET", "/api/v3/order"): self._get_order,
            ("DELETE", "/api/v3/order"): self._cancel_order,
            ("GET", "/api/v3/openOrders"): self._open_orders,
            ("POST", "/api/v3/orderList/oco"): self._place_oco,
            ("DELETE", "/api/v3/orderList"): self._cancel_list,
            ("GET", "/api/v3/orderList"): self._get_list,
            ("GET", "/api/v3/myTrades"): self._my_trades,
            ("POST", "/api/v3/userDataStream"): self._start_user_data,
            ("PUT", "/api/v3/userDataStream"): self._keep_user_data,
            ("DELETE", "/api/v3/userDataStream"): self._close_user_data,
        }
        for (method, path), handler in routes.items():
            app.router.add_route(method, path, handler)
        for path in ("/ws", "/ws/{stream}"):
            app.router.add_get(path, self._websocket)
        app.router.add_get("/ws-api/v3", self._websocket_api)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def ws_api_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws-api/v3"

    # ---- what tests use ----

    def inject(self, route: str, fault: Fault) -> None:
        """Queue a one-shot fault for the next request on a route such as "POST /api/v3/order"."""
        with self._changed:
            self._faults[route].append(fault)

    def set_price(self, symbol: str, price: str | Decimal) -> int:
        """Move the market: resting orders trigger and fill, and websocket subscribers get a ticker event."""
        with self.venue.lock:
            fills = self.venue.set_price(symbol, Decimal(price))
        self._publish(symbol)
        return fills

    @property
    def requests(self) -> list[FakeRequest]:
        with self._changed:
            return list(self._requests)

    def requests_to(self, route: str) -> list[FakeRequest]:
        return [r for r in self.requests if r.route == route]

    @property
    def orders(self) -> list[FakeOrder]:
        """Every order the venue accepted, oldest first (copies)."""
        with self.venue.lock:
            return [replace(o) for o in sorted(self.venue.orders.values(), key=lambda o: o.order_id)]

    def balance(self, asset: str) -> tuple[Decimal, Decimal]:
        with self.venue.lock:
            return self.venue.free[asset], self.venue.locked[asset]

    def send_raw(self, symbol: str, kind: str, message: str | dict[str, Any]) -> None:
        """Send one message as it is (a malformed one, say) to every websocket subscribed to the symbol's `kind`
        stream ("miniTicker", "aggTrade", ...); a dict is sent as JSON, a string as the text given."""
        name = f"{symbol.lower()}@{kind}"
        with self._changed:
            targets = [stream for stream in self._streams if name in stream.streams]
        for stream in targets:
            self._loop.call_soon_threadsafe(stream.outbox.put_nowait, message)

    def send_user_data(self, message: str | dict[str, Any]) -> None:
        """Push one user-data message to every user-data stream: a dict is an event (an executionReport, say), sent
        wrapped in each WebSocket API subscription ({"subscriptionId": n, "event": ...}) and as it is by listenKey; a
        string is sent as the text given (a malformed message, say). The venue pushes its executionReports here."""
        with self._changed:
            targets = [(stream, stream.subscription) for stream in self._streams if stream.user_data]
        for stream, subscription in targets:
            wrapped = isinstance(message, dict) and subscription is not None
            sent = {"subscriptionId": subscription, "event": message} if wrapped else message
            self._loop.call_soon_threadsafe(stream.outbox.put_nowait, sent)

    @property
    def user_data_streams(self) -> int:
        """How many websocket connections follow the account's user data now."""
        with self._changed:
            return sum(stream.user_data for stream in self._streams)

    def wait_for_user_data(self, count: int = 1, timeout: float = 5.0) -> None:
        """Block until `count` websocket connections follow the account's user data."""
        with self._changed:
            if not self._changed.wait_for(lambda: sum(s.user_data for s in self._streams) >= count, timeout):
                raise TimeoutError(f"no {count} user-data subscriptions within {timeout} s")

    def drop_websockets(self, refuse_reconnects: bool = False) -> None:
        """Cut every websocket connection as a network failure would; optionally refuse new ones until allowed."""
        with self._changed:
            self._refuse_websockets = refuse_reconnects
            transports = [s.transport for s in self._streams if s.transport is not None]
        for transport in transports:
            self._loop.call_soon_threadsafe(transport.abort)

    def allow_websockets(self) -> None:
        with self._changed:
            self._refuse_websockets = False

    def wait_for_subscribers(self, symbol: str, count: int = 1, timeout: float = 5.0, kind: str = "") -> None:
        """Block until `count` websocket connections subscribe to the symbol's streams (of this kind, if given:
        "miniTicker", "aggTrade", ...)."""
        prefix = symbol.lower() + "@" + kind

        def subscribed() -> bool:
            return sum(any(s.startswith(prefix) for s in st.streams) for st in self._streams) >= count

        with self._changed:
            if not self._changed.wait_for(subscribed, timeout):
                raise TimeoutError(f"no websocket subscribed to {symbol} within {timeout} s")

    # ---- HTTP plumbing ----

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        params = dict(request.query)
        if request.method in ("POST", "PUT"):
            params.update({k: str(v) for k, v in (await request.post()).items()})
        entry = FakeRequest(
            request.method, request.path, params, request.headers.get("X-MBX-APIKEY"), time.perf_counter()
        )
        with self._changed:
            self._requests.append(entry)
            queue = self._faults.get(entry.route)
            fault = queue.popleft() if queue else None
        if self.api_key is not None and "signature" in params and entry.api_key != self.api_key:
            return _error(401, -2015, "Invalid API-key, IP, or permissions for action.")
        request[PARAMS] = params
        request[PARTIAL] = fault.fraction if fault is not None and fault.kind == "partial" else None
        if fault is not None and fault.kind == "before":
            await asyncio.sleep(fault.delay)
            return _error(503, -1007, "Timeout waiting for response from backend server.")
        if fault is not None and fault.kind == "reply":
            return _error(fault.status, fault.code, fault.msg, fault.retry_after)
        try:
            response = await handler(request)
        except VenueError as refusal:
            return _error(refusal.status, refusal.code, refusal.msg)
        if fault is not None and fault.kind == "after":
            await asyncio.sleep(fault.delay)
        return response

    def _venue_call(self, action: Callable[[], Any]) -> web.Response:
        with self.venue.lock:
            result = action()
        return web.json_response(result)

    async def _ping(self, request: web.Request) -> web.Response:
        return web.json_response({})

    async def _time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": now_ms()})

    async def _exchange_info(self, request: web.Request) -> web.Response:
        wanted = request[PARAMS].get("symbol")
        if wanted is not None and wanted not in SYMBOLS:
            raise VenueError(-1121, "Invalid symbol.")
        symbols = [info for name, info in SYMBOLS.items() if wanted in (None, name)]
        body = {"timezone": "UTC", "serverTime": now_ms(), "rateLimits": RATE_LIMITS, "exchangeFilters": []}
        return web.json_response({**body, "symbols": symbols})

    def _symbols(self, request: web.Request) -> list[str]:
        params = request[PARAMS]
        if "symbols" in params:
            return [s for s in json.loads(params["symbols"]) if s in self.venue.prices]
        symbol = self.venue.symbol(params, required=False)
        return [symbol] if symbol is not None else sorted(self.venue.prices)

    def _per_symbol(self, request: web.Request, shape: Callable[[str], dict[str, Any]]) -> web.Response:
        with self.venue.lock:
            answers = [shape(symbol) for symbol in self._symbols(request)]
        single = "symbol" in request[PARAMS]
        return web.json_response(answers[0] if single and answers else answers)

    async def _ticker_price(self, request: web.Request) -> web.Response:
        return self._per_symbol(request, lambda s: {"symbol": s, "price": wire(self.venue.prices[s])})

    async def _ticker_24hr(self, request: web.Request) -> web.Response:
        return self._per_symbol(request, self.venue.ticker)

    async def _book_ticker(self, request: web.Request) -> web.Response:
        def book(symbol: str) -> dict[str, Any]:
            price = self.venue.prices[symbol]
            bid, ask = self.quotes.get(symbol, (price, price))
            return {"symbol": symbol, "bidPrice": wire(bid), "bidQty": "1.0", "askPrice": wire(ask), "askQty": "1.0"}

        return self._per_symbol(request, book)

    async def _account(self, request: web.Request) -> web.Response:
        return self._venue_call(self.venue.account)

    async def _place_order(self, request: web.Request) -> web.Response:
        return self._venue_call(lambda: self.venue.place_order(request[PARAMS], request[PARTIAL]))

    async def _get_order(self, request: web.Request) -> web.Response:
        unknown = VenueError(-2013, "Order does not exist.")
        return self._venue_call(lambda: self.venue.find(request[PARAMS], unknown).wire())

    async def _cancel_order(self, request: web.Request) -> web.Response:
        return self._venue_call(lambda: self.venue.cancel_order(request[PARAMS]))

    async def _open_orders(self, request: web.Request) -> web.Response:
        def open_orders() -> list[dict[str, Any]]:
            symbol = self.venue.symbol(request[PARAMS], required=False)
            found = [o for o in self.venue.orders.values() if o.is_open and symbol in (None, o.symbol)]
            return [o.wire() for o in sorted(found, key=lambda o: o.order_id)]

        return self._venue_call(open_orders)

    async def _place_oco(self, request: web.Request) -> web.Response:
        return self._venue_call(lambda: self.venue.place_oco(request[PARAMS], request[PARTIAL]))

    async def _cancel_list(self, request: web.Request) -> web.Response:
        return self._venue_call(lambda: self.venue.cancel_list(request[PARAMS]))

    async def _get_list(self, request: web.Request) -> web.Response:
        return self._venue_call(lambda: self.venue.get_list(request[PARAMS]))

    async def _my_trades(self, request: web.Request) -> web.Response:
        return self._venue_call(lambda: self.venue.my_trades(request[PARAMS]))

    # ---- the user-data stream by listenKey (deprecated by Binance for spot, still served) ----

    def _keyed(self, request: web.Request) -> None:
        """A user-data stream request carries the API key in its header (it is not signed)."""
        sent = request.headers.get("X-MBX-APIKEY")
        if not sent:
            raise VenueError(-2014, "API-key format invalid.", status=401)
        if self.api_key is not None and sent != self.api_key:
            raise VenueError(-2015, "Invalid API-key, IP, or permissions for action.", status=401)

    def _listen_key(self, request: web.Request) -> str:
        self._keyed(request)
        with self._changed:
            if request[PARAMS].get("listenKey") != self.listen_key or self.listen_key is None:
                raise VenueError(-1125, "This listenKey does not exist.")
            return self.listen_key

    async def _start_user_data(self, request: web.Request) -> web.Response:
        """A listenKey: the account's active one when there is one, as on Binance."""
        self._keyed(request)
        with self._changed:
            if self.listen_key is None:
                self.listen_key = secrets.token_hex(30)
            return web.json_response({"listenKey": self.listen_key})

    async def _keep_user_data(self, request: web.Request) -> web.Response:
        self._listen_key(request)
        return web.json_response({})

    async def _close_user_data(self, request: web.Request) -> web.Response:
        """Close the stream: its key is no longer valid and its connections end."""
        key = self._listen_key(request)
        with self._changed:
            self.listen_key = None
            transports = [s.transport for s in self._streams if s.listen_key == key and s.transport is not None]
        for transport in transports:
            transport.abort()
        return web.json_response({})

    # ---- websockets: market streams as wss://stream.binance.com/ws speaks them ----

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        """/ws and /ws/<stream>: market streams (ccxt names its connections /ws/0, /ws/1, ...); /ws/<listenKey>: the
        account's user-data stream."""
        named = request.match_info.get("stream", "")
        with self._changed:
            listen_key = named if named and named == self.listen_key else None
        return await self._serve(request, self._on_command, named if "@" in named else None, listen_key)

    async def _websocket_api(self, request: web.Request) -> web.StreamResponse:
        """/ws-api/v3: the WebSocket API, as far as the user-data stream goes."""
        return await self._serve(request, self._on_api_request)

    async def _serve(
        self,
        request: web.Request,
        on_text: Callable[[_Stream, dict[str, Any]], None],
        named: str | None = None,
        listen_key: str | None = None,
    ) -> web.StreamResponse:
        with self._changed:
            refused = self._refuse_websockets
        if refused:
            return web.Response(status=503, text="websockets are refused for now")
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        stream = _Stream(socket, request.transport, listen_key=listen_key)
        if named is not None:
            stream.streams.add(named)
        writer = asyncio.ensure_future(self._write(stream))
        with self._changed:
            self._streams.append(stream)
            self._changed.notify_all()
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    on_text(stream, json.loads(message.data))
        finally:
            writer.cancel()
            with self._changed:
                self._streams.remove(stream)
                self._changed.notify_all()
        return socket

    def _on_api_request(self, stream: _Stream, request: dict[str, Any]) -> None:
        """A WebSocket API request: userDataStream.subscribe.signature (the signature is not checked, the key is when
        the fake has one) and userDataStream.unsubscribe; any other method is refused."""
        ident, method, params = request.get("id"), str(request.get("method")), dict(request.get("params") or {})
        entry = FakeRequest(
            "WS", method, {k: str(v) for k, v in params.items()}, params.get("apiKey"), time.perf_counter()
        )
        with self._changed:
            self._requests.append(entry)
        reply: dict[str, Any] = {"id": ident, "status": 200, "result": {}}
        if method == "userDataStream.subscribe.signature":
            if self.api_key is not None and entry.api_key != self.api_key:
                reply = _api_error(ident, 401, -2015, "Invalid API-key, IP, or permissions for action.")
            else:
                with self._changed:
                    if stream.subscription is None:  # one subscription per account on a connection
                        stream.subscription, stream.subscriptions_made = (
                            stream.subscriptions_made,
                            stream.subscriptions_made + 1,
                        )
                    self._changed.notify_all()
                reply["result"] = {"subscriptionId": stream.subscription}
        elif method == "userDataStream.unsubscribe":
            with self._changed:
                stream.subscription = None
                self._changed.notify_all()
        else:
            reply = _api_error(ident, 400, -1100, f"Unknown method '{method}'.")
        stream.outbox.put_nowait(reply)

    def _on_command(self, stream: _Stream, command: dict[str, Any]) -> None:
        method, names = command.get("method"), list(command.get("params") or [])
        with self._changed:
            if method == "SUBSCRIBE":
                stream.streams.update(names)
            elif method == "UNSUBSCRIBE":
                stream.streams.difference_update(names)
            self._changed.notify_all()
        result = sorted(stream.streams) if method == "LIST_SUBSCRIPTIONS" else None
        stream.outbox.put_nowait({"result": result, "id": command.get("id")})
        if method == "SUBSCRIBE":  # Binance pushes tickers every second; the fake sends one now
            for name in names:
                symbol = name.split("@")[0].upper()
                if symbol in self.venue.prices:
                    event = self._event(symbol, name.split("@", 1)[1])
                    if event is not None:
                        stream.outbox.put_nowait(event)

    async def _write(self, stream: _Stream) -> None:
        while True:
            message = await stream.outbox.get()
            await stream.socket.send_str(message if isinstance(message, str) else json.dumps(message))

    def _event(self, symbol: str, kind: str) -> dict[str, Any] | None:
        with self.venue.lock:
            price, trade_id = wire(self.venue.prices[symbol]), self.venue.next_trade_id
        moment = now_ms()
        if kind == "miniTicker":
            day = {"o": price, "h": price, "l": price, "v": "100.00000000", "q": "0.00000000"}
            return {"e": "24hrMiniTicker", "E": moment, "s": symbol, "c": price, **day}
        if kind == "ticker":
            return {"e": "24hrTicker", "E": moment, "s": symbol, "c": price, "o": price, "h": price, "l": price}
        if kind == "aggTrade":
            ids = {"a": trade_id, "f": trade_id, "l": trade_id}
            return {"e": "aggTrade", "E": moment, "s": symbol, **ids, "p": price, "q": "0.00100000", "T": moment}
        if kind == "trade":
            return {"e": "trade", "E": moment, "s": symbol, "t": trade_id, "p": price, "q": "0.00100000", "T": moment}
        return None

    def _publish(self, symbol: str) -> None:
        prefix = symbol.lower() + "@"
        with self._changed:
            targets = [(s, name) for s in self._streams for name in s.streams if name.startswith(prefix)]
        for stream, name in targets:
            event = self._event(symbol, name.split("@", 1)[1])
            if event is not None:
                self._loop.call_soon_threadsafe(stream.outbox.put_nowait, event)


def _api_error(ident: object, status: int, code: int, msg: str) -> dict[str, Any]:
    """A WebSocket API refusal, as Binance answers one."""
    return {"id": ident, "status": status, "error": {"code": code, "msg": msg}}


def _error(status: int, code: int | None, msg: str, retry_after: int | None = None) -> web.Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    if code is None:
        return web.Response(status=status, text=msg, headers=headers)
    return web.json_response({"code": code, "msg": msg}, status=status, headers=headers)
