"""Invariants of the paper account under any sequence of orders and prices (hypothesis)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from robson.domain.fills import Fill
from robson.domain.orders import OrderType
from robson.domain.values import ZERO, OrderSide
from robson.execution.adapters.memory_store import MemoryPaperStore
from robson.execution.adapters.paper import PaperExchange
from robson.ports import OcoRequest, OrderRequest, PaperStore, Rejected

D = Decimal
SYMBOL = "BTC/USDT"
TICK, STEP = D("0.01"), D("0.00001")
START = {"USDT": D("10000"), "BTC": D("1")}


def price(ticks: int) -> Decimal:
    return max(ticks * TICK, TICK)


@dataclass(frozen=True)
class Action:
    """One step of a script: an order placed relative to the last price, a cancel, or new prices."""

    kind: str
    side: OrderSide = OrderSide.BUY
    steps: int = 1  # quantity in lot steps
    first: int = 0  # ticks: a price, or an offset from the last price
    second: int = 0
    bar: tuple[int, int, int, int] = (0, 0, 0, 0)

    def run(self, exchange: PaperExchange, cid: str) -> list[Fill]:
        last = exchange.last_price(SYMBOL) or D(100)
        quantity, sign = self.steps * STEP, self.side.sign
        if self.kind == "price":
            return exchange.push_price(SYMBOL, price(self.first))
        if self.kind == "bar":
            prices = [price(n) for n in self.bar]
            return exchange.push_bar(SYMBOL, prices[0], max(prices), min(prices), prices[3])
        if self.kind == "cancel":
            resting = exchange.open_orders(SYMBOL)
            if resting:
                exchange.cancel_order(SYMBOL, resting[self.first % len(resting)].client_order_id)
            return []
        if self.kind == "oco":
            stop, target = last + sign * price(self.first), last - sign * price(self.second)
            oco = OcoRequest(cid, SYMBOL, self.side, quantity, f"{cid}-stop", stop, f"{cid}-target", target)
            return [fill for report in exchange.place_oco(oco) for fill in report.fills]
        stop = max(last + sign * price(self.first), TICK)  # on the side where it does not trigger yet
        requests: dict[str, Callable[[], OrderRequest]] = {
            "market": lambda: OrderRequest(cid, SYMBOL, self.side, OrderType.MARKET, quantity),
            "limit": lambda: OrderRequest(
                cid, SYMBOL, self.side, OrderType.LIMIT, quantity, max(last + self.first * TICK, TICK)
            ),
            "stop": lambda: OrderRequest(cid, SYMBOL, self.side, OrderType.STOP_MARKET, quantity, None, stop),
            "stop_limit": lambda: OrderRequest(
                cid, SYMBOL, self.side, OrderType.STOP_LIMIT, quantity, max(stop + self.second * TICK, TICK), stop
            ),
        }
        return list(exchange.place_order(requests[self.kind]()).fills)


ticks = st.integers(min_value=9_000, max_value=11_000)  # prices 90.00 .. 110.00
offsets = st.integers(min_value=1, max_value=500)  # up to 5.00 away from the last price
either_way = st.integers(min_value=-500, max_value=500)
steps = st.integers(min_value=1, max_value=150_000)  # 0.00001 .. 1.5 BTC
sides = st.sampled_from([OrderSide.BUY, OrderSide.SELL])
actions = st.one_of(
    st.builds(Action, kind=st.just("price"), first=ticks),
    st.builds(Action, kind=st.just("bar"), bar=st.tuples(ticks, ticks, ticks, ticks)),
    st.builds(Action, kind=st.just("market"), side=sides, steps=steps),
    st.builds(Action, kind=st.just("limit"), side=sides, steps=steps, first=either_way),
    st.builds(Action, kind=st.just("stop"), side=sides, steps=steps, first=offsets),
    st.builds(Action, kind=st.just("stop_limit"), side=sides, steps=steps, first=offsets, second=either_way),
    st.builds(Action, kind=st.just("oco"), side=sides, steps=steps, first=offsets, second=offsets),
    st.builds(Action, kind=st.just("cancel"), first=st.integers(0, 20)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=st.lists(actions, min_size=3, max_size=40), mark=ticks)
def test_balances_stay_non_negative_and_reconcile_with_the_fills(
    script: list[Action], mark: int, open_exchange: Callable[[PaperStore], PaperExchange]
) -> None:
    store = MemoryPaperStore()
    exchange = open_exchange(store)
    exchange.reset(dict(START))
    exchange.push_price(SYMBOL, D("100"))
    fills: list[Fill] = []

    for number, action in enumerate(script):
        try:
            made = action.run(exchange, f"o{number}")
        except Rejected:  # refusals (funds, filters, triggers) are part of the game
            continue
        for _ in made:
            event(f"a fill from {action.kind}")
        fills += made
        for balance in exchange.balances().values():
            assert balance.free >= 0 and balance.locked >= 0, balance

    balances = exchange.balances()
    base = START["BTC"] + sum((fill.side.sign * fill.quantity for fill in fills), ZERO)
    quote = START["USDT"] - sum((fill.side.sign * fill.notional + fill.fee for fill in fills), ZERO)
    assert balances["BTC"].total == base
    assert balances["USDT"].total == quote
    mark_price = mark * TICK
    equity = balances["USDT"].total + balances["BTC"].total * mark_price
    pnl = sum((fill.side.sign * fill.quantity * (mark_price - fill.price) - fill.fee for fill in fills), ZERO)
    assert equity == START["USDT"] + START["BTC"] * mark_price + pnl
    assert all(fill.fee_asset == "USDT" for fill in fills)
    assert len({fill.trade_id for fill in fills}) == len(fills)
    assert store.load().fills == fills

    again = open_exchange(store)
    assert again.balances() == balances
    assert again.open_orders() == exchange.open_orders()
