"""Fixtures for the paper venue and the fill simulator: instruments, a fixed clock, a fresh exchange."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from robson.domain.instrument import Instrument
from robson.execution.adapters.memory_store import MemoryPaperStore
from robson.execution.adapters.paper import PaperExchange
from robson.execution.matching import FeeSchedule, SlippageModel
from robson.ports import PaperStore

D = Decimal
BTC = Instrument("BTC/USDT", "BTC", "USDT", D("0.01"), D("0.00001"), D("0.00001"), D("5"))
ETH = Instrument("ETH/USDT", "ETH", "USDT", D("0.01"), D("0.0001"), D("0.0001"), D("5"))
FEES = FeeSchedule(maker=D("0.001"), taker=D("0.002"))
SLIPPAGE = SlippageModel(D("0.0005"))
START = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


class FixedClock:
    def __init__(self, moment: datetime = START) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


ExchangeFactory = Callable[[PaperStore], PaperExchange]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def store() -> MemoryPaperStore:
    return MemoryPaperStore()


@pytest.fixture
def open_exchange(clock: FixedClock) -> ExchangeFactory:
    """Build a PaperExchange over a store, as a (re)started process would."""

    def build(store: PaperStore) -> PaperExchange:
        return PaperExchange(store, {"BTC/USDT": BTC, "ETH/USDT": ETH}, FEES, SLIPPAGE, clock)

    return build


@pytest.fixture
def exchange(store: MemoryPaperStore, open_exchange: ExchangeFactory) -> PaperExchange:
    """A paper account with 10,000 USDT and 1 BTC, BTC last traded at 100.00."""
    venue = open_exchange(store)
    venue.reset({"USDT": D("10000"), "BTC": D("1")})
    venue.push_price("BTC/USDT", D("100.00"))
    return venue
