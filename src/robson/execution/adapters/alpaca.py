"""The Alpaca venue (US equities) behind the ExchangePort, through alpaca-py's TradingClient. The only alpaca import.

Choices, and why:
- Symbols: Robson says "AAPL/USD", Alpaca says "AAPL". Only the configured symbols are traded; the rest are
  UnknownSymbol, as on the paper venue.
- Retries are Robson's decision: alpaca-py retries 429 and 504 three times, 3 s apart, by itself, and its
  TradingClient neither forwards `retry_attempts` nor accepts 0. So the client's retry count and its requests
  session (which has no timeout at all by default) are set right after construction (`_quiet`).
- Instruments come from GET /v2/assets/{symbol} (only `active` and `tradable` assets count). Tick 0.01 (sub-penny
  prices exist only under $1), step 1 share and min 1 share even when the asset is `fractionable`: Alpaca accepts
  fractions only on market/day orders, never on the stops, targets and brackets Robson rests. Min notional 0.
- last_price is the latest trade from the market data API (GET /v2/stocks/trades/latest), another alpaca-py
  client; its base URL follows `base_url` when one is given, so one fake serves both. The data API sends prices as
  JSON numbers: the Decimal is built from their shortest text (repr), never from binary float arithmetic.
- Fees are zero: Alpaca charges no commission on US equities (the SEC/FINRA pass-through on sells is not modelled).
- Balances: "USD" free = min(cash, buying power): Robson trades unlevered, so margin buying power never counts;
  locked = the rest of the cash (held for open buys). One balance per position (asset "AAPL"); locked = shares
  held for open sell orders (qty - qty_available).
- Fills: an Alpaca order carries only cumulative `filled_qty` / `filled_avg_price`, so the executions come from
  GET /v2/account/activities/FILL (one Fill per execution, the activity id as trade id; Robson dedups on it).
  Activities may trail the order for a moment: a report then carries fewer fills; the next one catches up.
- Market hours: a MARKET order (or a bracket with a market entry) is refused while GET /v2/clock says the market is
  closed (MarketClosed): Alpaca would queue it for the open at an unknown price.
- OCO: Alpaca's exit-only OCO is ONE order (the take-profit limit, sent under the target's client order id) with
  the stop as its leg, and Alpaca names the leg itself. Robson's stop id is remembered in this process and
  resolved through the parent; after a restart the stop leg is still reported by open_orders (under Alpaca's id
  when this process did not place it), but get_order(stop id) cannot find it. See the report on ports.
- Order types: STOP_MARKET -> stop, TAKE_PROFIT_LIMIT -> a plain limit (a resting limit beyond the market already
  waits for the price; refused when its trigger differs from its limit), trailing stops are reported as
  STOP_MARKET at their current stop. Resting orders are GTC; market orders DAY.
- Every error goes through `translate` once; messages are one line and never carry the keys.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

import requests
from alpaca.common.enums import Sort
from alpaca.common.exceptions import APIError
from alpaca.common.rest import RESTClient
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.requests import StockLatestTradeRequest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import AssetStatus, OrderClass, QueryOrderStatus, TimeInForce
from alpaca.trading.enums import OrderSide as AlpacaSide
from alpaca.trading.enums import OrderStatus as AlpacaStatus
from alpaca.trading.enums import OrderType as AlpacaType
from alpaca.trading.models import Asset, Position, TradeAccount
from alpaca.trading.models import Clock as MarketClock
from alpaca.trading.models import Order as AlpacaOrder
from alpaca.trading.requests import (
    GetOrderByIdRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    StopLimitOrderRequest,
    StopLossRequest,
    StopOrderRequest,
    TakeProfitRequest,
    TrailingStopOrderRequest,
)
from alpaca.trading.requests import OrderRequest as AlpacaOrderRequest
from pydantic import ValidationError

from robson.domain.errors import InvalidValue
from robson.domain.fills import Fill
from robson.domain.instrument import Instrument, split_symbol
from robson.domain.orders import OrderStatus, OrderType
from robson.domain.values import ONE, ZERO, OrderSide
from robson.ports import (
    Balance,
    Clock,
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
)

T = TypeVar("T")
M = TypeVar("M")

QUOTE = "USD"
TICK = Decimal("0.01")
DEFAULT_SYMBOLS = ("AAPL/USD", "MSFT/USD", "SPY/USD", "QQQ/USD")
_STOP_TYPES = (AlpacaType.STOP, AlpacaType.STOP_LIMIT, AlpacaType.TRAILING_STOP)
_GROUP_CLASSES = (OrderClass.BRACKET, OrderClass.OCO, OrderClass.OTO)
_ACTIVITY_PAGE = 100
_ACTIVITY_PAGES = 50  # 5,000 executions since the order was sent: far beyond any Robson order
_FILTER_WORDS = ("sub-penny", "increment", "fractional", "whole number", "qty must", "min notional")


class MarketClosed(Rejected):
    """A MARKET order while the US equity market is closed: Alpaca would fill it at the open, at an unknown price."""

    kind = "MARKET_CLOSED"


# ---- errors: translated once ------------------------------------------------------------------


def translate(error: Exception) -> ExchangeError:
    """Map anything alpaca-py or requests raised to Robson's Retryable / Rejected / Fatal, in one line."""
    if isinstance(error, ExchangeError):
        return error
    if isinstance(error, APIError):
        return _translate_api_error(error)
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return Retryable("could not connect to Alpaca in time (ConnectTimeout); nothing was sent")
    if isinstance(error, requests.exceptions.Timeout):
        return Retryable(f"Alpaca did not answer in time ({type(error).__name__}); the outcome is unknown")
    bad_url = (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)
    if isinstance(error, bad_url):
        return Fatal(f"the Alpaca base URL is not usable ({type(error).__name__})")
    if isinstance(error, requests.exceptions.RequestException):
        return Retryable(f"network error talking to Alpaca ({type(error).__name__}); the outcome is unknown")
    if isinstance(error, ValidationError):
        if error.title.endswith("Request"):
            return Rejected(f"alpaca-py refused the {error.title}: {_first_error(error)}")
        return Fatal(f"Alpaca answered a {error.title} alpaca-py cannot read: {_first_error(error)}")
    return Fatal(f"unexpected error from alpaca-py ({type(error).__name__}): {_one_line(str(error))}")


