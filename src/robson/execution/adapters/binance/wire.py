"""The ccxt client pointed at Binance (or a loopback fake), and reading Binance's raw answers into domain values.

ccxt has no types: what its client answers is `object` here (`CcxtClient`), and becomes a domain value only through
the readers below, which check each field they read (a reply without it, or of another shape, is Fatal: the venue
broke its contract).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import ccxt
import ccxt.pro

from robson.domain.errors import InvalidValue
from robson.domain.fills import Fill
from robson.domain.instrument import Instrument
from robson.domain.orders import OrderStatus, OrderType
from robson.domain.values import ZERO, OrderSide, to_decimal
from robson.execution.adapters.binance.errors import VenueReply
from robson.ports import (
    Fatal,
    OrderRequest,
    Rejected,
)

# ---- the ccxt clients ----------------------------------------------------------------------------------------


Raw = Mapping[str, object]  # one JSON object of a Binance answer, as ccxt hands it over: read with the readers below
Params = Mapping[str, str | int]  # what a request sends besides its named arguments


class CcxtClient(Protocol):
    """What the exchange uses of ccxt's synchronous binance client (`_Client`): every answer is raw JSON."""

    reply: VenueReply | None  # the last HTTP error reply (see _Client)
    logger: object
    markets_by_id: object  # Binance's market id -> [ccxt's market], once the markets are loaded
    urls: dict[str, object]

    def load_markets(self) -> object: ...

    def fetch_order(self, id: None, symbol: str, params: Params) -> object: ...

    def fetch_open_orders(self, symbol: str | None) -> object: ...

    def fetch_my_trades(self, symbol: str, since: None, limit: int, params: Params) -> object: ...

    def create_order(
        self, symbol: str, type: str, side: str, amount: str, price: str | None, params: Params
    ) -> object: ...

    def cancel_order(self, id: None, symbol: str, params: Params) -> object: ...

    def publicGetTickerPrice(self, params: Params) -> object: ...

    def publicGetTickerBookTicker(self, params: Params) -> object: ...

    def privateGetAccount(self) -> object: ...

    def privatePostOrderListOco(self, params: Params) -> object: ...

    def privateGetOrderList(self, params: Params) -> object: ...

    def privateDeleteOrderList(self, params: Params) -> object: ...


class _Client(ccxt.binance):
    """ccxt.binance that keeps the last HTTP error reply (status, headers, body) for `translate`."""

    reply: VenueReply | None = None

    def handle_errors(
        self,
        code: int | None,
        reason: str,
        url: str,
        method: str,
        headers: Mapping[str, object] | None,
        body: str | None,
        *rest: object,
    ) -> object:  # ccxt's own answer: whether its further handling is skipped
        if code is not None and code >= 400:
            lowered = {str(k).lower(): str(v) for k, v in dict(headers or {}).items()}
            self.reply = VenueReply(code, lowered, body or "", method, urlsplit(url).path)
        return super().handle_errors(code, reason, url, method, headers, body, *rest)


def client(api_key: str, secret: str, base_url: str | None, timeout_ms: int) -> CcxtClient:
    """ccxt's client for Binance spot, or for the venue at base_url (a test venue, not paced)."""
    made: CcxtClient = _Client(_config(api_key, secret, base_url, timeout_ms))
    return made


def _config(api_key: str, secret: str, base_url: str | None, timeout_ms: int) -> dict[str, object]:
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


class Pointable(Protocol):
    urls: dict[str, object]  # ccxt's: "api" -> section -> URL ("ws" -> section -> URL)


def _point_at(client: Pointable, base_url: str | None, ws_url: str | None, ws_api_url: str | None = None) -> None:
    """Send every REST section (public, private, sapi, ...) to base_url keeping its path; the market streams to
    ws_url; the WebSocket API (the account's user-data stream) to ws_api_url, by default beside ws_url on the same
    host (/ws-api/v3): a test venue's websockets all go to it, never to Binance's."""
    api = client.urls["api"]
    if not isinstance(api, dict):
        raise Fatal(f"ccxt lists no Binance API URLs: {_shown(api)}")
    if base_url is not None:
        for section, url in api.items():
            if isinstance(url, str):
                api[section] = base_url.rstrip("/") + urlsplit(url).path
    streams = api.get("ws")
    if not isinstance(streams, dict):  # the REST client's
        return
    if ws_url is not None:
        for section in ("spot", "margin"):
            streams[section] = ws_url.rstrip("/")
        if ws_api_url is None:
            parts = urlsplit(ws_url)
            ws_api_url = urlunsplit((parts.scheme, parts.netloc, "/ws-api/v3", "", ""))
    web_socket_api = streams.get("ws-api")
    if ws_api_url is not None and isinstance(web_socket_api, dict):
        web_socket_api["spot"] = ws_api_url.rstrip("/")


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


