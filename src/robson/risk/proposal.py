"""What a pre-trade decision is about: the order proposed (with what its operation would look like once it
fills) and the portfolio it would join, aggregated once so that a decision does not grow with the book."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from robson.domain.instrument import Instrument
from robson.domain.values import ONE, ZERO, Side
from robson.domain.venue import Capability
from robson.risk.policy_state import PolicyState, TradingState
from robson.risk.sizing import Costs


class Intent(StrEnum):
    OPEN = "OPEN"  # a new operation
    ADD = "ADD"  # a further tranche of an open operation
    REDUCE = "REDUCE"  # an exit, a stop, a target, a kill: always allowed


@dataclass(frozen=True, slots=True)
class TrancheContext:
    """The operation a tranche is added to."""

    tranches: int  # entry fills so far
    last_entry_at: datetime


@dataclass(frozen=True, slots=True)
class Proposal:
    """An order and what the operation it belongs to would look like once it fills."""

    instrument: Instrument
    side: Side
    entry: Decimal
    quantity: Decimal  # this order's quantity
    stop: Decimal  # the operation's stop once this order fills (re-based after an add)
    target: Decimal | None
    risk_amount: Decimal  # the operation's whole loss at that stop, fees and slippage included
    cost: Decimal  # quote needed to fund this order on the venue, fees included
    intent: Intent = Intent.OPEN
    average_entry: Decimal | None = None  # the operation's average entry after an add
    position_quantity: Decimal | None = None  # the operation's quantity after an add
    added_risk: Decimal | None = None  # how much the portfolio's heat grows (an add may re-base the stop)
    confidence: Decimal | None = None  # set when an automated signal proposes the order
    leverage: Decimal = ONE
    group: str | None = None  # sector or category, from the configuration
    tranche: TrancheContext | None = None
    costs: Costs = field(default_factory=Costs)  # fees and slippage per fill (the gateway sets the venue's)

    @property
    def order_value(self) -> Decimal:
        return self.quantity * self.entry

    @property
    def position_value(self) -> Decimal:
        return (self.position_quantity or self.quantity) * (self.average_entry or self.entry)

    @property
    def heat_added(self) -> Decimal:
        return self.risk_amount if self.added_risk is None else self.added_risk


@dataclass(frozen=True, slots=True)
class OpenExposure:
    """One open operation as the book sees it."""

    symbol: str
    base: str
    value: Decimal  # |quantity x mark|
    risk: Decimal  # the loss if its current stop is hit, fees included; zero once the stop locks in a profit
    group: str | None = None


@dataclass(frozen=True, slots=True)
class Book:
    """The open operations, aggregated once so that a decision does not grow with their number."""

    count: int = 0
    heat: Decimal = ZERO
    exposure: Decimal = ZERO
    by_asset: Mapping[str, Decimal] = field(default_factory=dict)
    by_symbol: Mapping[str, int] = field(default_factory=dict)
    by_group: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, exposures: Iterable[OpenExposure]) -> Book:
        count, heat, exposure = 0, ZERO, ZERO
        by_asset: dict[str, Decimal] = {}
        by_symbol: dict[str, int] = {}
        by_group: dict[str, int] = {}
        for item in exposures:
            count += 1
            heat += item.risk
            exposure += item.value
            by_asset[item.base] = by_asset.get(item.base, ZERO) + item.value
            by_symbol[item.symbol] = by_symbol.get(item.symbol, 0) + 1
            if item.group is not None:
                by_group[item.group] = by_group.get(item.group, 0) + 1
        return cls(count, heat, exposure, by_asset, by_symbol, by_group)


@dataclass(frozen=True, slots=True)
class PortfolioSnapshot:
    equity: Decimal
    free_quote: Decimal
    capabilities: frozenset[Capability]  # what the venue can do
    book: Book = Book()
    trades_today: int = 0  # entries sent today (UTC), spot and margin
    now: datetime | None = None
    policy: PolicyState | None = None
    correlations: Mapping[str, Decimal] = field(default_factory=dict)  # the proposal's symbol with each open one
    risk_percent: Decimal | None = None  # the risk per trade in force (dynamic risk), else the limit's

    @property
    def active_operations(self) -> int:
        return self.book.count

    @property
    def state(self) -> TradingState:
        return self.policy.state if self.policy is not None else TradingState.ACTIVE
