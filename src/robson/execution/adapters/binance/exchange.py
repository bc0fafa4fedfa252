"""BinanceExchange: the ExchangePort over ccxt's synchronous client."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import ccxt
import ccxt.pro

from robson.domain.errors import InvalidValue
from robson.domain.fills import Fill
from robson.domain.instrument import Instrument
from robson.domain.orders import OrderStatus
from robson.domain.values import ZERO, OrderSide, is_on_step
from robson.domain.venue import SPOT_WITH_OCO, Capability
from robson.execution.adapters.binance.errors import _redact, _RedactedLog, translate
from robson.execution.adapters.binance.feed import BinanceFeed
from robson.execution.adapters.binance.order_stream import BinanceOrderStream
from robson.execution.adapters.binance.streams import BACKOFF
from robson.execution.adapters.binance.wire import (
    BINANCE_TYPES,
    ORDER_STATUSES,
    CcxtClient,
    Market,
    Raw,
    _amount,
    _field,
    _fill,
    _info,
    _integer,
    _market_of,
    _object,
    _objects,
    _optional_amount,
    _order_kind,
    _order_shape,
    _point_at,
    _price,
    _text,
    client,
)
from robson.ports import (
    Balance,
    Banned,
    Clock,
    Fatal,
    FeeRates,
    FilterFailure,
    OcoRequest,
    OrderReport,
    OrderRequest,
    Quote,
    Rejected,
    Retryable,
    UnknownSymbol,
)

BAN_WITHOUT_RETRY_AFTER = 120.0  # seconds of silence after a 418 that named no Retry-After (Binance's shortest ban)

# ---- the exchange --------------------------------------------------------------------------------------------


class BinanceExchange:
    """ExchangePort for Binance spot (REST, signed with an HMAC key)."""

    name = "binance"
    # spot (selling needs the base asset), with OCO lists; isolated margin (borrowing, shorts) is not wired here yet
    capabilities: frozenset[Capability] = SPOT_WITH_OCO

    def __init__(
        self,
        api_key: str,
        secret: str,
        *,
        base_url: str | None = None,
        ws_url: str | None = None,
        ws_api_url: str | None = None,
        timeout_ms: int = 10000,
        symbols: Sequence[str] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._keys = (api_key, secret)  # the order stream signs its subscription with them
        self._secrets = tuple(s for s in (api_key, secret) if s)
        self._clock = clock
        self._banned_until: datetime | None = None  # after a 418: nothing is sent before then
        self._client = client(api_key, secret, base_url, timeout_ms)
        self._client.logger = _RedactedLog(logging.getLogger(f"{__name__}.http"), self._secrets)
        _point_at(self._client, base_url, None)
        self._settings = (base_url, ws_url, timeout_ms)
        self._ws_api_url = ws_api_url  # the WebSocket API: default Binance's, or beside ws_url on a test venue
        self._symbols = frozenset(symbols) if symbols else None
        self._lock = threading.RLock()  # one request at a time: the client keeps the last reply
        self._fees: FeeRates | None = None
        self._list_ids: dict[tuple[str, int], str] = {}  # (symbol, Binance orderListId) -> our list id

    def price_feed(self, symbols: Sequence[str] | None = None) -> BinanceFeed:
        """A websocket feed on the same venue, with this exchange's REST as its fallback."""
        base_url, ws_url, timeout_ms = self._settings
        wanted = list(symbols) if symbols else sorted(self._symbols or ())
        return BinanceFeed(wanted, base_url=base_url, ws_url=ws_url, timeout_ms=timeout_ms, rest=self)

    def order_stream(self, backoff: Sequence[float] = BACKOFF) -> BinanceOrderStream:
        """The account's order updates as Binance pushes them (its user-data stream), read as this exchange reads an
        order: the same OrderReport that get_order would give, with the one fill each update reports."""
        base_url, ws_url, timeout_ms = self._settings
        return BinanceOrderStream(
            *self._keys,
            self._report,
            self._markets,
            base_url=base_url,
            ws_url=ws_url,
            ws_api_url=self._ws_api_url,
            timeout_ms=timeout_ms,
            backoff=backoff,
        )

    # ---- reading --------------------------------------------------------------------------------------------

    def instruments(self) -> dict[str, Instrument]:
        """Spot markets that are trading (only `symbols` when given), with their PRICE/LOT/NOTIONAL filters."""
        found = {}
        for symbol, value in self._markets().items():
            if self._symbols is not None and symbol not in self._symbols:
                continue
            market = _market_of(value)
            if market.spot and market.trading:
                found[symbol] = market.instrument()
        return found

    def fee_rates(self, symbol: str) -> FeeRates:
        self._market(symbol)
        if self._fees is None:
            self._read_account()
        assert self._fees is not None
        return self._fees

    def last_price(self, symbol: str) -> Decimal | None:
        market = self._market(symbol)
        raw = self._call(lambda client: client.publicGetTickerPrice({"symbol": market.id}))
        if not isinstance(raw, dict) or not raw.get("price"):
            return None
        try:
            return _price(raw, "price")
        except InvalidValue as error:  # a "0" or "NaN" answer: no price now, asked again later
            raise Retryable(str(error)) from None

    def quote(self, symbol: str) -> Quote | None:
        """The best bid and ask (GET /api/v3/ticker/bookTicker); None when either side of the book is empty."""
        market = self._market(symbol)
        raw = self._call(lambda client: client.publicGetTickerBookTicker({"symbol": market.id}))
        if not isinstance(raw, dict):
            return None
        bid, ask = _optional_amount(raw, "bidPrice"), _optional_amount(raw, "askPrice")
        return Quote(bid, ask) if bid is not None and ask is not None else None

    def balances(self) -> dict[str, Balance]:
        """Every asset the account holds (free or locked); zero balances are left out."""
        return self._read_account()

    def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        self._market(symbol)
        order = self._call(lambda c: c.fetch_order(None, symbol, {"origClientOrderId": client_order_id}))
        return self._report(_info(order, "an order"))

    def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Open orders, oldest first."""
        if symbol is not None:
            self._market(symbol)
        orders = _objects(self._call(lambda client: client.fetch_open_orders(symbol)), "the open orders")
        raws = [_info(order, "an open order") for order in orders]
        raws.sort(key=lambda raw: (_integer(raw, "time", 0), _integer(raw, "orderId")))
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
        return self._report(_info(order, "an order"))

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
            "symbol": market.id,
            "side": request.side.value,
            "quantity": str(request.quantity),
            "listClientOrderId": request.list_id,
            "newOrderRespType": "FULL",
            **{f"above{key}": value for key, value in above.items()},
            **{f"below{key}": value for key, value in below.items()},
        }
        raw = _object(self._call(lambda client: client.privatePostOrderListOco(params)), "an OCO")
        self._list_ids[(request.symbol, _integer(raw, "orderListId"))] = _text(raw, "listClientOrderId")
        reports = _objects(_field(raw, "orderReports"), "an OCO's orders")
        legs = {_text(leg, "clientOrderId"): leg for leg in reports}
        try:
            stop_raw, target_raw = legs[request.stop_client_order_id], legs[request.target_client_order_id]
        except KeyError:
            raise Fatal(f"Binance answered OCO {request.list_id} without both of its legs") from None
        return self._report(stop_raw), self._report(target_raw)

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """Cancel one order; Binance cancels the rest of its OCO list with it."""
        self._market(symbol)
        order = self._call(lambda c: c.cancel_order(None, symbol, {"origClientOrderId": client_order_id}))
        return self._report(_info(order, "an order"))

    def cancel_list(self, symbol: str, list_id: str) -> list[OrderReport]:
        """Cancel a whole OCO list by our list id (DELETE /api/v3/orderList)."""
        market = self._market(symbol)
        params = {"symbol": market.id, "listClientOrderId": list_id}
        raw = _object(self._call(lambda client: client.privateDeleteOrderList(params)), "a cancelled OCO")
        return [self._report(leg) for leg in _objects(_field(raw, "orderReports"), "an OCO's orders")]

    # ---- inside ---------------------------------------------------------------------------------------------

    def _call(self, action: Callable[[CcxtClient], object]) -> object:
        """Run one ccxt call; its failure leaves as a ports error with the keys redacted. After a ban (418) nothing
        is sent until it ends: Binance lengthens a ban (2 minutes up to 3 days) for every request made during it."""
        with self._lock:
            self._refuse_while_banned()
            self._client.reply = None
            try:
                return action(self._client)
            except ccxt.BaseError as error:
                translated = translate(error, self._client.reply)
                translated.args = tuple(_redact(str(a), self._secrets) for a in translated.args)
                if isinstance(translated, Banned):
                    wait = translated.retry_after if translated.retry_after is not None else BAN_WITHOUT_RETRY_AFTER
                    self._banned_until = self._now() + timedelta(seconds=wait)
                raise translated from None

    def _refuse_while_banned(self) -> None:
        if self._banned_until is None:
            return
        left = (self._banned_until - self._now()).total_seconds()
        if left <= 0:
            self._banned_until = None
            return
        raise Banned(f"Binance banned this IP: nothing is sent for {left:.0f} s more (HTTP 418)", retry_after=left)

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    def _markets(self) -> Raw:
        """ccxt's markets by symbol (loaded once, then its cache)."""
        return _object(self._call(lambda client: client.load_markets()), "the markets")

    def _market(self, symbol: str) -> Market:
        found = self._markets().get(symbol)
        market = _market_of(found) if found is not None else None
        if market is None or not market.spot:
            raise UnknownSymbol(f"Invalid symbol: {symbol} is not a Binance spot market.")
        return market

    @staticmethod
    def _check_offered(market: Market, *binance_types: str) -> None:
        """Refuse an order type the symbol does not list, with its name (ccxt's own refusal names neither)."""
        for binance_type in binance_types:
            if not market.offers(binance_type):
                raise Rejected(f"Binance offers no {binance_type} orders on {market.symbol}")

    @staticmethod
    def _check_steps(market: Market, quantity: Decimal, *prices: Decimal | None) -> None:
        """Refuse off-grid amounts here as Binance would: ccxt would silently truncate or round them instead."""
        instrument = market.instrument()
        if any(p is not None and not is_on_step(p, instrument.tick_size) for p in prices):
            raise FilterFailure("Filter failure: PRICE_FILTER")
        if not is_on_step(quantity, instrument.step_size):
            raise FilterFailure("Filter failure: LOT_SIZE")

    def _read_account(self) -> dict[str, Balance]:
        raw = _object(self._call(lambda client: client.privateGetAccount()), "the account")
        if raw.get("commissionRates"):
            rates = _object(raw["commissionRates"], "the commission rates")
            self._fees = FeeRates(_amount(rates, "maker"), _amount(rates, "taker"))
        else:  # older accounts: commissions in basis points
            self._fees = FeeRates(_amount(raw, "makerCommission") / 10000, _amount(raw, "takerCommission") / 10000)
        found = {}
        for entry in _objects(_field(raw, "balances"), "the balances"):
            balance = Balance(_text(entry, "asset"), _amount(entry, "free"), _amount(entry, "locked"))
            if balance.total != ZERO:
                found[balance.asset] = balance
        return found

    def _symbol_of(self, market_id: str) -> str:
        markets = _object(self._client.markets_by_id or {}, "the markets by id")
        found = markets.get(market_id)
        if not found:
            raise Fatal(f"Binance answered about {market_id}, a market it did not list")
        return _text(_objects(found, "a market")[0], "symbol")

    def _report(self, raw: Raw) -> OrderReport:
        """An OrderReport from a raw Binance order (POST/GET/DELETE order, openOrders or an OCO leg)."""
        symbol = self._symbol_of(_text(raw, "symbol"))
        named = "origClientOrderId" if raw.get("origClientOrderId") else "clientOrderId"
        client_order_id = _text(raw, named)
        kind, price, stop_price = _order_kind(raw)
        side = OrderSide(_text(raw, "side"))
        filled = _amount(raw, "executedQty")
        if "fills" in raw:
            at = _integer(raw, "transactTime", 0)
            entries = _objects(raw["fills"], "an order's fills")
            fills = [_fill(entry, client_order_id, symbol, side, at) for entry in entries]
        else:
            fills = self._fills(symbol, _integer(raw, "orderId"), client_order_id, side) if filled else []
        return OrderReport(
            client_order_id=client_order_id,
            exchange_order_id=_text(raw, "orderId"),
            symbol=symbol,
            side=side,
            type=kind,
            status=ORDER_STATUSES.get(_text(raw, "status"), OrderStatus.NEW),
            quantity=_amount(raw, "origQty"),
            filled_quantity=filled,
            price=price,
            stop_price=stop_price,
            list_id=self._list_id(symbol, _integer(raw, "orderListId", -1)),
            fills=tuple(fills),
        )

    def _fills(self, symbol: str, order_id: int, client_order_id: str, side: OrderSide) -> list[Fill]:
        params = {"orderId": order_id}
        trades = _objects(self._call(lambda client: client.fetch_my_trades(symbol, None, 1000, params)), "trades")
        rows = [row for row in (_info(trade, "a trade") for trade in trades) if _integer(row, "orderId") == order_id]
        return [_fill(row, client_order_id, symbol, side, _integer(row, "time")) for row in rows]

    def _list_id(self, symbol: str, number: int) -> str | None:
        """Our list id for Binance's numeric orderListId: remembered from place_oco, else asked of the venue."""
        if number < 0:
            return None
        if (symbol, number) not in self._list_ids:
            params = {"orderListId": number}
            raw = _object(self._call(lambda client: client.privateGetOrderList(params)), "an OCO")
            self._list_ids[(symbol, number)] = _text(raw, "listClientOrderId")
        return self._list_ids[(symbol, number)]
