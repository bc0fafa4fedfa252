"""Binance spot through ccxt: the only module that imports ccxt.

BinanceExchange implements ExchangePort with ccxt's synchronous client; BinanceFeed implements PriceFeed with
ccxt.pro websockets on a background thread. Amounts are read from the raw Binance strings in each response's
`info` (ccxt's parsed numbers are floats); every ccxt error becomes a ports error in one place, `translate`.

Mirrors the paper venue where the engine can tell: an OCO returns (stop, target), its target leg (a LIMIT_MAKER on
Binance) is reported as TAKE_PROFIT_LIMIT at the target like the order the engine recorded, open orders come
oldest first, and an unknown or closed client order id is UnknownOrder.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit

import ccxt  # type: ignore[import-untyped]
import ccxt.pro  # type: ignore[import-untyped]

from robson.domain.fills import Fill
from robson.domain.instrument import Instrument
from robson.domain.orders import OrderStatus, OrderType
from robson.domain.values import ZERO, OrderSide, is_on_step, to_decimal
from robson.ports import (
    Balance,
    Banned,
    DuplicateOrder,
    ExchangeError,
    Fatal,
    FeeRates,
    FilterFailure,
    InsufficientFunds,
    OcoRequest,
    OrderReport,
    OrderRequest,
    RateLimited,
    Rejected,
    Retryable,
    UnknownOrder,
    UnknownSymbol,
    WouldTriggerImmediately,
)

T = TypeVar("T")
log = logging.getLogger(__name__)

# ---- errors: translated once, here ---------------------------------------------------------------------------

AUTH_CODES = frozenset({-1002, -1022, -2014, -2015})  # unauthorized, bad signature, bad key format, bad key/IP
RATE_CODES = frozenset({-1003, -1015})  # request weight, too many new orders
BUSY_CODES = frozenset({-1000, -1001, -1006, -1007, -1008})  # unknown error, internal, bus, timeout, overloaded
UNKNOWN_ORDER_CODES = frozenset({-2011, -2013})
BAD_TIMESTAMP = -1021


@dataclass(frozen=True, slots=True)
class VenueReply:
    """An HTTP error reply as it came from the venue: what `translate` needs beyond ccxt's exception class."""

    status: int
    headers: Mapping[str, str]  # keys in lower case
    body: str
    method: str = ""
    path: str = ""


