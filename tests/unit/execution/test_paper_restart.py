"""The paper venue's persistence: one commit per call, nothing half-written, and a restart sees the same account."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from robson.domain.orders import OrderStatus, OrderType
from robson.domain.values import OrderSide
from robson.execution.adapters.memory_store import MemoryPaperStore
from robson.execution.adapters.paper import PaperExchange
from robson.ports import Balance, InsufficientFunds, OcoRequest, OrderRequest, PaperChanges, PaperState, PaperStore

D = Decimal
ExchangeFactory = Callable[[PaperStore], PaperExchange]
BUY, SELL = OrderSide.BUY, OrderSide.SELL
SYMBOL = "BTC/USDT"


class CountingStore(MemoryPaperStore):
    def __init__(self) -> None:
        super().__init__()
        self.commits = 0
        self.fail = False

    def commit(self, changes: PaperChanges) -> None:
        if self.fail:
            raise OSError("disk full")
        self.commits += 1
        super().commit(changes)


def snapshot(exchange: PaperExchange) -> tuple[object, ...]:
    orders = {report.client_order_id: report for report in exchange.open_orders()}
    return exchange.balances(), orders, exchange.last_price(SYMBOL), exchange.last_price("ETH/USDT")


def trade_a_little(exchange: PaperExchange) -> None:
    exchange.place_order(OrderRequest("m1", SYMBOL, BUY, OrderType.MARKET, D("0.5")))
    exchange.place_order(OrderRequest("l1", SYMBOL, BUY, OrderType.LIMIT, D("0.1"), price=D("95")))
    exchange.place_oco(OcoRequest("L1", SYMBOL, SELL, D("1.2"), "L1-stop", D("90"), "L1-target", D("120")))
    exchange.push_bar(SYMBOL, D("100"), D("101"), D("94.5"), D("96"))  # fills l1 at 95


def test_every_call_writes_once(open_exchange: ExchangeFactory) -> None:
    store = CountingStore()
    exchange: PaperExchange = open_exchange(store)
    exchange.reset({"USDT": D("10000"), "BTC": D("1")})
    exchange.push_price(SYMBOL, D("100"))
    before = store.commits

    trade_a_little(exchange)
    exchange.cancel_order(SYMBOL, "L1-stop")

    assert store.commits - before == 5
    exchange.balances(), exchange.open_orders(), exchange.get_order(SYMBOL, "m1")
    assert store.commits - before == 5  # reading writes nothing


def test_a_failed_commit_changes_nothing(open_exchange: ExchangeFactory) -> None:
    store = CountingStore()
    exchange: PaperExchange = open_exchange(store)
    exchange.reset({"USDT": D("10000"), "BTC": D("1")})
    exchange.push_price(SYMBOL, D("100"))
    exchange.place_order(OrderRequest("l1", SYMBOL, BUY, OrderType.LIMIT, D("0.1"), price=D("95")))
    before = snapshot(exchange)

    store.fail = True
    with pytest.raises(OSError):
        exchange.place_order(OrderRequest("m1", SYMBOL, BUY, OrderType.MARKET, D("0.5")))
    with pytest.raises(OSError):
        exchange.push_price(SYMBOL, D("90"))

    assert snapshot(exchange) == before
    assert snapshot(open_exchange(store)) == before
    store.fail = False
    assert exchange.place_order(OrderRequest("m1", SYMBOL, BUY, OrderType.MARKET, D("0.5"))).status.value == "FILLED"


def test_a_refused_call_writes_nothing(open_exchange: ExchangeFactory) -> None:
    store = CountingStore()
    exchange: PaperExchange = open_exchange(store)
    exchange.reset({"USDT": D("10")})
    exchange.push_price(SYMBOL, D("100"))
    before = store.commits
    with pytest.raises(InsufficientFunds):
        exchange.place_order(OrderRequest("m1", SYMBOL, BUY, OrderType.MARKET, D("0.5")))
    assert store.commits == before


def test_a_restarted_exchange_sees_the_same_account(
    exchange: PaperExchange, store: MemoryPaperStore, open_exchange: ExchangeFactory
) -> None:
    trade_a_little(exchange)

    again: PaperExchange = open_exchange(store)

    assert snapshot(again) == snapshot(exchange)
    assert again.get_order(SYMBOL, "l1") == exchange.get_order(SYMBOL, "l1")
    assert again.get_order(SYMBOL, "m1").fills == exchange.get_order(SYMBOL, "m1").fills
    assert again.balances()["BTC"] == Balance("BTC", D("0.4"), D("1.2"))
    # and it carries on from there: ids keep counting, the OCO still works
    report = again.place_order(OrderRequest("m2", SYMBOL, BUY, OrderType.MARKET, D("0.1")))
    assert int(report.exchange_order_id) > int(exchange.get_order(SYMBOL, "L1-target").exchange_order_id)
    (fill,) = again.push_price(SYMBOL, D("89"))
    assert fill.client_order_id == "L1-stop"
    assert fill.trade_id not in {f.trade_id for f in again.get_order(SYMBOL, "m1").fills}
    assert again.get_order(SYMBOL, "L1-target").status is OrderStatus.CANCELED


def test_a_triggered_stop_limit_is_still_triggered_after_a_restart(
    exchange: PaperExchange, store: MemoryPaperStore, open_exchange: ExchangeFactory
) -> None:
    exchange.place_order(OrderRequest("sl", SYMBOL, SELL, OrderType.STOP_LIMIT, D("0.5"), D("94"), D("95")))
    assert exchange.push_bar(SYMBOL, D("93"), D("93.5"), D("92"), D("93")) == []  # triggered, limit not reached

    again: PaperExchange = open_exchange(store)
    (fill,) = again.push_price(SYMBOL, D("94.10"))

    assert (fill.price, fill.fee) == (D("94"), D("0.047"))  # a resting limit, hit on the way up: maker


def test_the_memory_store_hands_out_copies() -> None:
    store = MemoryPaperStore()
    store.reset({"USDT": Balance("USDT", D("5"))})
    loaded = store.load()
    loaded.balances.clear()
    loaded.prices[SYMBOL] = D("1")
    assert store.load() == PaperState(balances={"USDT": Balance("USDT", D("5"))})

    changes = PaperChanges(prices={SYMBOL: D("2")}, sequence=7)
    store.commit(changes)
    changes.prices[SYMBOL] = D("3")
    assert store.load().prices == {SYMBOL: D("2")}

    store.reset({})
    assert store.load() == PaperState(sequence=7)  # ids keep counting after a reset
