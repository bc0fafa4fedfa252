"""SqlPaperStore: what one paper call changed is written at once, read back whole, and reset cleanly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy.exc import IntegrityError

from robson.domain.fills import Fill
from robson.domain.orders import Order, OrderStatus, OrderType
from robson.domain.values import OrderSide
from robson.persistence.database import Sessions
from robson.persistence.paper_store import SqlPaperStore
from robson.ports import Balance, PaperChanges, PaperState, PaperStore

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def limit_buy(cid: str = "p-1") -> Order:
    return Order(
        cid,
        "BTC/USDT",
        OrderSide.BUY,
        OrderType.LIMIT,
        D("0.00555"),
        T0,
        price=D("89000.10"),
        status=OrderStatus.NEW,
        exchange_order_id="paper-1",
    )


def fill(trade_id: str, quantity: str = "0.002") -> Fill:
    return Fill(
        trade_id,
        "p-1",
        "BTC/USDT",
        OrderSide.BUY,
        D("89000.10"),
        D(quantity),
        D("0.000002"),
        "BTC",
        T0 + timedelta(seconds=1),
    )


def test_an_empty_store_loads_an_empty_account(sessions: Sessions) -> None:
    store: PaperStore = SqlPaperStore(sessions)
    assert store.load() == PaperState()


def test_commit_then_load_gives_back_every_change(sessions: Sessions) -> None:
    store = SqlPaperStore(sessions)
    store.reset({"USDT": Balance("USDT", D("10000"))})
    order = limit_buy()
    store.commit(
        PaperChanges(
            balances={"USDT": Balance("USDT", D("9506.050000"), D("493.950"))},
            orders={order.client_order_id: order},
            prices={"BTC/USDT": D("89000.10")},
            sequence=1,
        )
    )
    order.record_fill(D("0.002"), T0 + timedelta(seconds=1))
    order.record_fill(D("0.001"), T0 + timedelta(seconds=2))
    store.commit(
        PaperChanges(
            balances={"BTC": Balance("BTC", D("0.002998"))},
            orders={order.client_order_id: order},
            fills=[fill("paper-t1"), fill("paper-t2", "0.001")],
            prices={"BTC/USDT": D("88999.5"), "ETH/USDT": D("3000.25")},
            sequence=3,
        )
    )
    state = store.load()
    assert state.balances == {
        "USDT": Balance("USDT", D("9506.050000"), D("493.950")),
        "BTC": Balance("BTC", D("0.002998"), D("0")),
    }
    assert str(state.balances["USDT"].free) == "9506.050000"
    assert state.orders == {"p-1": order}
    assert state.orders["p-1"].role is None and state.orders["p-1"].status is OrderStatus.PARTIALLY_FILLED
    assert state.fills == [fill("paper-t1"), fill("paper-t2", "0.001")]
    assert state.prices == {"BTC/USDT": D("88999.5"), "ETH/USDT": D("3000.25")}
    assert state.sequence == 3


def test_fills_keep_their_order_and_a_repeated_trade_is_stored_once(sessions: Sessions) -> None:
    store = SqlPaperStore(sessions)
    store.commit(PaperChanges(fills=[fill("z"), fill("a")]))
    store.commit(PaperChanges(fills=[fill("a"), fill("m")], sequence=None))
    state = store.load()
    assert [f.trade_id for f in state.fills] == ["z", "a", "m"]
    assert state.sequence == 0  # no change given: still the default


def test_a_failing_commit_writes_nothing(sessions: Sessions) -> None:
    store = SqlPaperStore(sessions)
    broken = Order("p-2", "BTC/USDT", OrderSide.BUY, OrderType.MARKET, D("1"), T0)
    broken.symbol = None  # type: ignore[assignment]  # breaks NOT NULL after the balance was written
    with pytest.raises(IntegrityError):
        store.commit(PaperChanges(balances={"USDT": Balance("USDT", D("1"))}, orders={"p-2": broken}, sequence=7))
    assert store.load() == PaperState()


def test_reset_clears_everything_but_the_id_sequence(sessions: Sessions) -> None:
    store = SqlPaperStore(sessions)
    order = limit_buy()
    store.commit(
        PaperChanges(
            balances={"BTC": Balance("BTC", D("1"))},
            orders={"p-1": order},
            fills=[fill("t1")],
            prices={"BTC/USDT": D("1")},
            sequence=9,
        )
    )
    store.reset({"USDT": Balance("USDT", D("500.00")), "BRL": Balance("BRL", D("0"))})
    assert store.load() == PaperState(
        balances={"USDT": Balance("USDT", D("500.00")), "BRL": Balance("BRL", D("0"))}, sequence=9
    )  # ids keep counting up across resets, so a trade id never means two different fills
    store.commit(PaperChanges(fills=[fill("t1")]))  # the trade ids are free again
    assert [f.trade_id for f in store.load().fills] == ["t1"]
