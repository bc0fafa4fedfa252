"""The paper venue's behaviour: fills, fees, slippage, refusals, locks and OCO lists."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

import pytest

from robson.domain.orders import OrderStatus, OrderType
from robson.domain.values import OrderSide
from robson.domain.venue import Capability
from robson.execution.adapters.memory_store import MemoryPaperStore
from robson.execution.adapters.paper import PaperExchange
from robson.ports import (
    Balance,
    Clock,
    DuplicateOrder,
    FeeRates,
    FilterFailure,
    InsufficientFunds,
    OcoRequest,
    OrderRequest,
    PaperStore,
    Rejected,
    UnknownOrder,
    UnknownSymbol,
    WouldTriggerImmediately,
)

D = Decimal
ExchangeFactory = Callable[[PaperStore], PaperExchange]
BUY, SELL = OrderSide.BUY, OrderSide.SELL
SYMBOL = "BTC/USDT"


def request(
    cid: str,
    side: OrderSide,
    type_: OrderType,
    quantity: str,
    price: str | None = None,
    stop: str | None = None,
    symbol: str = SYMBOL,
) -> OrderRequest:
    return OrderRequest(cid, symbol, side, type_, D(quantity), D(price) if price else None, D(stop) if stop else None)


def oco(side: OrderSide, quantity: str, stop: str, target: str, list_id: str = "L1") -> OcoRequest:
    return OcoRequest(list_id, SYMBOL, side, D(quantity), f"{list_id}-stop", D(stop), f"{list_id}-target", D(target))


def balance(exchange: PaperExchange, asset: str) -> Balance:
    return exchange.balances()[asset]


# ---- fills, fees and slippage ---------------------------------------------------------------------


def test_market_buy_fills_with_slippage_and_the_taker_fee_in_quote(exchange: PaperExchange) -> None:
    report = exchange.place_order(request("m1", BUY, OrderType.MARKET, "0.5"))

    assert report.status is OrderStatus.FILLED
    assert report.filled_quantity == D("0.5")
    (fill,) = report.fills
    assert fill.price == D("100.05")  # 100 x 1.0005
    assert fill.fee == D("0.10005")  # 100.05 x 0.5 x 0.002, exact
    assert fill.fee_asset == "USDT"
    assert balance(exchange, "USDT") == Balance("USDT", D("10000") - D("50.025") - D("0.10005"))
    assert balance(exchange, "BTC") == Balance("BTC", D("1.5"))


def test_market_sell_slips_down_and_pays_the_fee_from_the_proceeds(exchange: PaperExchange) -> None:
    (fill,) = exchange.place_order(request("m1", SELL, OrderType.MARKET, "0.3")).fills

    assert fill.price == D("99.95")
    assert fill.fee == D("0.05997")  # 99.95 x 0.3 x 0.002
    assert balance(exchange, "USDT").free == D("10000") + D("29.985") - D("0.05997")
    assert balance(exchange, "BTC").free == D("0.7")


def test_resting_limit_buy_fills_at_its_price_as_maker_when_the_price_moves_through(
    exchange: PaperExchange, clock: Clock
) -> None:
    exchange.place_order(request("l1", BUY, OrderType.LIMIT, "0.2", price="99.00"))
    assert exchange.push_price(SYMBOL, D("99.50")) == []

    (fill,) = exchange.push_price(SYMBOL, D("98.70"))

    assert (fill.client_order_id, fill.price, fill.quantity) == ("l1", D("99.00"), D("0.2"))
    assert fill.fee == D("0.0198")  # 99 x 0.2 x 0.001 (maker)
    assert fill.time == clock.now()
    assert balance(exchange, "USDT") == Balance("USDT", D("10000") - D("19.8") - D("0.0198"))
    assert balance(exchange, "BTC") == Balance("BTC", D("1.2"))
    assert exchange.get_order(SYMBOL, "l1").status is OrderStatus.FILLED
    assert exchange.last_price(SYMBOL) == D("98.70")


def test_resting_limit_sell_fills_inside_a_bar_as_maker(exchange: PaperExchange) -> None:
    exchange.place_order(request("l1", SELL, OrderType.LIMIT, "0.5", price="104.00"))

    (fill,) = exchange.push_bar(SYMBOL, D("100.00"), D("104.50"), D("99.00"), D("103.00"))

    assert (fill.price, fill.fee) == (D("104.00"), D("0.052"))  # 104 x 0.5 x 0.001
    assert balance(exchange, "USDT") == Balance("USDT", D("10000") + D("52") - D("0.052"))
    assert balance(exchange, "BTC") == Balance("BTC", D("0.5"))
    assert exchange.last_price(SYMBOL) == D("103.00")


def test_marketable_limit_fills_at_once_at_the_last_price_as_taker(exchange: PaperExchange) -> None:
    report = exchange.place_order(request("l1", BUY, OrderType.LIMIT, "0.1", price="101.00"))

    assert report.status is OrderStatus.FILLED
    assert (report.fills[0].price, report.fills[0].fee) == (D("100.00"), D("0.02"))


def test_a_limit_placed_before_any_price_rests_and_fills_on_the_first_tick(
    store: MemoryPaperStore, open_exchange: ExchangeFactory
) -> None:
    venue: PaperExchange = open_exchange(store)
    venue.reset({"USDT": D("1000")})
    report = venue.place_order(request("l1", BUY, OrderType.LIMIT, "1", price="100"))
    assert report.status is OrderStatus.NEW

    (fill,) = venue.push_price(SYMBOL, D("99"))
    assert (fill.price, fill.fee) == (D("99"), D("0.198"))  # the book was crossed from the start: taker


# ---- refusals ----------------------------------------------------------------------------------


def test_insufficient_quote_for_a_buy(exchange: PaperExchange) -> None:
    with pytest.raises(
        InsufficientFunds, match=re.escape("Account has insufficient balance for requested action.")
    ) as error:
        exchange.place_order(request("m1", BUY, OrderType.MARKET, "100"))
    assert error.value.kind == "INSUFFICIENT_BALANCE"
    assert exchange.open_orders() == []
    assert balance(exchange, "USDT") == Balance("USDT", D("10000"))


def test_insufficient_base_for_a_sell(exchange: PaperExchange) -> None:
    with pytest.raises(InsufficientFunds):
        exchange.place_order(request("l1", SELL, OrderType.LIMIT, "1.00001", price="120"))


def test_the_buy_check_includes_the_taker_fee(exchange: PaperExchange) -> None:
    exchange.reset({"USDT": D("100")})
    exchange.push_price(SYMBOL, D("100"))
    with pytest.raises(InsufficientFunds):
        exchange.place_order(request("l1", BUY, OrderType.LIMIT, "1", price="100"))  # needs 100.2
    exchange.place_order(request("l2", BUY, OrderType.LIMIT, "0.99", price="100"))


@pytest.mark.parametrize(
    ("order", "failure"),
    [
        (request("x", BUY, OrderType.LIMIT, "0.000015", price="100"), "LOT_SIZE"),
        (request("x", BUY, OrderType.LIMIT, "0.1", price="100.001"), "PRICE_FILTER"),
        (request("x", BUY, OrderType.LIMIT, "0.04", price="100"), "NOTIONAL"),
        (request("x", SELL, OrderType.STOP_MARKET, "0.1", stop="90.005"), "PRICE_FILTER"),
        (request("x", BUY, OrderType.MARKET, "0.04"), "NOTIONAL"),
        (request("x", BUY, OrderType.MARKET, "0"), "LOT_SIZE"),
    ],
)
def test_filter_failures(exchange: PaperExchange, order: OrderRequest, failure: str) -> None:
    with pytest.raises(FilterFailure, match=f"Filter failure: {failure}") as error:
        exchange.place_order(order)
    assert error.value.kind == "FILTER_FAILURE"


@pytest.mark.parametrize(
    "order",
    [
        request("x", SELL, OrderType.STOP_MARKET, "0.1", stop="100"),
        request("x", SELL, OrderType.STOP_LIMIT, "0.1", price="100", stop="101"),
        request("x", BUY, OrderType.STOP_MARKET, "0.1", stop="99"),
        request("x", SELL, OrderType.TAKE_PROFIT_LIMIT, "0.1", price="99", stop="99"),
        request("x", BUY, OrderType.TAKE_PROFIT_LIMIT, "0.1", price="100", stop="100"),
    ],
)
def test_stops_already_crossed_would_trigger_immediately(exchange: PaperExchange, order: OrderRequest) -> None:
    with pytest.raises(WouldTriggerImmediately, match=re.escape("Order would trigger immediately.")) as error:
        exchange.place_order(order)
    assert error.value.kind == "WOULD_TRIGGER_IMMEDIATELY"


def test_a_client_order_id_cannot_be_reused(exchange: PaperExchange) -> None:
    exchange.place_order(request("same", BUY, OrderType.MARKET, "0.1"))
    with pytest.raises(DuplicateOrder, match=re.escape("Duplicate order sent.")) as error:
        exchange.place_order(request("same", SELL, OrderType.MARKET, "0.1"))
    assert error.value.kind == "DUPLICATE_ORDER"
    with pytest.raises(DuplicateOrder):
        exchange.place_oco(OcoRequest("L", SYMBOL, SELL, D("0.1"), "same", D("90"), "other", D("110")))


def test_a_market_order_needs_a_price(exchange: PaperExchange) -> None:
    with pytest.raises(Rejected, match="no market price for ETH/USDT yet"):
        exchange.place_order(request("m1", BUY, OrderType.MARKET, "1", symbol="ETH/USDT"))


def test_unknown_symbol(exchange: PaperExchange) -> None:
    with pytest.raises(UnknownSymbol) as error:
        exchange.place_order(request("m1", BUY, OrderType.MARKET, "1", symbol="DOGE/USDT"))
    assert error.value.kind == "UNKNOWN_SYMBOL"
    with pytest.raises(UnknownSymbol):
        exchange.push_price("DOGE/USDT", D("1"))


@pytest.mark.parametrize(
    "order",
    [
        request("x", BUY, OrderType.MARKET, "0.1", price="100"),
        request("x", BUY, OrderType.LIMIT, "0.1"),
        request("x", SELL, OrderType.STOP_MARKET, "0.1"),
    ],
)
def test_malformed_requests_are_rejected(exchange: PaperExchange, order: OrderRequest) -> None:
    with pytest.raises(Rejected):
        exchange.place_order(order)


# ---- locks ---------------------------------------------------------------------------------------


def test_a_resting_buy_locks_its_cost_with_the_taker_fee_and_cancel_releases_it(exchange: PaperExchange) -> None:
    exchange.place_order(request("l1", BUY, OrderType.LIMIT, "0.5", price="90"))
    assert balance(exchange, "USDT") == Balance("USDT", D("10000") - D("45.09"), D("45.09"))  # 90 x 0.5 x 1.002

    report = exchange.cancel_order(SYMBOL, "l1")

    assert report.status is OrderStatus.CANCELED
    assert balance(exchange, "USDT") == Balance("USDT", D("10000"))
    assert exchange.open_orders() == []


def test_a_resting_sell_locks_base_and_releases_it_on_fill(exchange: PaperExchange) -> None:
    exchange.place_order(request("l1", SELL, OrderType.LIMIT, "0.4", price="110"))
    assert balance(exchange, "BTC") == Balance("BTC", D("0.6"), D("0.4"))
    with pytest.raises(InsufficientFunds):
        exchange.place_order(request("l2", SELL, OrderType.MARKET, "0.7"))

    exchange.push_price(SYMBOL, D("110"))

    assert balance(exchange, "BTC") == Balance("BTC", D("0.6"))


def test_a_buy_stop_that_gaps_beyond_what_the_account_can_pay_expires(exchange: PaperExchange) -> None:
    exchange.reset({"USDT": D("1000")})
    exchange.push_price(SYMBOL, D("100"))
    exchange.place_order(request("s1", BUY, OrderType.STOP_MARKET, "9", stop="105"))
    assert balance(exchange, "USDT").locked == D("105.06") * 9 * D("1.002")

    assert exchange.push_price(SYMBOL, D("120")) == []

    assert exchange.get_order(SYMBOL, "s1").status is OrderStatus.EXPIRED
    assert exchange.balances()["USDT"] == Balance("USDT", D("1000"))


# ---- OCO lists -----------------------------------------------------------------------------------


def test_an_oco_locks_the_base_once_and_the_stop_fill_cancels_the_target(exchange: PaperExchange) -> None:
    stop, target = exchange.place_oco(oco(SELL, "0.8", stop="95", target="110"))
    assert (stop.type, stop.stop_price, stop.list_id) == (OrderType.STOP_MARKET, D("95"), "L1")
    assert (target.type, target.price, target.stop_price) == (OrderType.TAKE_PROFIT_LIMIT, D("110"), D("110"))
    assert balance(exchange, "BTC") == Balance("BTC", D("0.2"), D("0.8"))

    (fill,) = exchange.push_bar(SYMBOL, D("100"), D("111"), D("94"), D("100"))  # touches both: the stop wins

    assert (fill.client_order_id, fill.price, fill.fee) == ("L1-stop", D("94.95"), D("0.151920"))
    assert exchange.get_order(SYMBOL, "L1-stop").status is OrderStatus.FILLED
    assert exchange.get_order(SYMBOL, "L1-target").status is OrderStatus.CANCELED
    assert balance(exchange, "BTC") == Balance("BTC", D("0.2"))
    assert balance(exchange, "USDT") == Balance("USDT", D("10000") + D("75.96") - D("0.15192"))
    assert exchange.open_orders() == []


def test_the_target_fill_cancels_the_stop(exchange: PaperExchange) -> None:
    exchange.place_oco(oco(SELL, "0.8", stop="95", target="110"))

    (fill,) = exchange.push_price(SYMBOL, D("110.50"))

    assert (fill.client_order_id, fill.price) == ("L1-target", D("110.50"))  # a tick over the trigger: taker
    assert fill.fee == D("110.50") * D("0.8") * D("0.002")
    assert exchange.get_order(SYMBOL, "L1-stop").status is OrderStatus.CANCELED
    assert balance(exchange, "BTC") == Balance("BTC", D("0.2"))


def test_cancelling_one_leg_cancels_the_list_and_releases_the_lock(exchange: PaperExchange) -> None:
    exchange.place_oco(oco(SELL, "0.8", stop="95", target="110"))

    report = exchange.cancel_order(SYMBOL, "L1-target")

    assert report.status is OrderStatus.CANCELED
    assert exchange.get_order(SYMBOL, "L1-stop").status is OrderStatus.CANCELED
    assert balance(exchange, "BTC") == Balance("BTC", D("1"))


def test_a_buy_oco_locks_quote_once(exchange: PaperExchange) -> None:
    exchange.place_oco(oco(BUY, "1", stop="105", target="90"))
    # the larger leg: the stop, 105 with slippage (105.06) x 1 x 1.002
    assert balance(exchange, "USDT").locked == D("105.06") * D("1.002")


@pytest.mark.parametrize(
    ("side", "stop", "target"),
    [(SELL, "101", "110"), (SELL, "95", "99"), (SELL, "110", "95"), (BUY, "99", "90"), (BUY, "105", "101")],
)
def test_oco_prices_must_straddle_the_market(exchange: PaperExchange, side: OrderSide, stop: str, target: str) -> None:
    with pytest.raises(Rejected, match=re.escape("The relationship of the prices for the orders is not correct.")):
        exchange.place_oco(oco(side, "0.1", stop=stop, target=target))


def test_an_oco_needs_the_base_it_would_sell(exchange: PaperExchange) -> None:
    with pytest.raises(InsufficientFunds):
        exchange.place_oco(oco(SELL, "1.5", stop="95", target="110"))
    assert exchange.open_orders() == []


# ---- queries -------------------------------------------------------------------------------------


def test_unknown_orders(exchange: PaperExchange) -> None:
    with pytest.raises(UnknownOrder, match=re.escape("Order does not exist.")):
        exchange.get_order(SYMBOL, "nope")
    with pytest.raises(UnknownOrder, match=re.escape("Unknown order sent.")):
        exchange.cancel_order(SYMBOL, "nope")
    exchange.place_order(request("m1", BUY, OrderType.MARKET, "0.1"))
    with pytest.raises(UnknownOrder, match=re.escape("Unknown order sent.")):
        exchange.cancel_order(SYMBOL, "m1")  # already filled
    with pytest.raises(UnknownOrder):
        exchange.get_order("ETH/USDT", "m1")  # another symbol


def test_open_orders_by_symbol_and_the_rest(exchange: PaperExchange) -> None:
    exchange.push_price("ETH/USDT", D("10"))
    exchange.place_order(request("b1", BUY, OrderType.LIMIT, "0.1", price="90"))
    exchange.place_order(request("e1", BUY, OrderType.LIMIT, "1", price="9", symbol="ETH/USDT"))

    assert [r.client_order_id for r in exchange.open_orders()] == ["b1", "e1"]
    assert [r.client_order_id for r in exchange.open_orders("ETH/USDT")] == ["e1"]
    assert exchange.fee_rates(SYMBOL) == FeeRates(D("0.001"), D("0.002"))
    assert set(exchange.instruments()) == {"BTC/USDT", "ETH/USDT"}
    assert exchange.name == "paper" and Capability.SHORT not in exchange.capabilities


def test_ids_are_unique_and_increasing(exchange: PaperExchange) -> None:
    first = exchange.place_order(request("m1", BUY, OrderType.MARKET, "0.1"))
    second = exchange.place_order(request("m2", BUY, OrderType.MARKET, "0.1"))
    ids = [first.exchange_order_id, first.fills[0].trade_id, second.exchange_order_id, second.fills[0].trade_id]
    assert len(set(ids)) == 4
    assert int(second.exchange_order_id) > int(first.exchange_order_id)


def test_reset_wipes_orders_fills_and_prices_but_ids_keep_counting(exchange: PaperExchange) -> None:
    first = exchange.place_order(request("m1", BUY, OrderType.MARKET, "0.1"))
    exchange.place_order(request("l1", BUY, OrderType.LIMIT, "0.1", price="90"))

    exchange.reset({"USDT": D("500")})

    assert exchange.balances() == {"USDT": Balance("USDT", D("500"))}
    assert exchange.open_orders() == []
    assert exchange.last_price(SYMBOL) is None
    with pytest.raises(UnknownOrder):
        exchange.get_order(SYMBOL, "m1")
    exchange.push_price(SYMBOL, D("100"))
    again = exchange.place_order(request("m1", BUY, OrderType.MARKET, "0.1"))
    assert again.fills[0].trade_id != first.fills[0].trade_id
    assert int(again.exchange_order_id) > int(first.exchange_order_id)