def translate(error: Exception, reply: VenueReply | None = None) -> ExchangeError:
    """The ports error for a ccxt exception. Switches on the venue's HTTP status, code and msg first: ccxt's own
    classes depend on the URL (a local test server gets fewer of them) and lump 429 and 418 together."""
    if isinstance(error, ExchangeError):
        return error
    text = str(error)
    status = reply.status if reply is not None else _status_in(text)
    code, msg = _code_and_msg(reply.body if reply is not None else text)
    where = f"{reply.method} {reply.path}" if reply is not None and reply.path else _where(text)
    on = f" on {where}" if where else ""
    said = ", ".join(part for part in (f"HTTP {status}" if status else "", f"code {code}" if code else "") if part)
    said = f" ({said}{_colon(msg)})" if said or msg else ""
    retry_after = _retry_after(reply.headers if reply is not None else {})
    unknown = "" if where.startswith("GET") else "; the outcome is unknown until the order is queried"
    lowered = msg.lower()
    if status == 418:
        return Banned(f"Binance banned this IP for ignoring rate limits{said}{_wait(retry_after)}", retry_after)
    if code in AUTH_CODES or status == 401 or isinstance(error, ccxt.AuthenticationError):
        return Fatal(f"Binance refused the API key{said}; check the key, its permissions and the IP whitelist")
    if status == 429 or code in RATE_CODES or isinstance(error, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
        return RateLimited(f"Binance rate limit hit{on}{said}{_wait(retry_after)}", retry_after)
    if (status or 0) >= 500 or code in BUSY_CODES:
        return Retryable(f"Binance failed{on}{said}{unknown}")
    if code == BAD_TIMESTAMP:
        return Retryable(f"Binance refused the request's timestamp{said}; check this machine's clock")
    if "insufficient balance" in lowered or isinstance(error, ccxt.InsufficientFunds):
        return InsufficientFunds(msg or "Account has insufficient balance for requested action.")
    if code == -1013 or lowered.startswith("filter failure"):
        return FilterFailure(msg or "Filter failure")
    if "would trigger immediately" in lowered:
        return WouldTriggerImmediately(msg)
    if "duplicate order" in lowered or isinstance(error, ccxt.DuplicateOrderId):
        return DuplicateOrder(msg or "Duplicate order sent.")
    if code in UNKNOWN_ORDER_CODES or isinstance(error, ccxt.OrderNotFound):
        return UnknownOrder(msg or "Order does not exist.")
    if code == -1121 or isinstance(error, ccxt.BadSymbol):
        return UnknownSymbol(msg or "Invalid symbol.")
    if isinstance(error, ccxt.RequestTimeout):
        return Retryable(f"Binance did not answer{on} in time{unknown}")
    if isinstance(error, ccxt.OperationFailed):  # network errors, bad responses
        return Retryable(f"Binance could not be reached{on} ({type(error).__name__}){unknown}")
    if code is not None and msg:
        return Rejected(f"{msg} (Binance code {code})")
    if isinstance(error, ccxt.InvalidOrder | ccxt.BadRequest | ccxt.OperationRejected):
        return Rejected(_first_line(text).removeprefix("binance "))
    return Fatal(f"Unexpected answer from Binance{on}: {type(error).__name__}{_colon(_first_line(text))}")


def _code_and_msg(text: str) -> tuple[int | None, str]:
    """Binance's {"code": -2010, "msg": "..."} from a reply body or from ccxt's message around it."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        return None, ""
    try:
        body = json.loads(text[start : end + 1])
    except ValueError:
        return None, ""
    if not isinstance(body, dict):
        return None, ""
    try:
        code = int(body["code"])
    except (KeyError, TypeError, ValueError):
        code = None
    return code, str(body.get("msg") or "")


def _status_in(text: str) -> int | None:
    """ccxt writes 'binance 429 Too Many Requests {...}' for 418 and 429."""
    found = re.match(r"binance (\d{3}) ", text)
    return int(found.group(1)) if found else None


def _where(text: str) -> str:
    """'POST /api/v3/order' from ccxt's 'binance POST http://host/api/v3/order?...' (never the query: signed)."""
    found = re.search(r"\b(GET|POST|PUT|DELETE) (\S+)", text)
    return f"{found.group(1)} {urlsplit(found.group(2)).path}" if found else ""


def _retry_after(headers: Mapping[str, str]) -> float | None:
    try:
        return float(headers["retry-after"])
    except (KeyError, ValueError):
        return None


def _wait(retry_after: float | None) -> str:
    return f"; retry after {retry_after:g} s" if retry_after is not None else ""


def _colon(text: str) -> str:
    return f": {text}" if text else ""


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


class _RedactedLog:
    """ccxt's debug log prints request headers, which carry the API key: this strips key and secret first."""

    def __init__(self, logger: logging.Logger, secrets: Sequence[str]) -> None:
        self._logger, self._secrets = logger, tuple(secrets)

    def _log(self, level: int, msg: object, *args: object) -> None:
        if self._logger.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            self._logger.log(level, "%s", _redact(text, self._secrets))

    def debug(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.DEBUG, msg, *args)

    def info(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.INFO, msg, *args)

    def warning(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.WARNING, msg, *args)

    def error(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.ERROR, msg, *args)


# ---- the ccxt clients ----------------------------------------------------------------------------------------


class _Client(ccxt.binance):  # type: ignore[misc]
    """ccxt.binance that keeps the last HTTP error reply (status, headers, body) for `translate`."""

    reply: VenueReply | None = None

    def handle_errors(self, code: int, reason: str, url: str, method: str, headers: Any, body: str, *rest: Any) -> Any:
        if code is not None and code >= 400:
            lowered = {str(k).lower(): str(v) for k, v in dict(headers or {}).items()}
            self.reply = VenueReply(code, lowered, body or "", method, urlsplit(url).path)
        return super().handle_errors(code, reason, url, method, headers, body, *rest)


def _config(api_key: str, secret: str, base_url: str | None, timeout_ms: int) -> dict[str, Any]:
    return {
        "apiKey": api_key,
        "secret": secret,
        "timeout": timeout_ms,
        "enableRateLimit": base_url is None,  # a local test server needs no pacing
        "options": {
            "fetchCurrencies": False,
            "fetchMargins": False,
            "fetchMarkets": {"types": ["spot"]},
            "adjustForTimeDifference": True,  # signed requests carry a timestamp: align it with the venue's clock
            "warnOnFetchOpenOrdersWithoutSymbol": False,
        },
    }


def _point_at(client: Any, base_url: str | None, ws_url: str | None) -> None:
    """Send every REST section (public, private, sapi, ...) to base_url keeping its path; websockets to ws_url."""
    api = client.urls["api"]
    if base_url is not None:
        for section, url in api.items():
            if isinstance(url, str):
                api[section] = base_url.rstrip("/") + urlsplit(url).path
    if ws_url is not None and isinstance(api.get("ws"), dict):
        for section in ("spot", "margin"):
            api["ws"][section] = ws_url.rstrip("/")


# ---- reading Binance's raw answers ---------------------------------------------------------------------------

BINANCE_TYPES = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.STOP_MARKET: "STOP_LOSS",
    OrderType.STOP_LIMIT: "STOP_LOSS_LIMIT",
    OrderType.TAKE_PROFIT_LIMIT: "TAKE_PROFIT_LIMIT",
}
ORDER_STATUSES = {
    "NEW": OrderStatus.NEW,
    "PENDING_NEW": OrderStatus.PENDING_NEW,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "PENDING_CANCEL": OrderStatus.NEW,  # unused by Binance; still working until it says otherwise
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
}


