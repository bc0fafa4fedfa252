"""The paper venue: a spot exchange simulated over the shared fill simulator, its account kept in a PaperStore.

It behaves like Binance spot where the engine can tell: filters, balance checks and locks, trigger directions,
OCO lists that lock once, and the same error kinds. Fees are charged in the QUOTE asset. Every public call that
changes something is one exclusive store transaction: it reads the account afresh inside it when another process
(or another exchange over the same store) wrote since, decides, and writes all of it through ONE store.commit. So
processes moving the same paper account at once are put one after the other, as on a real venue, and none writes
back a stale copy. Every read first checks the store's revision and reads the account again when it moved.

Not persisted: which stop-limit and take-profit-limit orders have triggered without filling (the contract's
Order has no field for it). After a restart an open one counts as triggered when the last price is past its
trigger.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

from robson.domain.errors import InvalidValue
from robson.domain.fills import Fill
from robson.domain.instrument import Instrument
from robson.domain.orders import Order, OrderStatus, OrderType
from robson.domain.values import ONE, OrderSide
from robson.domain.venue import SPOT_WITH_OCO, Capability
from robson.execution.adapters.paper_account import LockRule, PaperSession, apply_changes
from robson.execution.matching import (
    TRIGGERED_LIMIT_TYPES,
    Bar,
    FeeSchedule,
    Liquidity,
    SlippageModel,
    is_triggered_by,
    market_fill_price,
    match_bar,
)
from robson.ports import (
    Balance,
    Clock,
    DuplicateOrder,
    FeeRates,
    FilterFailure,
    OcoRequest,
    OrderReport,
    OrderRequest,
    PaperChanges,
    PaperState,
    PaperStore,
    Quote,
    Rejected,
    UnknownOrder,
    UnknownSymbol,
    WouldTriggerImmediately,
)

T = TypeVar("T")

BAD_OCO_PRICES = "The relationship of the prices for the orders is not correct."
_PARAMETERS = {  # which of price and stop_price each order type takes
    OrderType.MARKET: (False, False),
    OrderType.LIMIT: (True, False),
    OrderType.STOP_MARKET: (False, True),
    OrderType.STOP_LIMIT: (True, True),
    OrderType.TAKE_PROFIT_LIMIT: (True, True),
}


class PaperExchange:
    """ExchangePort and PaperMarket for the paper venue."""

    name = "paper"
    capabilities: frozenset[Capability] = SPOT_WITH_OCO  # a spot venue: selling needs the base asset

    def __init__(
        self,
        store: PaperStore,
        instruments: dict[str, Instrument],
        fees: FeeSchedule,
        slippage: SlippageModel,
        clock: Clock,
    ) -> None:
        self._store = store
        self._instruments = dict(instruments)
        self._fees = fees
        self._slippage = slippage
        self._clock = clock
        self._rule = LockRule(self._instruments, fees, slippage)
        self._load(store.load())

    def _load(self, state: PaperState) -> None:
        self._state = state
        self._fills_by_order: dict[str, list[Fill]] = defaultdict(list)
        for fill in self._state.fills:
            self._fills_by_order[fill.client_order_id].append(fill)
        self._triggered = {
            order.client_order_id
            for order in self._state.orders.values()
            if order.status.is_open
            and order.type in TRIGGERED_LIMIT_TYPES
            and (price := self._state.prices.get(order.symbol)) is not None
            and is_triggered_by(order, price)
        }

    # ---- reading ------------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the account afresh from its store when another process (robson price) has moved it since."""
        if self._store.revision() != self._state.revision:
            self._load(self._store.load())

    def prices(self) -> dict[str, Decimal]:
        self.reload()
        return dict(self._state.prices)

    def instruments(self) -> dict[str, Instrument]:
        return dict(self._instruments)

    def fee_rates(self, symbol: str) -> FeeRates:
        self._instrument(symbol)
        return FeeRates(self._fees.maker, self._fees.taker)

    def last_price(self, symbol: str) -> Decimal | None:
        self._instrument(symbol)
        self.reload()
        return self._state.prices.get(symbol)

    def quote(self, symbol: str) -> Quote | None:
        """The prices a market sell and a market buy would fill at now (the last price moved by the slippage)."""
        instrument = self._instrument(symbol)
        self.reload()
        last = self._state.prices.get(symbol)
        if last is None:
            return None
        return Quote(
            market_fill_price(OrderSide.SELL, last, self._slippage, instrument),
            market_fill_price(OrderSide.BUY, last, self._slippage, instrument),
        )

    def balances(self) -> dict[str, Balance]:
        self.reload()
        return dict(self._state.balances)

    def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        self.reload()  # never "unknown" for an order another process placed since this copy was read
        order = self._state.orders.get(client_order_id)
        if order is None or order.symbol != symbol:
            raise UnknownOrder("Order does not exist.")
        return self._report(order)

    def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Open orders, oldest first."""
        self.reload()
        working = (self._state.orders[cid] for cid in self._state.working)
        orders = [o for o in working if symbol in (None, o.symbol)]
        return [self._report(order) for order in sorted(orders, key=lambda order: int(order.exchange_order_id or 0))]

    # ---- trading ------------------------------------------------------------------------------

    def place_order(self, request: OrderRequest) -> OrderReport:
        instrument = self._instrument(request.symbol)

        def place(session: PaperSession) -> Order:
            self._refuse_duplicates(session, request.client_order_id)
            last = session.price(request.symbol)
            order = self._new_order(instrument, request, last)
            if order.type is OrderType.MARKET and last is None:
                raise Rejected(f"no market price for {request.symbol} yet")
            if last is not None and is_triggered_by(order, last):
                raise WouldTriggerImmediately("Order would trigger immediately.")
            self._place(session, instrument, order, last)
            return order

        return self._report(self._run(place))

    def place_oco(self, request: OcoRequest) -> tuple[OrderReport, OrderReport]:
        instrument = self._instrument(request.symbol)
        if request.stop_client_order_id == request.target_client_order_id:
            raise DuplicateOrder("Duplicate order sent.")
        legs = [
            (request.stop_client_order_id, OrderType.STOP_MARKET, None, request.stop_price),
            (request.target_client_order_id, OrderType.TAKE_PROFIT_LIMIT, request.target_price, request.target_price),
        ]

        def place(session: PaperSession) -> tuple[Order, Order]:
            self._refuse_duplicates(session, request.stop_client_order_id, request.target_client_order_id)
            if any(order.list_id == request.list_id for order in session.state.orders.values()):
                raise DuplicateOrder("Duplicate order sent.")
            last = session.price(request.symbol)
            stop, target = (
                self._new_order(
                    instrument,
                    OrderRequest(cid, request.symbol, request.side, type_, request.quantity, price, stop_price),
                    last,
                    request.list_id,
                )
                for cid, type_, price, stop_price in legs
            )
            low, high = sorted((request.stop_price, request.target_price))
            right_order = (request.stop_price < request.target_price) == (request.side is OrderSide.SELL)
            if not right_order or (last is not None and not low < last < high):
                raise Rejected(BAD_OCO_PRICES)
            asset, amount = self._rule.lock_of(stop)  # the list locks once: the larger of its legs
            session.require_free(asset, max(amount, self._rule.lock_of(target)[1]))
            for leg in (stop, target):
                self._open(session, leg)
            return stop, target

        stop, target = self._run(place)
        return self._report(stop), self._report(target)

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        self._instrument(symbol)

        def cancel(session: PaperSession) -> None:
            order = session.state.orders.get(client_order_id)
            if order is None or order.symbol != symbol or not order.status.is_open:
                raise UnknownOrder("Unknown order sent.")
            edited = session.edit(client_order_id)
            edited.move_to(OrderStatus.CANCELED, self._clock.now())
            self._cancel_siblings(session, edited)

        self._run(cancel)
        return self._report(self._state.orders[client_order_id])

    # ---- the market -----------------------------------------------------------------------------

    def push_price(self, symbol: str, price: Decimal) -> list[Fill]:
        return self.push_bar(symbol, price, price, price, price)

    def push_bar(self, symbol: str, open_: Decimal, high: Decimal, low: Decimal, close: Decimal) -> list[Fill]:
        instrument = self._instrument(symbol)
        bar = Bar(open_, high, low, close)

        if self._price_alone(symbol, bar.close):
            return []

        def match(session: PaperSession) -> list[Fill]:
            resting = session.open_orders(symbol)
            already = {order.client_order_id for order in resting} & session.triggered
            result = match_bar(resting, bar, session.price(symbol), instrument, self._slippage, self._fees, already)
            fills = []
            for execution in result.executions:
                order = session.edit(execution.client_order_id)
                if not order.status.is_open:
                    continue
                cost = execution.notional + execution.fee
                if order.side is OrderSide.BUY and session.free(instrument.quote, excluding=order) < cost:
                    order.move_to(OrderStatus.EXPIRED, self._clock.now())  # a gapped buy stop it cannot pay for
                    self._cancel_siblings(session, order)
                    continue
                fills.append(self._fill(session, instrument, order, execution.price, execution.fee))
            session.triggered = (session.triggered - already) | result.triggered
            session.set_price(symbol, bar.close)
            return fills

        return self._run(match)

    def reset(self, balances: dict[str, Decimal]) -> None:
        """Wipe orders, fills and prices and start over with these free balances. Ids keep counting up."""
        fresh = {}
        for asset, amount in balances.items():
            if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
                raise InvalidValue(f"balance of {asset} must be a non-negative Decimal, got {amount!r}")
            fresh[asset] = Balance(asset, amount)
        self._store.reset(fresh)  # the id sequence goes on: a trade id never means two different fills
        self.reload()

    # ---- inside ---------------------------------------------------------------------------------

    def _price_alone(self, symbol: str, price: Decimal) -> bool:
        """When no order rests on the symbol, a price (or a bar) only moves its last price: one write, in one store
        transaction, with no session to match in (most of a replay's bars). False when an order rests: the caller
        matches it."""
        with self._store.transaction() as revision:
            if revision != self._state.revision:
                self._load(self._store.load())
            if any(self._state.orders[cid].symbol == symbol for cid in self._state.working):
                return False
            changes = PaperChanges(prices={symbol: price})
            self._store.commit(changes)
        apply_changes(self._state, changes)
        self._state.revision = revision + 1
        return True

    def _run(self, action: Callable[[PaperSession], T]) -> T:
        """Run one call in one exclusive store transaction, over the account as it is now (read again when another
        process or exchange wrote since), write its changes in one commit, then fold them into the state."""
        with self._store.transaction() as revision:
            if revision != self._state.revision:
                self._load(self._store.load())
            session = PaperSession(self._state, self._rule)
            session.triggered = set(self._triggered)
            result = action(session)
            changes = session.finish()
            self._store.commit(changes)
        apply_changes(self._state, changes)
        self._state.revision = revision + 1
        for fill in changes.fills:
            self._fills_by_order[fill.client_order_id].append(fill)
        self._triggered = {cid for cid in session.triggered if self._state.orders[cid].status.is_open}
        return result

    def _place(self, session: PaperSession, instrument: Instrument, order: Order, last: Decimal | None) -> None:
        fill_price = self._immediate_price(order, last)
        if fill_price is None:
            session.require_free(*self._rule.lock_of(order))
            self._open(session, order)
            return
        if order.side is OrderSide.BUY:
            worst = order.price if order.price is not None else fill_price
            session.require_free(instrument.quote, worst * order.quantity * (ONE + self._fees.taker))
        else:
            session.require_free(instrument.base, order.quantity)
        self._open(session, order)
        fee = self._fees.fee(fill_price, order.quantity, Liquidity.TAKER)
        self._fill(session, instrument, order, fill_price, fee)

    def _immediate_price(self, order: Order, last: Decimal | None) -> Decimal | None:
        """The price a new order fills at right away (taker), or None when it rests."""
        if last is None:
            return None
        if order.type is OrderType.MARKET:
            return market_fill_price(order.side, last, self._slippage, self._instruments[order.symbol])
        if order.type is OrderType.LIMIT:
            assert order.price is not None
            marketable = last <= order.price if order.side is OrderSide.BUY else last >= order.price
            return last if marketable else None
        return None

    def _open(self, session: PaperSession, order: Order) -> None:
        order.exchange_order_id = str(session.next_number())
        order.move_to(OrderStatus.NEW, self._clock.now())
        session.add(order)

    def _fill(self, session: PaperSession, instrument: Instrument, order: Order, price: Decimal, fee: Decimal) -> Fill:
        """Settle a full fill of the order (fee in quote), record it, and cancel the rest of its OCO list."""
        quantity, notional = order.remaining, price * order.remaining
        if order.side is OrderSide.BUY:
            session.debit(instrument.quote, notional + fee)
            session.credit(instrument.base, quantity)
        else:
            session.debit(instrument.base, quantity)
            session.credit(instrument.quote, notional - fee)
        now = self._clock.now()
        order.record_fill(quantity, now)
        fill = Fill(
            trade_id=f"paper-{session.next_number()}",
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            quantity=quantity,
            fee=fee,
            fee_asset=instrument.quote,
            time=now,
        )
        session.add_fill(fill)
        self._cancel_siblings(session, order)
        return fill

    def _cancel_siblings(self, session: PaperSession, order: Order) -> None:
        if order.list_id is None:
            return
        for other in session.open_orders(order.symbol):
            if other.list_id == order.list_id and other.client_order_id != order.client_order_id:
                session.edit(other.client_order_id).move_to(OrderStatus.CANCELED, self._clock.now())

    def _instrument(self, symbol: str) -> Instrument:
        instrument = self._instruments.get(symbol)
        if instrument is None:
            raise UnknownSymbol("Invalid symbol.")
        return instrument

    @staticmethod
    def _refuse_duplicates(session: PaperSession, *client_order_ids: str) -> None:
        if any(cid in session.state.orders for cid in client_order_ids):
            raise DuplicateOrder("Duplicate order sent.")

    def _new_order(
        self, instrument: Instrument, request: OrderRequest, last: Decimal | None, list_id: str | None = None
    ) -> Order:
        """The order a valid request makes; its parameters and the instrument's filters checked first."""
        takes_price, takes_stop = _PARAMETERS[request.type]
        parameters = (("price", request.price, takes_price), ("stopPrice", request.stop_price, takes_stop))
        for name, value, wanted in parameters:
            if value is not None and not wanted:
                raise Rejected(f"Parameter '{name}' sent when not required.")
        self._check_filters(instrument, request, last)
        try:
            return Order(
                client_order_id=request.client_order_id,
                symbol=request.symbol,
                side=request.side,
                type=request.type,
                quantity=request.quantity,
                created_at=self._clock.now(),
                price=request.price,
                stop_price=request.stop_price,
                list_id=list_id,
            )
        except InvalidValue as error:
            raise Rejected(str(error)) from None

    @staticmethod
    def _check_filters(instrument: Instrument, order: OrderRequest, last: Decimal | None) -> None:
        """PRICE_FILTER, LOT_SIZE and NOTIONAL at each price of the order; for a market order, at the last price."""
        prices: list[Decimal | None] = [p for p in (order.price, order.stop_price) if p is not None]
        failure = None
        for price in prices or [None]:
            failure = failure or instrument.filter_failure(order.quantity, price)
        if failure is None and order.type is OrderType.MARKET and last is not None:
            failure = "NOTIONAL" if order.quantity * last < instrument.min_notional else None
        if failure is not None:
            raise FilterFailure(f"Filter failure: {failure}")

    def _report(self, order: Order) -> OrderReport:
        return OrderReport(
            client_order_id=order.client_order_id,
            exchange_order_id=order.exchange_order_id or "",
            symbol=order.symbol,
            side=order.side,
            type=order.type,
            status=order.status,
            quantity=order.quantity,
            filled_quantity=order.filled_quantity,
            price=order.price,
            stop_price=order.stop_price,
            list_id=order.list_id,
            fills=tuple(self._fills_by_order.get(order.client_order_id, ())),
        )
