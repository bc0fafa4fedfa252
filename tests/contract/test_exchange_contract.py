"""The contract every ExchangePort keeps: the paper venue, Binance (through ccxt, against the fake Binance on
loopback) and Alpaca (through alpaca-py, against the fake Alpaca). Each case runs on all three."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from robson.clock import ManualClock
from robson.config import Settings
from robson.domain.orders import OrderStatus, OrderType
from robson.domain.values import OrderSide
from robson.domain.venue import Capability
from robson.execution.adapters.alpaca import AlpacaExchange
from robson.execution.adapters.binance import BinanceExchange
from robson.execution.adapters.memory_store import MemoryPaperStore
from robson.execution.adapters.paper import PaperExchange
from robson.execution.matching import FeeSchedule, SlippageModel
from robson.ports import (
    DuplicateOrder,
    ExchangePort,
    InsufficientFunds,
    OcoRequest,
    OrderReport,
    OrderRequest,
    UnknownOrder,
)
from tests.fakes import alpaca_server, binance_server
from tests.fakes.alpaca_server import FAKE_KEY_ID, FAKE_SECRET_KEY, AlpacaFake
from tests.fakes.binance_server import BinanceFake

D = Decimal
NOW = datetime(2030, 1, 2, 15, 0, tzinfo=UTC)


@dataclass
class Venue:
    exchange: ExchangePort
    symbol: str
    price: Decimal  # the market now
    quantity: Decimal  # a quantity the account can afford, on the venue's grid
    too_much: Decimal  # a quantity it cannot
    set_price: Callable[[Decimal], None]
    partially: Callable[[], None] | None = None  # the next order's first execution fills only part of it (a fault)


def _paper() -> Iterator[Venue]:
    clock = ManualClock(NOW)
    paper = PaperExchange(
        MemoryPaperStore(), Settings().paper.all_instruments(), FeeSchedule(D("0.001"), D("0.001")),
        SlippageModel(D("0")), clock,
    )  # fmt: skip
    paper.reset({"USDT": D(10000)})
    paper.push_price("BTC/USDT", D(30000))
    yield Venue(paper, "BTC/USDT", D(30000), D("0.001"), D(1), lambda p: paper.push_price("BTC/USDT", p) and None)


def _binance() -> Iterator[Venue]:
    with BinanceFake(balances={"USDT": D(10000)}, prices={"BTCUSDT": D(30000)}) as fake:
        exchange = BinanceExchange("key", "secret", base_url=fake.url, timeout_ms=2000)
        yield Venue(
            exchange, "BTC/USDT", D(30000), D("0.001"), D(1), lambda p: fake.set_price("BTCUSDT", p) and None,
            lambda: fake.inject("POST /api/v3/order", binance_server.Fault.partial_fill("0.5")),
        )  # fmt: skip


def _alpaca() -> Iterator[Venue]:
    with AlpacaFake(symbols=("AAPL",), cash=D(10000)) as fake:
        fake.set_price("AAPL", D("150.00"))
        exchange = AlpacaExchange(
            FAKE_KEY_ID, FAKE_SECRET_KEY, base_url=fake.url, symbols=("AAPL/USD",), clock=ManualClock(NOW), timeout=2
        )
        yield Venue(
            exchange, "AAPL/USD", D(150), D(2), D(1000), lambda p: fake.set_price("AAPL", p),
            lambda: fake.inject("POST /v2/orders", alpaca_server.Fault.PARTIAL_FILL),
        )  # fmt: skip


@pytest.fixture(params=["paper", "binance", "alpaca"])
def venue(request: pytest.FixtureRequest) -> Iterator[Venue]:
    yield from {"paper": _paper, "binance": _binance, "alpaca": _alpaca}[request.param]()


def test_it_declares_what_it_can_do_as_its_code_does_it(venue: Venue) -> None:
    """Every venue here is a spot account with OCO lists (the contract places them on each); the orders beyond the
    port (brackets, trailing stops) are declared exactly where the adapter sends them."""
    declared = venue.exchange.capabilities
    assert isinstance(declared, frozenset) and all(isinstance(c, Capability) for c in declared)
    assert {Capability.SPOT, Capability.OCO} <= declared
    assert (Capability.BRACKET in declared) is hasattr(venue.exchange, "place_bracket")
    assert (Capability.TRAILING_STOP in declared) is hasattr(venue.exchange, "place_trailing_stop")


def test_it_lists_the_symbol_with_its_filters(venue: Venue) -> None:
    instrument = venue.exchange.instruments()[venue.symbol]
    assert instrument.tick_size > 0 and instrument.step_size > 0
    assert venue.exchange.last_price(venue.symbol) == venue.price


def test_the_quote_brackets_the_market_and_a_market_buy_fills_at_or_inside_the_ask(venue: Venue) -> None:
    quote = venue.exchange.quote(venue.symbol)
    assert quote is not None
    assert quote.bid <= venue.price <= quote.ask and quote.spread_bps >= 0
    report = venue.exchange.place_order(
        OrderRequest("c-q1", venue.symbol, OrderSide.BUY, OrderType.MARKET, venue.quantity)
    )
    assert all(fill.price <= quote.ask for fill in report.fills)


def test_a_market_buy_fills_whole_with_exact_fills(venue: Venue) -> None:
    report = venue.exchange.place_order(
        OrderRequest("c-m1", venue.symbol, OrderSide.BUY, OrderType.MARKET, venue.quantity)
    )
    assert report.client_order_id == "c-m1" and report.status is OrderStatus.FILLED
    assert report.filled_quantity == venue.quantity == sum(f.quantity for f in report.fills)
    assert all(isinstance(f.price, Decimal) and f.price > 0 for f in report.fills)
    base = venue.exchange.instruments()[venue.symbol].base
    assert venue.exchange.balances()[base].total >= venue.quantity


def test_a_resting_limit_is_found_listed_and_cancelled(venue: Venue) -> None:
    below = (venue.price * D("0.9")).quantize(D("0.01"))
    request = OrderRequest("c-l1", venue.symbol, OrderSide.BUY, OrderType.LIMIT, venue.quantity, below)
    placed = venue.exchange.place_order(request)
    assert placed.status is OrderStatus.NEW and placed.filled_quantity == 0
    assert venue.exchange.get_order(venue.symbol, "c-l1").price == below
    assert [r.client_order_id for r in venue.exchange.open_orders(venue.symbol)] == ["c-l1"]
    cancelled = venue.exchange.cancel_order(venue.symbol, "c-l1")
    assert cancelled.status is OrderStatus.CANCELED
    assert venue.exchange.open_orders(venue.symbol) == []
    with pytest.raises(UnknownOrder):
        venue.exchange.cancel_order(venue.symbol, "c-l1")


def test_a_resting_limit_fills_when_the_market_comes_to_it(venue: Venue) -> None:
    below = (venue.price * D("0.95")).quantize(D("0.01"))
    venue.exchange.place_order(
        OrderRequest("c-l2", venue.symbol, OrderSide.BUY, OrderType.LIMIT, venue.quantity, below)
    )
    venue.set_price(below - D(1))
    report = venue.exchange.get_order(venue.symbol, "c-l2")
    assert report.status is OrderStatus.FILLED and report.filled_quantity == venue.quantity


def test_an_unknown_client_order_id_is_unknown(venue: Venue) -> None:
    with pytest.raises(UnknownOrder):
        venue.exchange.get_order(venue.symbol, "never-sent")


def test_a_client_order_id_is_used_once(venue: Venue) -> None:
    request = OrderRequest("c-d1", venue.symbol, OrderSide.BUY, OrderType.MARKET, venue.quantity)
    venue.exchange.place_order(request)
    with pytest.raises(DuplicateOrder):
        venue.exchange.place_order(request)
    assert [r.client_order_id for r in [venue.exchange.get_order(venue.symbol, "c-d1")]] == ["c-d1"]


def test_more_than_the_account_can_pay_is_refused_as_insufficient_funds(venue: Venue) -> None:
    with pytest.raises(InsufficientFunds):
        venue.exchange.place_order(OrderRequest("c-f1", venue.symbol, OrderSide.BUY, OrderType.MARKET, venue.too_much))
    with pytest.raises(UnknownOrder):
        venue.exchange.get_order(venue.symbol, "c-f1")


# ---- protection: OCO lists, stop orders -------------------------------------------------------------------------

CENT = D("0.01")
# The leg of an OCO the venue closes when the other fills: Binance (and its fake) say EXPIRED, the paper venue and
# Alpaca say CANCELED. The port does not pin one; the engine treats both as final (orders.apply_report).
SIBLING_CLOSED = {OrderStatus.CANCELED, OrderStatus.EXPIRED}


def _held(venue: Venue) -> Decimal:
    """Buy the venue's quantity at market, so that there is something to protect; returns the quantity held."""
    bought = venue.exchange.place_order(
        OrderRequest("c-h1", venue.symbol, OrderSide.BUY, OrderType.MARKET, venue.quantity)
    )
    assert bought.status is OrderStatus.FILLED
    return bought.filled_quantity


