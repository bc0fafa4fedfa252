"""The venue: orders and their reports, quotes, fee rates, the ExchangePort every venue adapter implements, and
what a venue streams (prices, the account's order updates)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from robson.domain.account import Balance as Balance  # the port speaks the domain's balance (re-exported)
from robson.domain.fills import Fill
from robson.domain.instrument import Instrument
from robson.domain.orders import OrderStatus, OrderType
from robson.domain.values import OrderSide
from robson.domain.venue import Capability


@dataclass(frozen=True, slots=True)
class OrderRequest:
    client_order_id: str
    symbol: str
    side: OrderSide
    type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OcoRequest:
    """A stop and a target for the same quantity; when one fills the venue cancels the other."""

    list_id: str
    symbol: str
    side: OrderSide
    quantity: Decimal
    stop_client_order_id: str
    stop_price: Decimal
    target_client_order_id: str
    target_price: Decimal


@dataclass(frozen=True, slots=True)
class OrderReport:
    """What the venue says about one order, with every fill it has had so far."""

    client_order_id: str
    exchange_order_id: str
    symbol: str
    side: OrderSide
    type: OrderType
    status: OrderStatus
    quantity: Decimal
    filled_quantity: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    list_id: str | None = None
    fills: tuple[Fill, ...] = ()


@dataclass(frozen=True, slots=True)
class Quote:
    """The best bid and ask: what a market sell and a market buy of a small size would get."""

    bid: Decimal
    ask: Decimal

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2

    @property
    def spread_bps(self) -> Decimal:
        """The spread in basis points of the mid."""
        return ((self.ask - self.bid) * 10000 / self.mid).quantize(Decimal("0.01"))

    def touch(self, side: OrderSide) -> Decimal:
        """The price a market order on this side takes first: the ask for a buy, the bid for a sell."""
        return self.ask if side is OrderSide.BUY else self.bid


@dataclass(frozen=True, slots=True)
class FeeRates:
    maker: Decimal
    taker: Decimal


class ExchangePort(Protocol):
    """One venue: the paper exchange, the backtest simulator, Binance, Alpaca. It declares what it can do; the use
    cases ask for the capability they need."""

    @property
    def name(self) -> str: ...

    @property
    def capabilities(self) -> frozenset[Capability]: ...

    def instruments(self) -> dict[str, Instrument]: ...

    def fee_rates(self, symbol: str) -> FeeRates: ...

    def last_price(self, symbol: str) -> Decimal | None: ...

    def quote(self, symbol: str) -> Quote | None: ...  # the best bid and ask, None when the book is empty

    def balances(self) -> dict[str, Balance]: ...

    def place_order(self, request: OrderRequest) -> OrderReport: ...

    def place_oco(self, request: OcoRequest) -> tuple[OrderReport, OrderReport]: ...

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport: ...

    def get_order(self, symbol: str, client_order_id: str) -> OrderReport: ...

    def open_orders(self, symbol: str | None = None) -> list[OrderReport]: ...


class PriceFeed(Protocol):
    """A stream of prices for the monitor: the paper venue's prices now; exchange websockets later."""

    def poll(self) -> list[tuple[str, Decimal]]: ...  # the (symbol, price) ticks since the last poll, in order


@runtime_checkable
class StreamFeed(Protocol):
    """What a feed over a venue's stream adds (the monitor asks when a feed offers it)."""

    def refused(self) -> list[str]: ...  # the messages refused since the last call (no real price, unreadable)

    def follow_trades(self, symbols: frozenset[str]) -> None: ...  # these symbols need every trade, not samples


class OrderStream(Protocol):
    """What a venue pushes about the account's own orders (Binance's user-data stream: each executionReport):
    every report as the venue sent it, with the fill it carries, if any (its trade id makes a second delivery
    harmless). The monitor applies them as they come (services `on_fill`); `sync` stays the backstop, at a slower
    cadence, for whatever a stream may miss (a reconnect, a report lost)."""

    def updates(self) -> list[OrderReport]: ...  # what arrived since the last call, oldest first; never waits

    def healthy(self) -> bool: ...  # connected and listening now (False: the backstop sync runs at every pass)

    def close(self) -> None: ...
