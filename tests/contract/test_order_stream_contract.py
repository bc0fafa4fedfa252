"""The contract every OrderStream keeps (robson.ports.OrderStream): what a venue pushes about the account's own orders.
Binance's user-data stream (through ccxt.pro, against the fake Binance on loopback) is the one that pushes today; a
venue that gains a stream joins the parameters."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest

from robson.domain.orders import OrderStatus, OrderType
from robson.domain.values import OrderSide
from robson.execution.adapters.binance import BinanceExchange
from robson.ports import ExchangePort, OrderReport, OrderRequest, OrderStream
from tests.fakes.binance_server import BinanceFake

D = Decimal


@dataclass
class Pushing:
    exchange: ExchangePort
    stream: OrderStream
    symbol: str
    price: Decimal  # the market now
    quantity: Decimal  # one the account can afford, on the venue's grid
    set_price: Callable[[Decimal], None]


def _binance() -> Iterator[Pushing]:
    with BinanceFake(balances={"USDT": "10000"}, prices={"BTCUSDT": "30000"}) as fake:
        exchange = BinanceExchange("key", "secret", base_url=fake.url, ws_url=fake.ws_url, timeout_ms=2000)
        stream = exchange.order_stream(backoff=(0.05,))
        try:
            yield Pushing(
                exchange, stream, "BTC/USDT", D(30000), D("0.001"), lambda p: fake.set_price("BTCUSDT", p) and None
            )
        finally:
            stream.close()


@pytest.fixture(params=["binance"])
def venue(request: pytest.FixtureRequest) -> Iterator[Pushing]:
    for pushing in {"binance": _binance}[request.param]():
        _until(pushing.stream.healthy)
        yield pushing


def _until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        time.sleep(0.01)


def _collected(stream: OrderStream, done: Callable[[list[OrderReport]], bool]) -> list[OrderReport]:
    reports: list[OrderReport] = []
    _until(lambda: bool(reports.extend(stream.updates())) or done(reports))
    return reports


def _filled(cid: str) -> Callable[[list[OrderReport]], bool]:
    return lambda reports: any((r.client_order_id, r.status) == (cid, OrderStatus.FILLED) for r in reports)


def test_updates_never_wait(venue: Pushing) -> None:
    started = time.monotonic()
    assert venue.stream.updates() == []  # nothing happened: nothing to hand out, and no waiting for it
    assert time.monotonic() - started < 0.5


def test_each_report_is_handed_out_once_oldest_first(venue: Pushing) -> None:
    for cid in ("o1", "o2", "o3"):
        venue.exchange.place_order(OrderRequest(cid, venue.symbol, OrderSide.BUY, OrderType.MARKET, venue.quantity))

    reports = _collected(venue.stream, _filled("o3"))

    assert [(r.client_order_id, r.status) for r in reports if r.status is OrderStatus.FILLED] == [
        ("o1", OrderStatus.FILLED), ("o2", OrderStatus.FILLED), ("o3", OrderStatus.FILLED),
    ]  # fmt: skip
    firsts = [next(i for i, r in enumerate(reports) if r.client_order_id == cid) for cid in ("o1", "o2", "o3")]
    assert firsts == sorted(firsts)
    assert venue.stream.updates() == []


def test_fills_carry_their_trade_ids_and_add_up_to_the_filled_quantity(venue: Pushing) -> None:
    below = (venue.price * D("0.98")).quantize(D("0.01"))
    request = OrderRequest("r1", venue.symbol, OrderSide.BUY, OrderType.LIMIT, venue.quantity, below)
    venue.exchange.place_order(request)
    venue.set_price(below - 1)

    reports = [r for r in _collected(venue.stream, _filled("r1")) if r.client_order_id == "r1"]

    fills = [fill for report in reports for fill in report.fills]
    assert fills and len({fill.trade_id for fill in fills}) == len(fills)
    assert sum(fill.quantity for fill in fills) == reports[-1].filled_quantity == venue.quantity
    assert all((f.client_order_id, f.symbol, f.side) == ("r1", venue.symbol, OrderSide.BUY) for f in fills)
    assert all(isinstance(f.price, Decimal) and f.price <= below for f in fills)  # a buy limit never pays more
    cumulative = [r.filled_quantity for r in reports]
    assert cumulative == sorted(cumulative)


def test_once_closed_it_is_not_healthy(venue: Pushing) -> None:
    venue.stream.close()
    assert not venue.stream.healthy()
    venue.stream.close()