def _object(value: object, what: str) -> Raw:
    """A JSON object of a Binance answer; anything else breaks the venue's contract."""
    if not isinstance(value, Mapping):
        raise Fatal(f"Binance answered {what} with {_shown(value)}, not a JSON object")
    return value


def _objects(value: object, what: str) -> list[Raw]:
    """A JSON list of objects of a Binance answer."""
    if not isinstance(value, list):
        raise Fatal(f"Binance answered {what} with {_shown(value)}, not a list")
    return [_object(item, what) for item in value]


def _info(value: object, what: str) -> Raw:
    """Binance's own answer inside one of ccxt's structures (an order, a trade): its `info`."""
    return _object(_field(_object(value, what), "info"), what)


def _field(raw: Raw, key: str) -> object:
    if key not in raw:
        raise Fatal(f"Binance answered without {key!r}: {_shown(raw)}")
    return raw[key]


def _text(raw: Raw, key: str) -> str:
    """An id, a name or a code: a string, or a number for the ids Binance counts."""
    value = _field(raw, key)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Fatal(f"Binance answered {key}={_shown(value)}, not a name or an id")
    return str(value)


def _integer(raw: Raw, key: str, default: int | None = None) -> int:
    """A whole number (an id, a time in milliseconds); `default` when the answer leaves it out."""
    value = raw.get(key, default) if default is not None else _field(raw, key)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise Fatal(f"Binance answered {key}={_shown(value)}, not a whole number")
    try:
        return int(value)
    except ValueError:
        raise Fatal(f"Binance answered {key}={value!r}, not a whole number") from None


def _amount(raw: Raw, key: str) -> Decimal:
    """A Decimal from one of Binance's amount strings; floats are refused, they would mean parsed data. NaN and
    infinities are refused (InvalidValue)."""
    value = to_decimal(_field(raw, key), key)
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _price(raw: object, key: str) -> Decimal:
    """A market price from one of Binance's messages: a finite number above zero, else InvalidValue naming it
    (a "0", "-5", "NaN" or "Infinity" on the wire moves nothing)."""
    text = raw.get(key) if isinstance(raw, Mapping) else None
    if not isinstance(text, str | int):
        raise InvalidValue(f"Binance sent no price {key!r} in {_shown(raw)}")
    value = _amount({key: text}, key)
    if value <= 0:
        raise InvalidValue(f"Binance sent {key}={text!r}, which is not a price")
    return value


# the market-stream events that carry a price, and the field that holds it
PRICE_EVENTS = {"24hrMiniTicker": "c", "24hrTicker": "c", "aggTrade": "p", "trade": "p"}


def _market_prices(message: object) -> list[tuple[str, Decimal]]:
    """The (market id, price) pairs a market-stream message carries, in order: none for a reply to a command or an
    event without a price. A message that is not a JSON object, or a price event without a symbol or a real price
    ("0", "-5", "NaN", "Infinity", missing), raises InvalidValue naming it."""
    prices = []
    for event in message if isinstance(message, list) else [message]:
        if not isinstance(event, Mapping):
            raise InvalidValue(f"Binance sent a message that is not a JSON object: {_shown(message)}")
        kind = event.get("e")
        if kind is None and "id" not in event:
            raise InvalidValue(f"Binance sent a message with no event type: {_shown(message)}")
        key = PRICE_EVENTS.get(kind) if isinstance(kind, str) else None
        if key is None:
            continue
        market = event.get("s")
        if not isinstance(market, str) or not market:
            raise InvalidValue(f"Binance sent a {kind} event with no symbol: {_shown(message)}")
        prices.append((market, _price(event, key)))
    return prices


# an executionReport's fields (the user-data stream) by the names Binance's REST answers give them
EXECUTION_REPORT_FIELDS = {
    "s": "symbol",
    "c": "clientOrderId",
    "S": "side",
    "o": "type",
    "q": "origQty",
    "p": "price",
    "P": "stopPrice",
    "X": "status",
    "i": "orderId",
    "z": "executedQty",
    "g": "orderListId",
    "T": "transactTime",
}


def _user_event(message: object) -> Raw | None:
    """The event a user-data message carries: on the WebSocket API {"subscriptionId": n, "event": {...}}, by
    listenKey the event itself; None for a reply to a request. A message that is not a JSON object, or carries no
    event type, raises InvalidValue naming it."""
    if not isinstance(message, Mapping):
        raise InvalidValue(f"Binance sent a message that is not a JSON object: {_shown(message)}")
    event = message.get("event", message)
    if not isinstance(event, Mapping):
        raise InvalidValue(f"Binance sent an event that is not a JSON object: {_shown(message)}")
    if isinstance(event.get("e"), str) and event["e"]:
        return event
    if "event" not in message and "id" in message:
        return None
    raise InvalidValue(f"Binance sent a message with no event type: {_shown(message)}")


