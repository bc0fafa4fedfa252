"""Robson's requests as alpaca-py request models, and Alpaca's orders read back into domain values."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypedDict, TypeVar

from alpaca.data.requests import StockLatestQuoteRequest, StockLatestTradeRequest
from alpaca.trading.enums import OrderClass, TimeInForce
from alpaca.trading.enums import OrderSide as AlpacaSide
from alpaca.trading.enums import OrderStatus as AlpacaStatus
from alpaca.trading.enums import OrderType as AlpacaType
from alpaca.trading.models import Order as AlpacaOrder
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    StopLimitOrderRequest,
    StopLossRequest,
    StopOrderRequest,
    TakeProfitRequest,
)
from alpaca.trading.requests import OrderRequest as AlpacaOrderRequest

from robson.domain.errors import InvalidValue
from robson.domain.instrument import split_symbol
from robson.domain.orders import OrderStatus, OrderType
from robson.domain.values import ZERO, OrderSide
from robson.ports import (
    Fatal,
    OcoRequest,
    OrderRequest,
    Rejected,
    UnknownSymbol,
)

M = TypeVar("M")

QUOTE = "USD"
TICK = Decimal("0.01")
DEFAULT_SYMBOLS = ("AAPL/USD", "MSFT/USD", "SPY/USD", "QQQ/USD")
_STOP_TYPES = (AlpacaType.STOP, AlpacaType.STOP_LIMIT, AlpacaType.TRAILING_STOP)
_GROUP_CLASSES = (OrderClass.BRACKET, OrderClass.OCO, OrderClass.OTO)
_ACTIVITY_PAGE = 100
_ACTIVITY_PAGES = 50  # 5,000 executions since the order was sent: far beyond any Robson order

# ---- requests and conversions -----------------------------------------------------------------

_PARAMETERS = {  # which of price and stop_price each order type takes
    OrderType.MARKET: (False, False),
    OrderType.LIMIT: (True, False),
    OrderType.STOP_MARKET: (False, True),
    OrderType.STOP_LIMIT: (True, True),
    OrderType.TAKE_PROFIT_LIMIT: (True, True),
}


class _Common(TypedDict):
    """What every order request of Robson's names."""

    symbol: str
    qty: float
    side: AlpacaSide
    client_order_id: str


class _BracketCommon(_Common):
    time_in_force: TimeInForce
    order_class: OrderClass
    take_profit: TakeProfitRequest
    stop_loss: StopLossRequest


def _simple_request(request: OrderRequest, wire: str) -> AlpacaOrderRequest:
    _check_parameters(request)
    common: _Common = {
        "symbol": wire,
        "qty": float(request.quantity),
        "side": _alpaca_side(request.side),
        "client_order_id": request.client_order_id,
    }
    price = float(request.price) if request.price is not None else None
    stop = float(request.stop_price) if request.stop_price is not None else None
    if request.type is OrderType.MARKET:
        return MarketOrderRequest(time_in_force=TimeInForce.DAY, **common)
    if request.type is OrderType.LIMIT:
        return LimitOrderRequest(time_in_force=TimeInForce.GTC, limit_price=price, **common)
    if request.type is OrderType.STOP_MARKET:
        return StopOrderRequest(time_in_force=TimeInForce.GTC, stop_price=stop, **common)
    if request.type is OrderType.STOP_LIMIT:
        return StopLimitOrderRequest(time_in_force=TimeInForce.GTC, stop_price=stop, limit_price=price, **common)
    if request.stop_price != request.price:
        raise Rejected("Alpaca has no take-profit-limit order: only one whose trigger equals its limit can be a limit")
    return LimitOrderRequest(time_in_force=TimeInForce.GTC, limit_price=price, **common)


def _check_parameters(request: OrderRequest) -> None:
    takes_price, takes_stop = _PARAMETERS[request.type]
    for name, value, wanted in (("price", request.price, takes_price), ("stop_price", request.stop_price, takes_stop)):
        if value is not None and not wanted:
            raise Rejected(f"a {request.type} order takes no {name}")
        if value is None and wanted:
            raise Rejected(f"a {request.type} order needs a {name}")
        if value is not None and (not value.is_finite() or value <= 0):
            raise Rejected(f"{name} must be a positive number, got {value}")
    if not request.quantity.is_finite() or request.quantity <= 0:
        raise Rejected(f"quantity must be a positive number, got {request.quantity}")