def _translate_api_error(error: APIError) -> ExchangeError:
    status = error.status_code
    code, message = _error_body(error)
    text = f"Alpaca HTTP {status}" + (f" code {code}" if code is not None else "") + f": {message}"
    lowered = message.lower()
    if status == 429:
        return RateLimited(text, _retry_after(error))
    if status is None or status >= 500 or status == 408:
        return Retryable(text)
    if status == 401:
        return Fatal(text)
    if status == 403:
        if "insufficient" in lowered:
            return InsufficientFunds(text)
        return Fatal(text) if "forbidden" in lowered else Rejected(text)
    if "client_order_id must be unique" in lowered:
        return DuplicateOrder(text)
    if "asset" in lowered and ("not found" in lowered or "not tradable" in lowered or "not active" in lowered):
        return UnknownSymbol(text)
    if status == 404 or "not cancelable" in lowered or ("already in" in lowered and "state" in lowered):
        return UnknownOrder(text)
    if any(word in lowered for word in _FILTER_WORDS):
        return FilterFailure(text)
    return Rejected(text)


def _error_body(error: APIError) -> tuple[int | None, str]:
    """Alpaca's {"code", "message"} body, or the first line of whatever else came back (a proxy's HTML page)."""
    response = error.response
    raw = response.text if response is not None else str(error)
    try:
        body = json.loads(raw)
    except (TypeError, ValueError):
        body = None
    if isinstance(body, dict):
        code = body.get("code")
        return (code if isinstance(code, int) else None), _one_line(str(body.get("message") or "no message"))
    return None, _one_line(raw) or "no details"


def _retry_after(error: APIError) -> float | None:
    response = error.response
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0] if error.errors() else {"msg": str(error)}
    return _one_line(str(first.get("msg", "")))


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


# ---- the adapter --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Leg:
    """A Robson order that Alpaca knows only as part of a group sent under another client order id."""

    parent_client_order_id: str
    role: str  # "stop" or "target"
    list_id: str


