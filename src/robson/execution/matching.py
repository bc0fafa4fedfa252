"""The one fill simulator: how resting orders fill against a bar of prices. Paper trading and the backtest share it.

Pure functions over Decimal: no I/O, no clock. The rules, for a bar (open, high, low, close) and the last price
seen before it (`previous_price`):

- MARKET: fills at the open with slippage (taker). A market order only rests here in a backtest, between the bar
  where it was decided and the next one.
- LIMIT buy at L: if the open is at or below L the book crossed at the open and the order fills at the open
  (taker), unless the price was above L before the bar, in which case the price moved through the resting order,
  which was hit first, at L (maker). Otherwise, if the low reaches L, it fills at L (maker). Sell mirrored.
- STOP_MARKET sell at S: if the open is at or below S it fills at the open with slippage (a gap fills at the
  gapped price); otherwise, if the low reaches S, at S with slippage (taker). Buy mirrored with the high.
- STOP_LIMIT (stop S, limit L): triggers like a stop, then it is a limit at L. Where it triggered (the open on
  a gap, S otherwise) a limit it can already take fills like a stop-market capped at L (taker). Otherwise it
  fills at L (maker) only when the rest of the bar surely reaches L after the trigger (on a gap the whole bar
  comes after it); if not, it stays open as a triggered limit, reported in `BarMatch.triggered`, and the caller
  passes it back in `triggered` with the next bar, where it is matched as a plain LIMIT.
- TAKE_PROFIT_LIMIT sell (trigger T, limit L): triggers when the open or the high reaches T. On a gap (open >= T)
  it fills at the open when the open is at or above L (taker); otherwise, and after an in-bar trigger, at L
  (maker) when the bar reaches L after the trigger; if not, it stays open triggered. Buy mirrored.
- Stops are processed before the other orders. Orders sharing a list_id (OCO) fill one leg only: when the bar
  touches both, the STOP wins (conservative) unless the other leg filled at the open itself, which is known to
  come first.
- Full fills only: an order that fills, fills its whole remaining quantity. Partial fills are not simulated.
- Slippage applies to market and stop orders only and rounds to the tick against the trader (buys up, sells down).
- A fee is price x quantity x rate, exact (no rounding). The paper venue charges it in the quote asset.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from robson.domain.bars import Bar as Bar  # the bar and its path are the domain's (re-exported)
from robson.domain.errors import InvalidValue
from robson.domain.instrument import Instrument
from robson.domain.orders import Order, OrderType
from robson.domain.values import ONE, OrderSide

STOP_TYPES = frozenset({OrderType.STOP_MARKET, OrderType.STOP_LIMIT})
TRIGGERED_LIMIT_TYPES = frozenset({OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT})


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


def _rate(value: Decimal, name: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0 or value >= 1:
        raise InvalidValue(f"{name} must be a Decimal in [0, 1), got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class SlippageModel:
    """Market and stop-market fills move by `rate` against the trader."""

    rate: Decimal

    def __post_init__(self) -> None:
        _rate(self.rate, "slippage rate")


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    maker: Decimal
    taker: Decimal

    def __post_init__(self) -> None:
        _rate(self.maker, "maker fee")
        _rate(self.taker, "taker fee")

    def rate(self, liquidity: Liquidity) -> Decimal:
        return self.maker if liquidity is Liquidity.MAKER else self.taker

    def fee(self, price: Decimal, quantity: Decimal, liquidity: Liquidity) -> Decimal:
        """price x quantity x rate, exact; in the quote asset."""
        return price * quantity * self.rate(liquidity)


@dataclass(frozen=True, slots=True)
class Execution:
    client_order_id: str
    price: Decimal
    quantity: Decimal
    liquidity: Liquidity
    fee: Decimal  # in the quote asset

    @property
    def notional(self) -> Decimal:
        return self.price * self.quantity


@dataclass(frozen=True, slots=True)
class BarMatch:
    executions: tuple[Execution, ...]
    triggered: frozenset[str]  # stop-limit and take-profit-limit orders triggered and still open


def market_fill_price(side: OrderSide, reference: Decimal, slippage: SlippageModel, instrument: Instrument) -> Decimal:
    """The reference moved by the slippage against the trader, rounded to the tick against the trader."""
    if side is OrderSide.BUY:
        return instrument.ceil_price(reference * (ONE + slippage.rate))
    return max(instrument.floor_price(reference * (ONE - slippage.rate)), instrument.tick_size)


def triggers_on_fall(order: Order) -> bool:
    """Whether the order's trigger fires when the price falls to it (a sell stop, a buy take-profit)."""
    if order.type in STOP_TYPES:
        return order.side is OrderSide.SELL
    return order.side is OrderSide.BUY


def is_triggered_by(order: Order, price: Decimal) -> bool:
    """Whether a trade at `price` fires the order's trigger (always False for an order without one)."""
    if not order.type.needs_trigger or order.stop_price is None:
        return False
    return _reached(price, order.stop_price, triggers_on_fall(order))