def _oco_request(request: OcoRequest, wire: str) -> LimitOrderRequest:
    return LimitOrderRequest(
        symbol=wire,
        qty=float(request.quantity),
        side=_alpaca_side(request.side),
        time_in_force=TimeInForce.GTC,
        order_class=OrderClass.OCO,
        client_order_id=request.target_client_order_id,
        take_profit=TakeProfitRequest(limit_price=float(request.target_price)),
        stop_loss=StopLossRequest(stop_price=float(request.stop_price)),
    )


def _bracket_request(
    request: OrderRequest, wire: str, stop_price: Decimal, target_price: Decimal
) -> AlpacaOrderRequest:
    if request.type not in (OrderType.MARKET, OrderType.LIMIT):
        raise Rejected(f"a bracket entry must be a MARKET or LIMIT order, not {request.type}")
    _check_parameters(request)
    common: _BracketCommon = {
        "symbol": wire,
        "qty": float(request.quantity),
        "side": _alpaca_side(request.side),
        "time_in_force": TimeInForce.GTC,  # the exits live as long as the entry: a DAY bracket drops them at close
        "client_order_id": request.client_order_id,
        "order_class": OrderClass.BRACKET,
        "take_profit": TakeProfitRequest(limit_price=float(target_price)),
        "stop_loss": StopLossRequest(stop_price=float(stop_price)),
    }
    if request.type is OrderType.MARKET:
        return MarketOrderRequest(**common)
    assert request.price is not None
    return LimitOrderRequest(limit_price=float(request.price), **common)


def _latest_trade_request(wire: str) -> StockLatestTradeRequest:
    return StockLatestTradeRequest(symbol_or_symbols=wire)


def _latest_quote_request(wire: str) -> StockLatestQuoteRequest:
    return StockLatestQuoteRequest(symbol_or_symbols=wire)


def _expect(value: object, model: type[M]) -> M:
    if not isinstance(value, model):
        raise Fatal(f"alpaca-py answered {type(value).__name__} where {model.__name__} was due")
    return value


def _wire_symbol(symbol: str) -> str:
    try:
        base, quote = split_symbol(symbol)
    except InvalidValue as error:
        raise UnknownSymbol(str(error)) from None
    if quote != QUOTE or f"{base}/{quote}" != symbol:
        raise UnknownSymbol(f"Alpaca symbols look like AAPL/USD, got {symbol!r}")
    return base


def _alpaca_side(side: OrderSide) -> AlpacaSide:
    return AlpacaSide.BUY if side is OrderSide.BUY else AlpacaSide.SELL


_TYPES = {
    AlpacaType.MARKET: OrderType.MARKET,
    AlpacaType.LIMIT: OrderType.LIMIT,
    AlpacaType.STOP: OrderType.STOP_MARKET,
    AlpacaType.STOP_LIMIT: OrderType.STOP_LIMIT,
    AlpacaType.TRAILING_STOP: OrderType.STOP_MARKET,
}

_CLOSED = {
    AlpacaStatus.FILLED: OrderStatus.FILLED,
    AlpacaStatus.CANCELED: OrderStatus.CANCELED,
    AlpacaStatus.REPLACED: OrderStatus.CANCELED,  # superseded by the order that replaced it
    AlpacaStatus.EXPIRED: OrderStatus.EXPIRED,
    AlpacaStatus.REJECTED: OrderStatus.REJECTED,
}


def _order_type(order: AlpacaOrder) -> OrderType:
    kind = order.type or order.order_type
    if kind not in _TYPES:
        raise Fatal(f"Alpaca order {order.client_order_id} has a type Robson does not trade: {kind}")
    return _TYPES[kind]


def _status(order: AlpacaOrder) -> OrderStatus:
    """Alpaca's 18 statuses onto Robson's: anything not final is working (held bracket legs included)."""
    if order.status in _CLOSED:
        return _CLOSED[order.status]
    filled = _decimal(order.filled_qty) or ZERO
    if order.status == AlpacaStatus.CALCULATED and filled == _decimal(order.qty):
        return OrderStatus.FILLED
    return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.NEW


def _decimal(value: object) -> Decimal | None:
    """Alpaca's numbers are strings; the data API's are JSON numbers, taken by their shortest text, not their bits."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def _price(value: object, what: str) -> Decimal | None:
    """A market price from the data API: None when absent; InvalidValue when it is no real price (NaN, infinite,
    zero or negative: the data API's JSON numbers can carry all of them)."""
    price = _decimal(value)
    if price is not None and (not price.is_finite() or price <= 0):
        raise InvalidValue(f"Alpaca sent {what} {value!r}, which is not a price")
    return price


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _duration(delta: timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return (f"{days}d " if days else "") + f"{hours}h {minutes:02d}m"