def _oco(venue: Venue) -> tuple[OcoRequest, OrderReport, OrderReport]:
    quantity = _held(venue)
    stop, target = (venue.price * D("0.95")).quantize(CENT), (venue.price * D("1.05")).quantize(CENT)
    request = OcoRequest("c-p1", venue.symbol, OrderSide.SELL, quantity, "c-s1", stop, "c-t1", target)
    placed_stop, placed_target = venue.exchange.place_oco(request)
    return request, placed_stop, placed_target


def _filled_whole(report: OrderReport, quantity: Decimal) -> None:
    assert report.status is OrderStatus.FILLED
    assert report.filled_quantity == quantity == sum(f.quantity for f in report.fills)


def test_an_oco_rests_both_legs_listed_and_found(venue: Venue) -> None:
    request, stop, target = _oco(venue)
    assert (stop.client_order_id, stop.type, stop.stop_price) == ("c-s1", OrderType.STOP_MARKET, request.stop_price)
    # the target's type is the venue's: TAKE_PROFIT_LIMIT on paper and Binance, a plain LIMIT on Alpaca
    assert (target.client_order_id, target.price) == ("c-t1", request.target_price)
    for leg in (stop, target):
        assert (leg.status, leg.filled_quantity, leg.quantity) == (OrderStatus.NEW, 0, request.quantity)
        assert (leg.side, leg.list_id) == (OrderSide.SELL, "c-p1")
    assert {r.client_order_id for r in venue.exchange.open_orders(venue.symbol)} == {"c-s1", "c-t1"}
    for cid in ("c-s1", "c-t1"):
        found = venue.exchange.get_order(venue.symbol, cid)
        assert (found.client_order_id, found.status, found.list_id) == (cid, OrderStatus.NEW, "c-p1")


