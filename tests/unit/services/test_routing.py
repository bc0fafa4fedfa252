"""Routing: urgent orders at market; guarded ones capped against slippage, and limited at the touch on a wide
spread."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from robson.domain.orders import OrderType
from robson.domain.values import OrderSide
from robson.ports import Quote
from robson.services.errors import Refused
from robson.services.routing import ExecutionRules, route

BUY, SELL = OrderSide.BUY, OrderSide.SELL
TICK = D("0.01")
RULES = ExecutionRules(max_slippage_bps=D(50), wide_spread_bps=D(20))


@pytest.mark.parametrize(
    ("case", "side", "quote", "rules", "urgent", "expected"),
    [
        ("no quote: market at the reference", BUY, None, RULES, False, (OrderType.MARKET, None, D(100), None)),
        ("tight book", BUY, Quote(D("99.99"), D("100.01")), RULES, False, (OrderType.MARKET, None, D("100.01"), D(2))),
        (
            "buy: the ask 1% away is capped at +50 bps",
            BUY,
            Quote(D("100.99"), D("101.00")),
            RULES,
            False,
            (OrderType.LIMIT, D("100.50"), D("101.00"), D("0.99")),
        ),
        (
            "sell: the bid 1% away is capped at -50 bps",
            SELL,
            Quote(D("99.00"), D("99.01")),
            RULES,
            False,
            (OrderType.LIMIT, D("99.50"), D("99.00"), D("1.01")),
        ),
        (
            "a cap off the grid rounds inside the tolerance",
            BUY,
            Quote(D("100.99"), D("101.00")),
            ExecutionRules(max_slippage_bps=D("33.333")),
            False,
            (OrderType.LIMIT, D("100.33"), D("101.00"), D("0.99")),
        ),
        (
            "a better fill than the reference is never limited",
            BUY,
            Quote(D("98.00"), D("98.10")),
            RULES,
            False,
            (OrderType.MARKET, None, D("98.10"), D("10.20")),
        ),
        (
            "wide spread: a limit at the touch",
            BUY,
            Quote(D("99.70"), D("100.10")),
            RULES,
            False,
            (OrderType.LIMIT, D("100.10"), D("100.10"), D("40.04")),
        ),
        (
            "wide spread, sell: a limit at the bid",
            SELL,
            Quote(D("99.90"), D("100.30")),
            RULES,
            False,
            (OrderType.LIMIT, D("99.90"), D("99.90"), D("39.96")),
        ),
        (
            "urgent: at market whatever the book",
            SELL,
            Quote(D("90.00"), D("100.30")),
            ExecutionRules(on_excess_slippage="refuse"),
            True,
            (OrderType.MARKET, None, D("90.00"), D("1082.50")),
        ),
    ],
)
def test_route(
    case: str,
    side: OrderSide,
    quote: Quote | None,
    rules: ExecutionRules,
    urgent: bool,
    expected: tuple[OrderType, D | None, D, D | None],
) -> None:
    chosen = route(side, D(100), quote, TICK, rules, urgent=urgent)
    assert (chosen.type, chosen.limit, chosen.expected, chosen.spread_bps) == expected, case


def test_excess_slippage_is_refused_with_the_figures_when_the_rules_say_so() -> None:
    rules = ExecutionRules(max_slippage_bps=D(50), on_excess_slippage="refuse")
    with pytest.raises(
        Refused, match=r"expected fill 101\.00 is 100\.00 bps worse than the reference 100 .*nothing was sent"
    ):
        route(BUY, D(100), Quote(D("100.99"), D("101.00")), TICK, rules, urgent=False)


def test_within_the_tolerance_nothing_is_refused() -> None:
    rules = ExecutionRules(max_slippage_bps=D(50), on_excess_slippage="refuse")
    chosen = route(BUY, D(100), Quote(D("100.40"), D("100.50")), TICK, rules, urgent=False)
    assert chosen.type is OrderType.MARKET
