"""How an order meets the market: at market, or as a limit that caps what it may cost.

Urgent orders (a crossed stop, a position left unprotected) go at market: getting out is worth the price. The
others (entries, targets, time exits) are guarded against two costs:
- slippage: when the expected fill (the touch: the ask for a buy, the bid for a sell) is more than
  `max_slippage_bps` worse than the reference price the order was sized at, the order is refused, or sent as a
  limit at the reference moved by exactly that tolerance (a marketable limit: it takes what the book offers up
  to the cap, and no more);
- a wide spread: above `wide_spread_bps`, a limit at the touch, so that a thin book is not walked.
Without a quote (the venue gave none), the reference is the expected fill.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from robson.domain.orders import OrderType
from robson.domain.values import ONE, OrderSide, ceil_to_step, floor_to_step
from robson.ports import Quote
from robson.services.errors import Refused

BPS = Decimal(10000)


@dataclass(frozen=True, slots=True)
class ExecutionRules:
    max_slippage_bps: Decimal = Decimal("50")  # the most a guarded order's expected fill may be from its reference
    on_excess_slippage: Literal["limit", "refuse"] = "limit"  # beyond it: a capped limit, or nothing sent
    wide_spread_bps: Decimal = Decimal("20")  # above it, a guarded order goes as a limit at the touch
    fill_seconds: Decimal = Decimal("5")  # how long an entry may work; the loop then cancels its unfilled rest


@dataclass(frozen=True, slots=True)
class Route:
    type: OrderType  # MARKET or LIMIT
    limit: Decimal | None  # the limit price, for a LIMIT
    expected: Decimal  # where the order is expected to fill
    spread_bps: Decimal | None  # the spread when it was routed (None without a quote)
    why: str  # for the trader's warnings, when it is not a plain market order

    @property
    def is_market(self) -> bool:
        return self.type is OrderType.MARKET


def route(
    side: OrderSide, reference: Decimal, quote: Quote | None, tick: Decimal, rules: ExecutionRules, *, urgent: bool
) -> Route:
    """Choose market or limit for an order of `side` sized at `reference`. Raises Refused when the slippage
    exceeds the tolerance and the rules say refuse (never for an urgent order)."""
    expected = quote.touch(side) if quote is not None else reference
    spread = quote.spread_bps if quote is not None else None
    if urgent:
        return Route(OrderType.MARKET, None, expected, spread, "urgent: at market")
    adverse = _adverse_bps(side, reference, expected)
    if adverse > rules.max_slippage_bps:
        said = (
            f"the expected fill {expected} is {adverse} bps worse than the reference {reference} "
            f"(max_slippage_bps {rules.max_slippage_bps})"
        )
        if rules.on_excess_slippage == "refuse":
            raise Refused(f"{said}; nothing was sent")
        cap = _cap(side, reference, rules.max_slippage_bps, tick)
        return Route(OrderType.LIMIT, cap, expected, spread, f"{said}: sent as a limit at {cap}")
    if spread is not None and spread > rules.wide_spread_bps:
        return Route(
            OrderType.LIMIT,
            expected,
            expected,
            spread,
            f"the spread is {spread} bps (above {rules.wide_spread_bps}): sent as a limit at the touch {expected}",
        )
    return Route(OrderType.MARKET, None, expected, spread, "at market")


def _adverse_bps(side: OrderSide, reference: Decimal, expected: Decimal) -> Decimal:
    """How much worse than the reference the expected fill is, in bps (negative: better)."""
    sign = 1 if side is OrderSide.BUY else -1
    return ((expected - reference) * sign * BPS / reference).quantize(Decimal("0.01"))


def _cap(side: OrderSide, reference: Decimal, tolerance_bps: Decimal, tick: Decimal) -> Decimal:
    """The worst price within the tolerance, on the tick grid and never beyond it."""
    if side is OrderSide.BUY:
        return floor_to_step(reference * (ONE + tolerance_bps / BPS), tick)
    return ceil_to_step(reference * (ONE - tolerance_bps / BPS), tick)
