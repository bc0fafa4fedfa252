"""Which prices the monitor acts on. A tick moves nothing unless it is a real price (finite, above zero) inside
its instrument's price filter; and a price further than the band from the last accepted one (within the window)
is held as suspect until a second price confirms it: the next tick or a quote the monitor asks the venue for.

    a price close to the last accepted  -> the suspect one was a bad print: dropped, the new one accepted
    a price close to the suspect one    -> both are accepted, in order (a real move: a crash through a stop exits)
    a price far from both               -> it becomes the suspect one

Pure: the caller passes the time in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from robson.domain.instrument import Instrument
from robson.domain.values import HUNDRED


@dataclass(frozen=True, slots=True)
class Judgement:
    accepted: tuple[Decimal, ...] = ()  # the prices to act on, in order
    refused: str | None = None  # why the price can be no price at all
    suspect: str | None = None  # why the price is held until confirmed


@dataclass(slots=True)
class PriceGuard:
    band_percent: Decimal = Decimal("10")
    window_seconds: Decimal = Decimal("60")
    last: dict[str, tuple[Decimal, datetime]] = field(default_factory=dict)  # the last accepted price, per symbol
    held: dict[str, Decimal] = field(default_factory=dict)  # the suspect price waiting for confirmation

    def judge(self, symbol: str, price: object, now: datetime, instrument: Instrument | None) -> Judgement:
        if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
            return Judgement(refused=f"{symbol} {price} is not a real price (finite and above zero)")
        if instrument is not None and (outside := instrument.price_outside(price)) is not None:
            return Judgement(refused=outside)
        suspect = self.held.pop(symbol, None)
        last = self.last.get(symbol)
        recent = last is not None and Decimal((now - last[1]).total_seconds()) <= self.window_seconds
        if last is None or not recent or self._near(price, last[0]):
            return self._accept(symbol, now, price)  # a suspect price held is dropped: a bad print
        if suspect is not None and self._near(price, suspect):
            return self._accept(symbol, now, suspect, price)
        self.held[symbol] = price
        move = (price - last[0]) / last[0] * HUNDRED
        return Judgement(
            suspect=f"{symbol} {price} is {move:+.2f}% from the last accepted price {last[0]}: held until the next "
            f"price or the venue's quote confirms it"
        )

    def _near(self, price: Decimal, reference: Decimal) -> bool:
        return abs(price - reference) * HUNDRED <= reference * self.band_percent

    def _accept(self, symbol: str, now: datetime, *prices: Decimal) -> Judgement:
        self.last[symbol] = (prices[-1], now)
        return Judgement(accepted=tuple(prices))
