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
from robson.execution.adapters.alpaca import AlpacaExchange
from robson.execution.adapters.binance import BinanceExchange
from robson.execution.adapters.memory_store import MemoryPaperStore
from robson.execution.adapters.paper import PaperExchange
from robson.execution.matching import FeeSchedule, SlippageModel
from robson.ports import DuplicateOrder, ExchangePort, InsufficientFunds, OrderRequest, UnknownOrder
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
        yield Venue(exchange, "BTC/USDT", D(30000), D("0.001"), D(1), lambda p: fake.set_price("BTCUSDT", p))


def _alpaca() -> Iterator[Venue]:
    with AlpacaFake(symbols=("AAPL",), cash=D(10000)) as fake:
        fake.set_price("AAPL", D("150.00"))
        exchange = AlpacaExchange(
            FAKE_KEY_ID, FAKE_SECRET_KEY, base_url=fake.url, symbols=("AAPL/USD",), clock=ManualClock(NOW), timeout=2
        )
        yield Venue(exchange, "AAPL/USD", D(150), D(2), D(1000), lambda p: fake.set_price("AAPL", p))


@pytest.fixture(params=["paper", "binance", "alpaca"])
def venue(request: pytest.FixtureRequest) -> Iterator[Venue]:
    yield from {"paper": _paper, "binance": _binance, "alpaca": _alpaca}[request.param]()


def test_it_lists_the_symbol_with_its_filters(venue: Venue) -> None:
    instrument = venue.exchange.instruments()[venue.symbol]
    assert instrument.tick_size > 0 and instrument.step_size > 0
    assert venue.exchange.last_price(venue.symbol) == venue.price


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