def _amount(raw: Mapping[str, Any], key: str) -> Decimal:
    """A Decimal from one of Binance's amount strings; floats are refused, they would mean parsed data."""
    value = to_decimal(raw[key], key)
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _optional_amount(raw: Mapping[str, Any], key: str) -> Decimal | None:
    value = _amount(raw, key) if raw.get(key) not in (None, "") else None
    return value if value else None


def _time(milliseconds: int) -> datetime:
    return datetime.fromtimestamp(milliseconds // 1000, UTC) + timedelta(milliseconds=milliseconds % 1000)


def _instrument(market: Mapping[str, Any]) -> Instrument:
    filters = {f["filterType"]: f for f in market["info"]["filters"]}
    notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {"minNotional": "0"}
    return Instrument(
        symbol=market["symbol"],
        base=market["base"],
        quote=market["quote"],
        tick_size=_amount(filters["PRICE_FILTER"], "tickSize"),
        step_size=_amount(filters["LOT_SIZE"], "stepSize"),
        min_quantity=_amount(filters["LOT_SIZE"], "minQty"),
        min_notional=_amount(notional, "minNotional"),
    )


def _order_kind(raw: Mapping[str, Any]) -> tuple[OrderType, Decimal | None, Decimal | None]:
    """Our order type, price and stop price for a Binance order."""
    kind, price, stop = raw["type"], _optional_amount(raw, "price"), _optional_amount(raw, "stopPrice")
    in_list = int(raw.get("orderListId", -1)) >= 0
    if kind == "MARKET":
        return OrderType.MARKET, None, None
    if kind == "LIMIT_MAKER" and in_list:  # an OCO's target: recorded by the engine as a take-profit at target
        return OrderType.TAKE_PROFIT_LIMIT, price, price
    if kind in ("LIMIT", "LIMIT_MAKER"):
        return OrderType.LIMIT, price, None
    if kind in ("STOP_LOSS", "TAKE_PROFIT"):  # both sell (or buy) at market once triggered
        return OrderType.STOP_MARKET, None, stop
    if kind == "STOP_LOSS_LIMIT":
        return OrderType.STOP_LIMIT, price, stop
    if kind == "TAKE_PROFIT_LIMIT":
        return OrderType.TAKE_PROFIT_LIMIT, price, stop
    raise Fatal(f"Binance order {raw.get('clientOrderId')} has a type Robson does not handle: {kind}")


def _fill(raw: Mapping[str, Any], client_order_id: str, symbol: str, side: OrderSide, at: int) -> Fill:
    """A Fill from a FULL response's fills[] entry or a myTrades row (they name the id and time differently)."""
    return Fill(
        trade_id=str(raw.get("tradeId", raw.get("id"))),
        client_order_id=client_order_id,
        symbol=symbol,
        side=side,
        price=_amount(raw, "price"),
        quantity=_amount(raw, "qty"),
        fee=_amount(raw, "commission"),
        fee_asset=str(raw["commissionAsset"]),
        time=_time(int(raw.get("time", at))),
    )


def _order_shape(request: OrderRequest) -> tuple[str, str | None, dict[str, str]]:
    """ccxt's type, price and params for our order type: MARKET sends quantity (price None avoids ccxt's
    quoteOrderQty); the stop types become STOP_LOSS, STOP_LOSS_LIMIT and TAKE_PROFIT_LIMIT."""
    takes_price, takes_stop = request.type.needs_price, request.type.needs_trigger
    for name, value, wanted in (("price", request.price, takes_price), ("stopPrice", request.stop_price, takes_stop)):
        if value is not None and not wanted:
            raise Rejected(f"Parameter '{name}' sent when not required.")
        if value is None and wanted:
            raise Rejected(f"{request.type} order {request.client_order_id} needs a {name}")
    price = str(request.price) if request.price is not None else None
    params = {"timeInForce": "GTC"} if takes_price else {}
    if request.type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT):
        params["stopLossPrice"] = str(request.stop_price)
    elif request.type is OrderType.TAKE_PROFIT_LIMIT:
        params["takeProfitPrice"] = str(request.stop_price)
    return ("limit" if takes_price else "market"), price, params