@dataclass(frozen=True, slots=True)
class _Found:
    """An Alpaca order and the names Robson knows it by."""

    order: AlpacaOrder
    client_order_id: str
    list_id: str | None


class _TimeoutSession(requests.Session):
    """A requests session with a default timeout: alpaca-py's own session waits forever."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)


def _quiet(client: RESTClient, timeout: float) -> None:
    """No retries of its own and a bounded wait: alpaca-py exposes neither on TradingClient, so set them here."""
    client._retry = 0
    client._retry_codes = []
    client._session = _TimeoutSession(timeout)


class AlpacaExchange:
    """ExchangePort for Alpaca, plus the exchange-managed orders: bracket and trailing stop."""

    name = "alpaca"
    supports_short = False  # Robson goes long only here; Alpaca shorting needs margin and borrow

    def __init__(
        self,
        api_key: str,
        secret: str,
        *,
        paper: bool = True,
        base_url: str | None = None,
        data_url: str | None = None,
        symbols: Sequence[str] = DEFAULT_SYMBOLS,
        clock: Clock,
        timeout: float = 10.0,
    ) -> None:
        if not api_key or not secret:
            raise Fatal("Alpaca needs an API key id and a secret key")
        self._symbols = {symbol: _wire_symbol(symbol) for symbol in symbols}
        self._by_wire = {wire: symbol for symbol, wire in self._symbols.items()}
        self._trading = TradingClient(api_key, secret, paper=paper, url_override=base_url)
        self._data = StockHistoricalDataClient(api_key, secret, raw_data=True, url_override=data_url or base_url)
        for client in (self._trading, self._data):
            _quiet(client, timeout)
        self._secrets = (api_key, secret)
        self._paper = paper
        self._clock = clock
        self._legs: dict[str, _Leg] = {}  # Robson's client order ids of OCO legs placed by this process
        self._lists: dict[str, str] = {}  # client order id -> list id, for the group orders this process has seen

    def __repr__(self) -> str:
        return f"AlpacaExchange(paper={self._paper}, symbols={list(self._symbols)})"

    # ---- reading --------------------------------------------------------------------------------

    def instruments(self) -> dict[str, Instrument]:
        result = {}
        for symbol, wire in self._symbols.items():
            asset = self._ask(Asset, partial(self._trading.get_asset, wire))
            if asset.tradable and asset.status == AssetStatus.ACTIVE:
                result[symbol] = Instrument(symbol, wire, QUOTE, TICK, ONE, min_quantity=ONE, min_notional=ZERO)
        return result

    def fee_rates(self, symbol: str) -> FeeRates:
        self._wire(symbol)
        return FeeRates(maker=ZERO, taker=ZERO)

    def last_price(self, symbol: str) -> Decimal | None:
        wire = self._wire(symbol)
        trades = self._call(partial(self._data.get_stock_latest_trade, _latest_trade_request(wire)))
        trade = trades.get(wire) if isinstance(trades, dict) else None
        return _decimal(trade.get("p")) if isinstance(trade, dict) else None

    def balances(self) -> dict[str, Balance]:
        account = self._ask(TradeAccount, self._trading.get_account)
        positions = self._ask_list(Position, self._trading.get_all_positions)
        cash = _decimal(account.cash) or ZERO
        buying_power = _decimal(account.buying_power)
        free = max(min(cash, buying_power) if buying_power is not None else cash, ZERO)
        result = {QUOTE: Balance(QUOTE, free, max(cash - free, ZERO))}
        for position in positions:
            quantity = _decimal(position.qty) or ZERO
            available = _decimal(position.qty_available)
            available = quantity if available is None else available
            result[position.symbol] = Balance(position.symbol, available, quantity - available)
        return result

    def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        return self._reports([self._find(self._wire(symbol), client_order_id)])[0]

    def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Open orders, oldest first; the legs of brackets and OCOs as orders of their own."""
        wires = [self._wire(symbol)] if symbol is not None else None
        query = GetOrdersRequest(
            status=QueryOrderStatus.OPEN, nested=True, direction=Sort.ASC, limit=500, symbols=wires
        )
        parents = self._ask_list(AlpacaOrder, partial(self._trading.get_orders, query))
        found = [
            self._name(order, parent)
            for parent in parents
            for order in (parent, *(parent.legs or ()))
            if _status(order).is_open and (wires is None or order.symbol in wires)
        ]
        found.sort(key=lambda item: item.order.created_at)
        return self._reports(found)

    # ---- trading --------------------------------------------------------------------------------

    def place_order(self, request: OrderRequest) -> OrderReport:
        wire = self._wire(request.symbol)
        leg = self._legs.get(request.client_order_id)
        if leg is not None and leg.parent_client_order_id != request.client_order_id:
            raise DuplicateOrder(f"client order id {request.client_order_id} is already the stop of OCO {leg.list_id}")
        order_request = self._call(partial(_simple_request, request, wire))
        if request.type is OrderType.MARKET:
            self._require_open_market()
        order = self._ask(AlpacaOrder, partial(self._trading.submit_order, order_request))
        return self._reports([_Found(order, request.client_order_id, None)])[0]

    def place_oco(self, request: OcoRequest) -> tuple[OrderReport, OrderReport]:
        """Alpaca's exit-only OCO for an existing position: the target is the parent, the stop its leg."""
        wire = self._wire(request.symbol)
        if request.stop_client_order_id == request.target_client_order_id:
            raise DuplicateOrder("the stop and the target of an OCO need different client order ids")
        order_request = self._call(partial(_oco_request, request, wire))
        parent_id = request.target_client_order_id
        legs = {
            request.stop_client_order_id: _Leg(parent_id, "stop", request.list_id),
            request.target_client_order_id: _Leg(parent_id, "target", request.list_id),
        }
        self._legs.update(legs)  # before sending: an unknown outcome is resolved through these names
        self._lists.update(dict.fromkeys(legs, request.list_id))
        try:
            parent = self._ask(AlpacaOrder, partial(self._trading.submit_order, order_request))
        except Rejected:
            for client_order_id in legs:
                self._legs.pop(client_order_id, None)
                self._lists.pop(client_order_id, None)
            raise
        stop = self._leg_of(parent, "stop")
        reports = self._reports(
            [
                _Found(stop, request.stop_client_order_id, request.list_id),
                _Found(parent, request.target_client_order_id, request.list_id),
            ]
        )
        return reports[0], reports[1]

    def place_bracket(
        self, request: OrderRequest, stop_price: Decimal, target_price: Decimal
    ) -> tuple[OrderReport, OrderReport, OrderReport]:
        """Entry, stop and target as one Alpaca bracket (exchange-managed): (entry, stop, target) reports.

        Alpaca names the two legs itself; their reports carry those client order ids and get_order finds them."""
        wire = self._wire(request.symbol)
        order_request = self._call(partial(_bracket_request, request, wire, stop_price, target_price))
        if request.type is OrderType.MARKET:
            self._require_open_market()
        parent = self._ask(AlpacaOrder, partial(self._trading.submit_order, order_request))
        list_id = parent.client_order_id
        stop, target = self._leg_of(parent, "stop"), self._leg_of(parent, "target")
        self._lists.update(dict.fromkeys((list_id, stop.client_order_id, target.client_order_id), list_id))
        reports = self._reports(
            [
                _Found(parent, request.client_order_id, list_id),
                _Found(stop, stop.client_order_id, list_id),
                _Found(target, target.client_order_id, list_id),
            ]
        )
        return reports[0], reports[1], reports[2]

    def place_trailing_stop(
        self,
        client_order_id: str,
        symbol: str,
        side: OrderSide,
        quantity: Decimal,
        trail_percent: Decimal | None = None,
        trail_price: Decimal | None = None,
    ) -> OrderReport:
        """A stop the venue moves with the high-water mark (exchange-managed). Reported as STOP_MARKET."""
        wire = self._wire(symbol)
        if (trail_percent is None) == (trail_price is None):
            raise Rejected("a trailing stop needs exactly one of trail_percent and trail_price")
        trail = {"trail_percent": trail_percent, "trail_price": trail_price}
        order_request = self._call(
            partial(
                TrailingStopOrderRequest,
                symbol=wire,
                qty=float(quantity),
                side=_alpaca_side(side),
                time_in_force=TimeInForce.GTC,
                client_order_id=client_order_id,
                **{name: float(value) for name, value in trail.items() if value is not None},
            )
        )
        order = self._ask(AlpacaOrder, partial(self._trading.submit_order, order_request))
        return self._reports([_Found(order, client_order_id, None)])[0]

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        found = self._find(self._wire(symbol), client_order_id)
        status = _status(found.order)
        if not status.is_open:
            raise UnknownOrder(f"order {client_order_id} is {status.value.lower()}; there is nothing to cancel")
        self._call(partial(self._trading.cancel_order_by_id, found.order.id))
        after = self._ask(AlpacaOrder, partial(self._trading.get_order_by_id, found.order.id))
        return self._reports([replace(found, order=after)])[0]

    # ---- inside ---------------------------------------------------------------------------------

    def _call(self, action: Callable[[], T]) -> T:
        """Run one alpaca-py call; anything it raises leaves as one translated error with the keys blanked out."""
        try:
            return action()
        except Exception as error:
            translated = translate(error)
            translated.args = tuple(self._scrub(arg) if isinstance(arg, str) else arg for arg in translated.args)
            raise translated from None

    def _ask(self, model: type[M], action: Callable[[], object]) -> M:
        """One call whose answer must be this alpaca-py model (the trading client never runs with raw_data)."""
        return _expect(self._call(action), model)

    def _ask_list(self, model: type[M], action: Callable[[], object]) -> list[M]:
        answer = self._call(action)
        if not isinstance(answer, list):
            raise Fatal(f"alpaca-py answered {type(answer).__name__} where a list of {model.__name__} was due")
        return [_expect(item, model) for item in answer]

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _wire(self, symbol: str) -> str:
        wire = self._symbols.get(symbol)
        if wire is None:
            raise UnknownSymbol(f"{symbol} is not traded through this Alpaca adapter (it trades {list(self._symbols)})")
        return wire

    def _require_open_market(self) -> None:
        clock = self._ask(MarketClock, self._trading.get_clock)
        if clock.is_open:
            return
        wait = clock.next_open - self._clock.now()
        raise MarketClosed(
            f"the US equity market is closed; it next opens at {clock.next_open.isoformat()} "
            f"(in {_duration(wait)}); MARKET orders are refused while it is closed"
        )

    def _find(self, wire: str, client_order_id: str) -> _Found:
        leg = self._legs.get(client_order_id)
        if leg is not None:
            order = self._leg_of(self._by_client_id(leg.parent_client_order_id), leg.role)
            found = _Found(order, client_order_id, leg.list_id)
        else:
            order = self._by_client_id(client_order_id)
            found = _Found(order, client_order_id, self._lists.get(client_order_id))
        if found.order.symbol != wire:
            raise UnknownOrder(f"order {client_order_id} is not an order for {self._robson_symbol(wire)}")
        return found

    def _by_client_id(self, client_order_id: str) -> AlpacaOrder:
        try:
            return self._ask(AlpacaOrder, partial(self._trading.get_order_by_client_id, client_order_id))
        except UnknownOrder as error:
            raise UnknownOrder(f"no Alpaca order has client order id {client_order_id} ({error})") from None

    def _leg_of(self, parent: AlpacaOrder, role: str) -> AlpacaOrder:
        """The stop or the target of a bracket or OCO. An OCO's parent is its target."""
        if role == "target" and parent.order_class == OrderClass.OCO:
            return parent
        if parent.legs is None:
            parent = self._ask(
                AlpacaOrder, partial(self._trading.get_order_by_id, parent.id, GetOrderByIdRequest(nested=True))
            )
        for leg in parent.legs or ():
            if (leg.type in _STOP_TYPES) == (role == "stop"):
                return leg
        raise Fatal(f"Alpaca order group {parent.client_order_id} has no {role} leg")

    def _name(self, order: AlpacaOrder, parent: AlpacaOrder) -> _Found:
        """What Robson calls an order of an open-orders listing: its own id, or the OCO stop id placed here.

        Group members get the list id they were placed under, or their parent's client order id; both are kept."""
        if parent.order_class not in _GROUP_CLASSES:
            return _Found(order, order.client_order_id, None)
        list_id = self._lists.setdefault(parent.client_order_id, parent.client_order_id)
        role = "stop" if order.type in _STOP_TYPES else "target"
        for client_order_id, leg in self._legs.items():
            if leg.parent_client_order_id == parent.client_order_id and leg.role == role and order is not parent:
                return _Found(order, client_order_id, leg.list_id)
        self._lists.setdefault(order.client_order_id, list_id)
        return _Found(order, order.client_order_id, list_id)

    def _reports(self, found: Sequence[_Found]) -> list[OrderReport]:
        fills = self._fills([item.order for item in found if (_decimal(item.order.filled_qty) or ZERO) > 0])
        return [self._report(item, fills.get(str(item.order.id), [])) for item in found]

    def _report(self, item: _Found, executions: list[dict[str, Any]]) -> OrderReport:
        order = item.order
        symbol = self._robson_symbol(order.symbol or "")
        side = OrderSide.BUY if order.side == AlpacaSide.BUY else OrderSide.SELL
        filled = _decimal(order.filled_qty) or ZERO
        fills = tuple(self._fill(execution, item.client_order_id, symbol, side) for execution in executions)
        return OrderReport(
            client_order_id=item.client_order_id,
            exchange_order_id=str(order.id),
            symbol=symbol,
            side=side,
            type=_order_type(order),
            status=_status(order),
            quantity=_decimal(order.qty) or filled,
            filled_quantity=filled,
            price=_decimal(order.limit_price),
            stop_price=_decimal(order.stop_price),
            list_id=item.list_id,
            fills=fills,
        )

    def _fill(self, execution: dict[str, Any], client_order_id: str, symbol: str, side: OrderSide) -> Fill:
        try:
            return Fill(
                trade_id=str(execution["id"]),
                client_order_id=client_order_id,
                symbol=symbol,
                side=side,
                price=_decimal(execution["price"]) or ZERO,
                quantity=_decimal(execution["qty"]) or ZERO,
                fee=ZERO,
                fee_asset=QUOTE,
                time=_time(execution.get("transaction_time")) or self._clock.now(),
            )
        except (KeyError, InvalidValue, ArithmeticError) as error:
            raise Fatal(f"Alpaca sent a fill Robson cannot read: {_one_line(str(error))}") from None

    def _fills(self, orders: Iterable[AlpacaOrder]) -> dict[str, list[dict[str, Any]]]:
        """The FILL activities of these orders, by order id, read in one pass from the oldest order's submission."""
        wanted = {str(order.id): order for order in orders}
        if not wanted:
            return {}
        since = min(order.submitted_at for order in wanted.values()) - timedelta(seconds=1)
        params: dict[str, Any] = {"after": since.isoformat(), "direction": "asc", "page_size": _ACTIVITY_PAGE}
        result: dict[str, list[dict[str, Any]]] = {}
        for _ in range(_ACTIVITY_PAGES):
            page = self._call(partial(self._trading.get, "/account/activities/FILL", dict(params)))
            if not isinstance(page, list):
                raise Fatal("Alpaca answered the FILL activities with something other than a list")
            for activity in page:
                if isinstance(activity, dict) and str(activity.get("order_id")) in wanted:
                    result.setdefault(str(activity["order_id"]), []).append(activity)
            if len(page) < _ACTIVITY_PAGE:
                break
            params["page_token"] = page[-1]["id"]
        return result

    def _robson_symbol(self, wire: str) -> str:
        return self._by_wire.get(wire, f"{wire}/{QUOTE}")


# ---- requests and conversions -----------------------------------------------------------------

_PARAMETERS = {  # which of price and stop_price each order type takes
    OrderType.MARKET: (False, False),
    OrderType.LIMIT: (True, False),
    OrderType.STOP_MARKET: (False, True),
    OrderType.STOP_LIMIT: (True, True),
    OrderType.TAKE_PROFIT_LIMIT: (True, True),
}


def _simple_request(request: OrderRequest, wire: str) -> AlpacaOrderRequest:
    _check_parameters(request)
    common: dict[str, Any] = {
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
    common: dict[str, Any] = {
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