def test_the_target_filling_closes_the_stop_leg(venue: Venue) -> None:
    request, _, _ = _oco(venue)
    venue.set_price(request.target_price)
    target = venue.exchange.get_order(venue.symbol, "c-t1")
    _filled_whole(target, request.quantity)
    assert all(f.price >= request.target_price for f in target.fills)  # a sell limit never fills below its price
    stop = venue.exchange.get_order(venue.symbol, "c-s1")
    assert stop.status in SIBLING_CLOSED and stop.filled_quantity == 0
    assert venue.exchange.open_orders(venue.symbol) == []


def test_crossing_the_stop_fills_the_stop_leg(venue: Venue) -> None:
    request, _, _ = _oco(venue)
    venue.set_price(request.stop_price - 1)
    stop = venue.exchange.get_order(venue.symbol, "c-s1")
    _filled_whole(stop, request.quantity)
    assert all(0 < f.price <= request.stop_price for f in stop.fills)
    target = venue.exchange.get_order(venue.symbol, "c-t1")
    assert target.status in SIBLING_CLOSED and target.filled_quantity == 0
    assert venue.exchange.open_orders(venue.symbol) == []


@pytest.mark.parametrize("kind", [OrderType.STOP_MARKET, OrderType.STOP_LIMIT])
def test_a_stop_loss_rests_until_the_price_crosses_it(venue: Venue, kind: OrderType) -> None:
    quantity = _held(venue)
    stop = (venue.price * D("0.95")).quantize(CENT)
    limit = (stop * D("0.99")).quantize(CENT) if kind is OrderType.STOP_LIMIT else None
    placed = venue.exchange.place_order(OrderRequest("c-s2", venue.symbol, OrderSide.SELL, kind, quantity, limit, stop))
    assert (placed.status, placed.filled_quantity, placed.type, placed.stop_price) == (OrderStatus.NEW, 0, kind, stop)
    assert [r.client_order_id for r in venue.exchange.open_orders(venue.symbol)] == ["c-s2"]

    venue.set_price(stop + 1)  # near, not through
    assert venue.exchange.get_order(venue.symbol, "c-s2").status is OrderStatus.NEW

    venue.set_price(stop - 1)  # through the stop (and not through the stop-limit's limit)
    report = venue.exchange.get_order(venue.symbol, "c-s2")
    _filled_whole(report, quantity)
    assert all(f.price <= stop and (limit is None or f.price >= limit) for f in report.fills)
    assert venue.exchange.open_orders(venue.symbol) == []