# ---- the exchange --------------------------------------------------------------------------------------------


class BinanceExchange:
    """ExchangePort for Binance spot (REST, signed with an HMAC key)."""

    name = "binance"
    supports_short = False  # spot: selling needs the base asset

    def __init__(
        self,
        api_key: str,
        secret: str,
        *,
        base_url: str | None = None,
        ws_url: str | None = None,
        timeout_ms: int = 10000,
        symbols: Sequence[str] | None = None,
    ) -> None:
        self._secrets = tuple(s for s in (api_key, secret) if s)
        self._client = _Client(_config(api_key, secret, base_url, timeout_ms))
        self._client.logger = _RedactedLog(logging.getLogger(f"{__name__}.http"), self._secrets)
        _point_at(self._client, base_url, None)
        self._settings = (base_url, ws_url, timeout_ms)
        self._symbols = frozenset(symbols) if symbols else None
        self._lock = threading.RLock()  # one request at a time: the client keeps the last reply
        self._fees: FeeRates | None = None
        self._list_ids: dict[tuple[str, int], str] = {}  # (symbol, Binance orderListId) -> our list id

    def price_feed(self, symbols: Sequence[str] | None = None) -> BinanceFeed:
        """A websocket feed on the same venue, with this exchange's REST as its fallback."""
        base_url, ws_url, timeout_ms = self._settings
        wanted = list(symbols) if symbols else sorted(self._symbols or ())
        return BinanceFeed(wanted, base_url=base_url, ws_url=ws_url, timeout_ms=timeout_ms, rest=self)

    # ---- reading --------------------------------------------------------------------------------------------

    def instruments(self) -> dict[str, Instrument]:
        """Spot markets that are trading (only `symbols` when given), with their PRICE/LOT/NOTIONAL filters."""
        found = {}
        for symbol, market in self._markets().items():
            wanted = self._symbols is None or symbol in self._symbols
            if wanted and market.get("spot") and market["info"].get("status") == "TRADING":
                found[symbol] = _instrument(market)
        return found

    def fee_rates(self, symbol: str) -> FeeRates:
        self._market(symbol)
        if self._fees is None:
            self._read_account()
        assert self._fees is not None
        return self._fees

    def last_price(self, symbol: str) -> Decimal | None:
        market = self._market(symbol)
        raw = self._call(lambda client: client.publicGetTickerPrice({"symbol": market["id"]}))
        return _amount(raw, "price") if isinstance(raw, dict) and raw.get("price") else None

    def balances(self) -> dict[str, Balance]:
        """Every asset the account holds (free or locked); zero balances are left out."""
        return self._read_account()

    def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        self._market(symbol)
        order = self._call(lambda c: c.fetch_order(None, symbol, {"origClientOrderId": client_order_id}))
        return self._report(order["info"])

    def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Open orders, oldest first."""
        if symbol is not None:
            self._market(symbol)
        orders = self._call(lambda client: client.fetch_open_orders(symbol))
        raws = sorted((o["info"] for o in orders), key=lambda raw: (int(raw.get("time", 0)), int(raw["orderId"])))
        return [self._report(raw) for raw in raws]

    # ---- trading --------------------------------------------------------------------------------------------

    def place_order(self, request: OrderRequest) -> OrderReport:
        market = self._market(request.symbol)
        kind, price, params = _order_shape(request)
        self._check_offered(market, BINANCE_TYPES[request.type])
        self._check_steps(market, request.quantity, request.price, request.stop_price)
        params |= {"newClientOrderId": request.client_order_id, "newOrderRespType": "FULL"}
        side, quantity = request.side.value.lower(), str(request.quantity)
        order = self._call(lambda c: c.create_order(request.symbol, kind, side, quantity, price, params))
        return self._report(order["info"])

    def place_oco(self, request: OcoRequest) -> tuple[OrderReport, OrderReport]:
        """POST /api/v3/orderList/oco: the target as a LIMIT_MAKER, the stop as a STOP_LOSS; for a SELL the
        target is the leg above the market, for a BUY the leg below. Returns (stop, target)."""
        market = self._market(request.symbol)
        self._check_steps(market, request.quantity, request.target_price, request.stop_price)
        self._check_offered(market, "STOP_LOSS", "LIMIT_MAKER")
        stop = {"Type": "STOP_LOSS", "StopPrice": str(request.stop_price)}
        target = {"Type": "LIMIT_MAKER", "Price": str(request.target_price)}
        stop["ClientOrderId"], target["ClientOrderId"] = request.stop_client_order_id, request.target_client_order_id
        above, below = (target, stop) if request.side is OrderSide.SELL else (stop, target)
        params = {
            "symbol": market["id"],
            "side": request.side.value,
            "quantity": str(request.quantity),
            "listClientOrderId": request.list_id,
            "newOrderRespType": "FULL",
            **{f"above{key}": value for key, value in above.items()},
            **{f"below{key}": value for key, value in below.items()},
        }
        raw = self._call(lambda client: client.privatePostOrderListOco(params))
        self._list_ids[(request.symbol, int(raw["orderListId"]))] = str(raw["listClientOrderId"])
        legs = {str(leg["clientOrderId"]): leg for leg in raw["orderReports"]}
        try:
            stop_raw, target_raw = legs[request.stop_client_order_id], legs[request.target_client_order_id]
        except KeyError:
            raise Fatal(f"Binance answered OCO {request.list_id} without both of its legs") from None
        return self._report(stop_raw), self._report(target_raw)

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """Cancel one order; Binance cancels the rest of its OCO list with it."""
        self._market(symbol)
        order = self._call(lambda c: c.cancel_order(None, symbol, {"origClientOrderId": client_order_id}))
        return self._report(order["info"])

    def cancel_list(self, symbol: str, list_id: str) -> list[OrderReport]:
        """Cancel a whole OCO list by our list id (DELETE /api/v3/orderList)."""
        market = self._market(symbol)
        params = {"symbol": market["id"], "listClientOrderId": list_id}
        raw = self._call(lambda client: client.privateDeleteOrderList(params))
        return [self._report(leg) for leg in raw["orderReports"]]

    # ---- inside ---------------------------------------------------------------------------------------------

    def _call(self, action: Callable[[Any], T]) -> T:
        """Run one ccxt call; its failure leaves as a ports error with the keys redacted."""
        with self._lock:
            self._client.reply = None
            try:
                return action(self._client)
            except ccxt.BaseError as error:
                translated = translate(error, self._client.reply)
                translated.args = tuple(_redact(str(a), self._secrets) for a in translated.args)
                raise translated from None

    def _markets(self) -> dict[str, Any]:
        markets: dict[str, Any] = self._call(lambda client: client.load_markets())
        return markets

    def _market(self, symbol: str) -> dict[str, Any]:
        market = self._markets().get(symbol)
        if market is None or not market.get("spot"):
            raise UnknownSymbol(f"Invalid symbol: {symbol} is not a Binance spot market.")
        return dict(market)

    @staticmethod
    def _check_offered(market: Mapping[str, Any], *binance_types: str) -> None:
        """Refuse an order type the symbol does not list, with its name (ccxt's own refusal names neither)."""
        offered = market["info"].get("orderTypes", [])
        for binance_type in binance_types:
            if binance_type not in offered:
                raise Rejected(f"Binance offers no {binance_type} orders on {market['symbol']}")

    @staticmethod
    def _check_steps(market: Mapping[str, Any], quantity: Decimal, *prices: Decimal | None) -> None:
        """Refuse off-grid amounts here as Binance would: ccxt would silently truncate or round them instead."""
        instrument = _instrument(market)
        if any(p is not None and not is_on_step(p, instrument.tick_size) for p in prices):
            raise FilterFailure("Filter failure: PRICE_FILTER")
        if not is_on_step(quantity, instrument.step_size):
            raise FilterFailure("Filter failure: LOT_SIZE")

    def _read_account(self) -> dict[str, Balance]:
        raw = self._call(lambda client: client.privateGetAccount())
        rates = raw.get("commissionRates")
        if rates:
            self._fees = FeeRates(_amount(rates, "maker"), _amount(rates, "taker"))
        else:  # older accounts: commissions in basis points
            self._fees = FeeRates(Decimal(raw["makerCommission"]) / 10000, Decimal(raw["takerCommission"]) / 10000)
        found = {}
        for entry in raw["balances"]:
            balance = Balance(str(entry["asset"]), _amount(entry, "free"), _amount(entry, "locked"))
            if balance.total != ZERO:
                found[balance.asset] = balance
        return found

    def _symbol_of(self, market_id: str) -> str:
        markets = self._client.markets_by_id or {}
        found = markets.get(market_id)
        if not found:
            raise Fatal(f"Binance answered about {market_id}, a market it did not list")
        return str(found[0]["symbol"])

    def _report(self, raw: Mapping[str, Any]) -> OrderReport:
        """An OrderReport from a raw Binance order (POST/GET/DELETE order, openOrders or an OCO leg)."""
        symbol = self._symbol_of(str(raw["symbol"]))
        client_order_id = str(raw.get("origClientOrderId") or raw["clientOrderId"])
        kind, price, stop_price = _order_kind(raw)
        side = OrderSide(raw["side"])
        filled = _amount(raw, "executedQty")
        if "fills" in raw:
            at = int(raw.get("transactTime", 0))
            fills = [_fill(entry, client_order_id, symbol, side, at) for entry in raw["fills"]]
        else:
            fills = self._fills(symbol, int(raw["orderId"]), client_order_id, side) if filled else []
        return OrderReport(
            client_order_id=client_order_id,
            exchange_order_id=str(raw["orderId"]),
            symbol=symbol,
            side=side,
            type=kind,
            status=ORDER_STATUSES.get(str(raw["status"]), OrderStatus.NEW),
            quantity=_amount(raw, "origQty"),
            filled_quantity=filled,
            price=price,
            stop_price=stop_price,
            list_id=self._list_id(symbol, int(raw.get("orderListId", -1))),
            fills=tuple(fills),
        )

    def _fills(self, symbol: str, order_id: int, client_order_id: str, side: OrderSide) -> list[Fill]:
        params = {"orderId": order_id}
        trades = self._call(lambda client: client.fetch_my_trades(symbol, None, 1000, params))
        rows = [t["info"] for t in trades if int(t["info"]["orderId"]) == order_id]
        return [_fill(row, client_order_id, symbol, side, int(row["time"])) for row in rows]

    def _list_id(self, symbol: str, number: int) -> str | None:
        """Our list id for Binance's numeric orderListId: remembered from place_oco, else asked of the venue."""
        if number < 0:
            return None
        if (symbol, number) not in self._list_ids:
            params = {"orderListId": number}
            raw = self._call(lambda client: client.privateGetOrderList(params))
            self._list_ids[(symbol, number)] = str(raw["listClientOrderId"])
        return self._list_ids[(symbol, number)]


# ---- the price feed ------------------------------------------------------------------------------------------


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
        self._rest = rest or BinanceExchange("", "", base_url=base_url, timeout_ms=timeout_ms, symbols=symbols)
        self._settings = (base_url, ws_url, timeout_ms)
        self._backoff = tuple(backoff)
        self._lock = threading.Lock()
        self._ticks: list[tuple[str, Decimal]] = []
        self._streamed: dict[str, Decimal] = {}  # last price per symbol taken from the socket (feed thread only)
        self._delivered: dict[str, Decimal] = {}  # last price per symbol handed out by poll() (caller's thread)
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
            try:
                price = self._rest.last_price(symbol)
            except Retryable as error:
                log.warning("Binance REST price for %s unavailable: %s", symbol, error)
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