def _order_of_execution(event: Raw) -> Raw:
    """An executionReport read as REST answers an order, so that one reader makes an OrderReport of both: its own
    fields renamed (a cancel's report names the order in C, the cancel itself in c, as DELETE answers
    origClientOrderId and clientOrderId), and the trade it reports (x TRADE) as a FULL response's fills[] entry.
    A missing field is Fatal, as in a REST answer."""
    order: dict[str, object] = {name: _field(event, short) for short, name in EXECUTION_REPORT_FIELDS.items()}
    if event.get("C"):
        order["origClientOrderId"] = _text(event, "C")
    trade = {"tradeId": "t", "price": "L", "qty": "l", "commission": "n", "commissionAsset": "N", "time": "T"}
    is_trade = _text(event, "x") == "TRADE"
    order["fills"] = [{name: _field(event, short) for name, short in trade.items()}] if is_trade else []
    return order


def _shown(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= 200 else text[:200] + "..."


def _optional_amount(raw: Raw, key: str) -> Decimal | None:
    value = _amount(raw, key) if raw.get(key) not in (None, "") else None
    return value if value else None


def _time(milliseconds: int) -> datetime:
    return datetime.fromtimestamp(milliseconds // 1000, UTC) + timedelta(milliseconds=milliseconds % 1000)


@dataclass(frozen=True, slots=True)
class Market:
    """One of ccxt's markets, as far as the exchange reads it."""

    id: str  # Binance's name for it: BTCUSDT
    symbol: str  # ours: BTC/USDT
    base: str
    quote: str
    spot: bool
    info: Raw  # Binance's own exchangeInfo entry: status, orderTypes, filters

    @property
    def trading(self) -> bool:
        return self.info.get("status") == "TRADING"

    def offers(self, binance_type: str) -> bool:
        offered = self.info.get("orderTypes", [])
        return isinstance(offered, list) and binance_type in offered

    def instrument(self) -> Instrument:
        filters = {_text(f, "filterType"): f for f in _objects(_field(self.info, "filters"), f"{self.id}'s filters")}
        notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {"minNotional": "0"}
        price_filter, lot_size = _filter(filters, "PRICE_FILTER"), _filter(filters, "LOT_SIZE")
        return Instrument(
            symbol=self.symbol,
            base=self.base,
            quote=self.quote,
            tick_size=_amount(price_filter, "tickSize"),
            min_price=_amount(price_filter, "minPrice") if "minPrice" in price_filter else ZERO,
            max_price=_amount(price_filter, "maxPrice") if "maxPrice" in price_filter else ZERO,
            step_size=_amount(lot_size, "stepSize"),
            min_quantity=_amount(lot_size, "minQty"),
            min_notional=_amount(notional, "minNotional"),
        )


def _filter(filters: Mapping[str, Raw], name: str) -> Raw:
    if name not in filters:
        raise Fatal(f"Binance lists no {name} for this market: {', '.join(filters)}")
    return filters[name]


def _market_of(value: object) -> Market:
    """One entry of ccxt's markets."""
    raw = _object(value, "a market")
    return Market(
        id=_text(raw, "id"),
        symbol=_text(raw, "symbol"),
        base=_text(raw, "base"),
        quote=_text(raw, "quote"),
        spot=bool(raw.get("spot")),
        info=_object(_field(raw, "info"), "a market's info"),
    )


def _order_kind(raw: Raw) -> tuple[OrderType, Decimal | None, Decimal | None]:
    """Our order type, price and stop price for a Binance order."""
    kind, price, stop = _text(raw, "type"), _optional_amount(raw, "price"), _optional_amount(raw, "stopPrice")
    in_list = _integer(raw, "orderListId", -1) >= 0
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


def _fill(raw: Raw, client_order_id: str, symbol: str, side: OrderSide, at: int) -> Fill:
    """A Fill from a FULL response's fills[] entry or a myTrades row (they name the id and time differently)."""
    return Fill(
        trade_id=_text(raw, "tradeId" if "tradeId" in raw else "id"),
        client_order_id=client_order_id,
        symbol=symbol,
        side=side,
        price=_amount(raw, "price"),
        quantity=_amount(raw, "qty"),
        fee=_amount(raw, "commission"),
        fee_asset=_text(raw, "commissionAsset"),
        time=_time(_integer(raw, "time", at)),
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