def test_a_partial_fill_reports_what_filled_and_fills_the_rest_later(venue: Venue) -> None:
    if venue.partially is None:
        pytest.skip("the paper venue fills whole orders only (matching.py simulates no partial fills)")
    venue.partially()
    report = venue.exchange.place_order(
        OrderRequest("c-q1", venue.symbol, OrderSide.BUY, OrderType.MARKET, venue.quantity)
    )
    assert report.status is OrderStatus.PARTIALLY_FILLED and report.quantity == venue.quantity
    assert 0 < report.filled_quantity < venue.quantity
    assert report.filled_quantity == sum(f.quantity for f in report.fills)
    assert [r.client_order_id for r in venue.exchange.open_orders(venue.symbol)] == ["c-q1"]
    found = venue.exchange.get_order(venue.symbol, "c-q1")
    assert (found.status, found.filled_quantity) == (OrderStatus.PARTIALLY_FILLED, report.filled_quantity)

    venue.set_price(venue.price + 1)  # the rest trades
    done = venue.exchange.get_order(venue.symbol, "c-q1")
    _filled_whole(done, venue.quantity)
    assert len({f.trade_id for f in done.fills}) == len(done.fills) == 2  # each execution once
    assert venue.exchange.open_orders(venue.symbol) == []


def test_cancelling_a_partly_filled_order_keeps_what_filled(venue: Venue) -> None:
    if venue.partially is None:
        pytest.skip("the paper venue fills whole orders only (matching.py simulates no partial fills)")
    venue.partially()
    placed = venue.exchange.place_order(
        OrderRequest("c-q2", venue.symbol, OrderSide.BUY, OrderType.MARKET, venue.quantity)
    )
    cancelled = venue.exchange.cancel_order(venue.symbol, "c-q2")
    assert cancelled.status is OrderStatus.CANCELED
    assert cancelled.filled_quantity == placed.filled_quantity == sum(f.quantity for f in cancelled.fills) > 0
    assert venue.exchange.open_orders(venue.symbol) == []
    venue.set_price(venue.price + 1)  # nothing more trades
    found = venue.exchange.get_order(venue.symbol, "c-q2")
    assert (found.status, found.filled_quantity) == (OrderStatus.CANCELED, placed.filled_quantity)


def test_cancelling_a_filled_order_is_refused_as_unknown(venue: Venue) -> None:
    _held(venue)
    with pytest.raises(UnknownOrder):  # as Binance -2011 'Unknown order sent.': nothing is left to cancel
        venue.exchange.cancel_order(venue.symbol, "c-h1")
    assert venue.exchange.get_order(venue.symbol, "c-h1").status is OrderStatus.FILLED


def test_fees_are_reported_in_the_fills_in_the_quote_asset(venue: Venue) -> None:
    report = venue.exchange.place_order(
        OrderRequest("c-f2", venue.symbol, OrderSide.BUY, OrderType.MARKET, venue.quantity)
    )
    rate = venue.exchange.fee_rates(venue.symbol).taker
    quote = venue.exchange.instruments()[venue.symbol].quote
    assert report.fills
    for fill in report.fills:  # the taker rate on the notional (Alpaca charges none on US equities)
        assert (fill.fee_asset, fill.fee) == (quote, rate * fill.price * fill.quantity)
