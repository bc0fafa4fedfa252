"""AlpacaExchange: the ExchangePort over alpaca-py's TradingClient, plus brackets and trailing stops."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import TypeVar

from alpaca.common.enums import Sort
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import AssetStatus, OrderClass, QueryOrderStatus, TimeInForce
from alpaca.trading.models import Asset, Position, TradeAccount
from alpaca.trading.models import Clock as MarketClock
from alpaca.trading.models import Order as AlpacaOrder
from alpaca.trading.requests import (
    GetOrderByIdRequest,
    GetOrdersRequest,
    TrailingStopOrderRequest,
)

from robson.domain.errors import InvalidValue
from robson.domain.instrument import Instrument
from robson.domain.orders import OrderType
from robson.domain.values import ONE, ZERO, OrderSide
from robson.domain.venue import Capability
from robson.execution.adapters.alpaca.errors import MarketClosed, translate
from robson.execution.adapters.alpaca.reports import FILL_ACTIVITIES, Found, fill_activities, report
from robson.execution.adapters.alpaca.session import quiet
from robson.execution.adapters.alpaca.wire import (
    _GROUP_CLASSES,
    _STOP_TYPES,
    DEFAULT_SYMBOLS,
    QUOTE,
    TICK,
    _alpaca_side,
    _bracket_request,
    _decimal,
    _duration,
    _expect,
    _latest_quote_request,
    _latest_trade_request,
    _oco_request,
    _price,
    _simple_request,
    _status,
    _wire_symbol,
)
from robson.ports import (
    Balance,
    Clock,
    DuplicateOrder,
    Fatal,
    FeeRates,
    OcoRequest,
    OrderReport,
    OrderRequest,
    Quote,
    Rejected,
    Retryable,
    UnknownOrder,
    UnknownSymbol,
)

T = TypeVar("T")
M = TypeVar("M")
INSTRUMENTS_TTL = timedelta(minutes=15)

# ---- the adapter --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Leg:
    """A Robson order that Alpaca knows only as part of a group sent under another client order id."""

    parent_client_order_id: str
    role: str  # "stop" or "target"
    list_id: str


class AlpacaExchange:
    """ExchangePort for Alpaca, plus the exchange-managed orders: bracket and trailing stop."""

    name = "alpaca"
    # Robson goes long only here (Alpaca shorting needs margin and borrow); OCO, brackets and trailing stops are
    # Alpaca's order classes
    capabilities = frozenset({Capability.SPOT, Capability.OCO, Capability.BRACKET, Capability.TRAILING_STOP})

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
            quiet(client, timeout)
        self._secrets = (api_key, secret)
        self._paper = paper
        self._clock = clock
        self._instruments: tuple[datetime, dict[str, Instrument]] | None = None  # when read, and what
        self._legs: dict[str, _Leg] = {}  # Robson's client order ids of OCO legs placed by this process
        self._lists: dict[str, str] = {}  # client order id -> list id, for the group orders this process has seen

    def __repr__(self) -> str:
        return f"AlpacaExchange(paper={self._paper}, symbols={list(self._symbols)})"

    # ---- reading --------------------------------------------------------------------------------

    def instruments(self) -> dict[str, Instrument]:
        """The configured symbols Alpaca trades now (one asset request each), kept for INSTRUMENTS_TTL: every
        sizing asks, and a halt or a delisting is not news by the second."""
        now = self._clock.now()
        if self._instruments is not None and now - self._instruments[0] < INSTRUMENTS_TTL:
            return dict(self._instruments[1])
        result = {}
        for symbol, wire in self._symbols.items():
            asset = self._ask(Asset, partial(self._trading.get_asset, wire))
            if asset.tradable and asset.status == AssetStatus.ACTIVE:
                result[symbol] = Instrument(symbol, wire, QUOTE, TICK, ONE, min_quantity=ONE, min_notional=ZERO)
        self._instruments = (now, result)
        return dict(result)

    def fee_rates(self, symbol: str) -> FeeRates:
        self._wire(symbol)
        return FeeRates(maker=ZERO, taker=ZERO)

    def last_price(self, symbol: str) -> Decimal | None:
        wire = self._wire(symbol)
        trades = self._call(partial(self._data.get_stock_latest_trade, _latest_trade_request(wire)))
        trade = trades.get(wire) if isinstance(trades, dict) else None
        try:
            return _price(trade.get("p"), f"{symbol}'s last trade price") if isinstance(trade, dict) else None
        except InvalidValue as error:  # no price now: asked again later
            raise Retryable(str(error)) from None

    def quote(self, symbol: str) -> Quote | None:
        """The national best bid and offer (the data API's latest quote); None when either side is empty."""
        wire = self._wire(symbol)
        quotes = self._call(partial(self._data.get_stock_latest_quote, _latest_quote_request(wire)))
        quote = quotes.get(wire) if isinstance(quotes, dict) else None
        if not isinstance(quote, dict):
            return None
        try:
            bid, ask = _price(quote.get("bp"), f"{symbol}'s bid"), _price(quote.get("ap"), f"{symbol}'s ask")
        except InvalidValue as error:
            raise Retryable(str(error)) from None
        return Quote(bid, ask) if bid and ask else None

    def balances(self) -> dict[str, Balance]:
        account = self._ask(TradeAccount, self._trading.get_account)
        positions = self._ask_list(Position, self._trading.get_all_positions)
        cash = _decimal(account.cash) or ZERO
        buying_power = _decimal(account.buying_power)
        free = max(min(cash, buying_power) if buying_power is not None else cash, ZERO)
        owed = max(-cash, ZERO)  # negative cash: a margin account's debit, owed to Alpaca
        result = {QUOTE: Balance(QUOTE, free, max(cash - free, ZERO), borrowed=owed)}
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
        return self._reports([Found(order, request.client_order_id, None)])[0]

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
                Found(stop, request.stop_client_order_id, request.list_id),
                Found(parent, request.target_client_order_id, request.list_id),
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
                Found(parent, request.client_order_id, list_id),
                Found(stop, stop.client_order_id, list_id),
                Found(target, target.client_order_id, list_id),
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
        return self._reports([Found(order, client_order_id, None)])[0]

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

    def _find(self, wire: str, client_order_id: str) -> Found:
        leg = self._legs.get(client_order_id)
        if leg is not None:
            order = self._leg_of(self._by_client_id(leg.parent_client_order_id), leg.role)
            found = Found(order, client_order_id, leg.list_id)
        else:
            order = self._by_client_id(client_order_id)
            found = Found(order, client_order_id, self._lists.get(client_order_id))
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

    def _name(self, order: AlpacaOrder, parent: AlpacaOrder) -> Found:
        """What Robson calls an order of an open-orders listing: its own id, or the OCO stop id placed here.

        Group members get the list id they were placed under, or their parent's client order id; both are kept."""
        if parent.order_class not in _GROUP_CLASSES:
            return Found(order, order.client_order_id, None)
        list_id = self._lists.setdefault(parent.client_order_id, parent.client_order_id)
        role = "stop" if order.type in _STOP_TYPES else "target"
        for client_order_id, leg in self._legs.items():
            if leg.parent_client_order_id == parent.client_order_id and leg.role == role and order is not parent:
                return Found(order, client_order_id, leg.list_id)
        self._lists.setdefault(order.client_order_id, list_id)
        return Found(order, order.client_order_id, list_id)

    def _reports(self, found: Sequence[Found]) -> list[OrderReport]:
        filled = [item.order for item in found if (_decimal(item.order.filled_qty) or ZERO) > 0]
        fills = fill_activities(lambda params: self._call(partial(self._trading.get, FILL_ACTIVITIES, params)), filled)
        return [
            report(
                item, self._robson_symbol(item.order.symbol or ""), fills.get(str(item.order.id), []), self._clock.now
            )
            for item in found
        ]

    def _robson_symbol(self, wire: str) -> str:
        return self._by_wire.get(wire, f"{wire}/{QUOTE}")
