"""The account: what it holds and what it owes, asset by asset, and its net equity in the quote currency.

A spot account owes nothing: its net equity is what it holds, valued at the prices given. A margin account (one
isolated pair: its base and its quote) also owes what it borrowed and the interest accrued on it; its net equity is
its assets less those liabilities. Every figure is exact: valuing never rounds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, Inexact, InvalidOperation, localcontext

from robson.domain.errors import InvalidValue
from robson.domain.fills import Fill
from robson.domain.values import ZERO, OrderSide

# Sums and products carried to every digit they have; one that could not be would raise, never round.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[Inexact, InvalidOperation])


@dataclass(frozen=True, slots=True)
class Balance:
    """One asset of an account: held (free, or locked by working orders) and owed (borrowed, and the interest
    accrued on the loan)."""

    asset: str
    free: Decimal
    locked: Decimal = ZERO
    borrowed: Decimal = ZERO
    interest: Decimal = ZERO

    def __post_init__(self) -> None:
        if self.borrowed < 0 or self.interest < 0:
            raise InvalidValue(f"{self.asset}: borrowed and interest must not be negative")

    @property
    def total(self) -> Decimal:
        """What is held."""
        return self.free + self.locked

    @property
    def liabilities(self) -> Decimal:
        """What is owed."""
        return self.borrowed + self.interest

    @property
    def net(self) -> Decimal:
        """Held less owed (Binance's netAsset); negative for the borrowed asset of a short."""
        owed = self.liabilities
        return self.total - owed if owed else self.total


@dataclass(frozen=True, slots=True)
class Account:
    """The balances of one account, by asset. Values are in `quote`; `prices` gives each other asset's price in it.
    An asset held without a price counts at zero (the venue lists no market to value it); an asset owed without a
    price is refused, since leaving a debt out would overstate the equity."""

    balances: Mapping[str, Balance]

    def free(self, asset: str) -> Decimal:
        balance = self.balances.get(asset)
        return balance.free if balance is not None else ZERO

    def assets(self, quote: str, prices: Mapping[str, Decimal]) -> Decimal:
        """What the account holds, valued in the quote."""
        return self._value(quote, prices, lambda balance: balance.total)

    def liabilities(self, quote: str, prices: Mapping[str, Decimal]) -> Decimal:
        """What the account owes (borrowed and interest), valued in the quote."""
        return self._value(quote, prices, lambda balance: balance.liabilities)

    def net_equity(self, quote: str, prices: Mapping[str, Decimal]) -> Decimal:
        """Assets less liabilities, valued in the quote: the equity every risk rule measures."""
        return self._value(quote, prices, lambda balance: balance.net)

    def settled(self, fills: Iterable[tuple[Fill, str, str]]) -> Account:
        """The account once these spot fills (each with its pair's base and quote asset) have settled: the base
        bought against the quote or sold for it, each fee paid in its own asset, as a spot venue books them. What it
        holds moves on `free`: how much a working order locks, only the venue says (read it again for that)."""
        moved = dict(self.balances)

        def move(asset: str, amount: Decimal) -> None:
            held = moved.get(asset) or Balance(asset, ZERO)
            with localcontext(_EXACT):
                moved[asset] = replace(held, free=held.free + amount)

        for fill, base, quote in fills:
            sign = 1 if fill.side is OrderSide.BUY else -1
            with localcontext(_EXACT):
                notional = fill.price * fill.quantity
            move(base, sign * fill.quantity)
            move(quote, -sign * notional)
            if fill.fee:
                move(fill.fee_asset, -fill.fee)
        return Account(moved)

    def _value(self, quote: str, prices: Mapping[str, Decimal], amount: Callable[[Balance], Decimal]) -> Decimal:
        total = ZERO
        with localcontext(_EXACT):
            for asset, balance in self.balances.items():
                if asset == quote:
                    total += amount(balance)
                    continue
                price = prices.get(asset)
                if price is not None:
                    total += amount(balance) * price
                elif balance.liabilities:
                    raise InvalidValue(f"the account owes {balance.liabilities} {asset}, which has no {quote} price")
        return total