def match_bar(
    orders: Sequence[Order],
    bar: Bar,
    previous_price: Decimal | None,
    instrument: Instrument,
    slippage: SlippageModel,
    fees: FeeSchedule,
    triggered: Set[str] = frozenset(),
) -> BarMatch:
    """Which of the open `orders` (all of `instrument`) fill in `bar`, at what price and with which liquidity.

    `triggered` names the stop-limit and take-profit-limit orders that triggered in an earlier bar without filling.
    """
    candidates: list[_Candidate] = []
    fired: list[Order] = []
    for order in sorted(orders, key=lambda order: order.type not in STOP_TYPES):
        if order.symbol != instrument.symbol:
            raise InvalidValue(f"order {order.client_order_id} is for {order.symbol}, not {instrument.symbol}")
        if not order.status.is_open:
            continue
        candidate, was_triggered = _match(order, bar, previous_price, instrument, slippage, triggered)
        if candidate is not None:
            candidates.append(candidate)
        elif was_triggered:
            fired.append(order)
    winners = _one_leg_per_list(candidates)
    done_lists = {c.order.list_id for c in winners if c.order.list_id is not None}
    executions = tuple(
        Execution(
            c.order.client_order_id,
            c.price,
            c.order.remaining,
            c.liquidity,
            fees.fee(c.price, c.order.remaining, c.liquidity),
        )
        for c in winners
    )
    still_triggered = frozenset(order.client_order_id for order in fired if order.list_id not in done_lists)
    return BarMatch(executions, still_triggered)


# ---- the rules ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Candidate:
    order: Order
    price: Decimal
    liquidity: Liquidity
    at_open: bool  # the fill happened at the open (or before it), so it surely came first in the bar


def _reached(price: Decimal, level: Decimal, falling: bool) -> bool:
    return price <= level if falling else price >= level


def _extreme(bar: Bar, falling: bool) -> Decimal:
    return bar.low if falling else bar.high


def _capped(side: OrderSide, price: Decimal, limit: Decimal) -> Decimal:
    """A price no worse for the trader than the limit."""
    return min(price, limit) if side is OrderSide.BUY else max(price, limit)


def _match(
    order: Order,
    bar: Bar,
    previous: Decimal | None,
    instrument: Instrument,
    slippage: SlippageModel,
    triggered: Set[str],
) -> tuple[_Candidate | None, bool]:
    """The order's fill in this bar, if any, and whether it is a triggered limit (now or before)."""
    if order.type is OrderType.MARKET:
        price = market_fill_price(order.side, bar.open, slippage, instrument)
        return _Candidate(order, price, Liquidity.TAKER, True), False
    if order.type is OrderType.LIMIT:
        return _as_limit(order, bar, previous), False
    if order.type in TRIGGERED_LIMIT_TYPES and order.client_order_id in triggered:
        return _as_limit(order, bar, previous), True
    return _on_trigger(order, bar, instrument, slippage)


def _as_limit(order: Order, bar: Bar, previous: Decimal | None) -> _Candidate | None:
    assert order.price is not None
    limit, falling = order.price, order.side is OrderSide.BUY
    if _reached(bar.open, limit, falling):
        if previous is not None and not _reached(previous, limit, falling):
            return _Candidate(order, limit, Liquidity.MAKER, True)  # the price moved through the resting order
        return _Candidate(order, bar.open, Liquidity.TAKER, True)  # the book was crossed at the open
    if _reached(_extreme(bar, falling), limit, falling):
        return _Candidate(order, limit, Liquidity.MAKER, False)
    return None


def _on_trigger(
    order: Order, bar: Bar, instrument: Instrument, slippage: SlippageModel
) -> tuple[_Candidate | None, bool]:
    assert order.stop_price is not None
    level, falling = order.stop_price, triggers_on_fall(order)
    if _reached(bar.open, level, falling):
        gap, point = True, bar.open
    elif _reached(_extreme(bar, falling), level, falling):
        gap, point = False, level
    else:
        return None, False
    if order.type is OrderType.STOP_MARKET:
        return _Candidate(order, market_fill_price(order.side, point, slippage, instrument), Liquidity.TAKER, gap), True
    assert order.price is not None
    limit, limit_falling = order.price, order.side is OrderSide.BUY
    if _reached(point, limit, limit_falling):  # the limit can take liquidity where it triggered
        if order.type is OrderType.STOP_LIMIT:
            price = _capped(order.side, market_fill_price(order.side, point, slippage, instrument), limit)
            return _Candidate(order, price, Liquidity.TAKER, gap), True
        if gap:
            return _Candidate(order, point, Liquidity.TAKER, True), True
        return _Candidate(order, limit, Liquidity.MAKER, False), True
    reached_after = gap or falling == limit_falling  # the part of the bar after the trigger surely includes the extreme
    if reached_after and _reached(_extreme(bar, limit_falling), limit, limit_falling):
        return _Candidate(order, limit, Liquidity.MAKER, False), True
    return None, True


def _one_leg_per_list(candidates: list[_Candidate]) -> list[_Candidate]:
    """Keep one fill per OCO list: the first (stops come first) unless a later leg filled at the open and it did not."""
    chosen: dict[str, _Candidate] = {}
    for candidate in candidates:
        list_id = candidate.order.list_id
        if list_id is None:
            continue
        current = chosen.get(list_id)
        if current is None or (candidate.at_open and not current.at_open):
            chosen[list_id] = candidate
    return [c for c in candidates if c.order.list_id is None or chosen[c.order.list_id] is c]
