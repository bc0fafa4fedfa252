"""The ccxt client pointed at Binance (or a loopback fake), and reading Binance's raw answers into domain values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import ccxt  # type: ignore[import-untyped]
import ccxt.pro  # type: ignore[import-untyped]

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
    """A Decimal from one of Binance's amount strings; floats are refused, they would mean parsed data. NaN and
    infinities are refused (InvalidValue)."""
    value = to_decimal(raw[key], key)
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _price(raw: Mapping[str, Any], key: str) -> Decimal:
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


def _shown(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= 200 else text[:200] + "..."


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
        min_price=_amount(filters["PRICE_FILTER"], "minPrice") if "minPrice" in filters["PRICE_FILTER"] else ZERO,
        max_price=_amount(filters["PRICE_FILTER"], "maxPrice") if "maxPrice" in filters["PRICE_FILTER"] else ZERO,
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
