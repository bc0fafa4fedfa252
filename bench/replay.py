"""Bench: the live services replaying bars, as the coming backtester will (issue 13's target: at least 25,000
bars a second on the in-memory ledger, 5,000 on SQLite; 110 to 300 when the issue was filed).

Seeded 1-minute bars of one symbol (BTC/USDT, synthetic: GBM with GARCH volatility and jumps) go through the replay
loop (monitor.replay.ReplayLoop: the paper venue's simulator in bar mode, its fills applied by the on-fill use case,
the monitor's index over each bar's path, deadlines and marks on the clock), on a manual clock one minute a bar.
A rule opens a long every 500 bars when nothing is open (stop 1% under the close,
target at 3 R) through plan and execute; the stop and the target rest on the venue as an OCO, whose fill the
simulator returns and the services book. Prints bars per second (the median of
--repeat runs) and the operations opened and closed, per ledger.

    .venv/bin/python bench/replay.py [--bars 3000] [--repeat 3] [--ledger sqlite]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import relaxed_limits
from robson.backtest.candles import Candle
from robson.backtest.synthetic import generate_bars
from robson.clock import ManualClock
from robson.config import Settings
from robson.domain.bars import Bar
from robson.domain.operation import OperationStatus
from robson.domain.values import Side, floor_to_step
from robson.execution.adapters.memory_store import MemoryPaperStore
from robson.execution.adapters.paper import PaperExchange
from robson.execution.matching import FeeSchedule, SlippageModel
from robson.monitor.replay import ReplayLoop
from robson.persistence.database import create_engine_for, migrate, session_factory
from robson.persistence.memory import MemoryLedger, MemoryUnitOfWork
from robson.persistence.unit_of_work import SqlUnitOfWork
from robson.ports import UnitOfWork
from robson.services import commands, planning
from robson.services.context import Context
from robson.services.errors import Refused

SYMBOL = "BTC/USDT"
TICK = Decimal("0.01")
EVERY = 500  # bars between two openings, when nothing is open
START = datetime(2026, 1, 5, tzinfo=UTC)


@dataclass(slots=True)
class Replay:
    bars: int
    seconds: float
    opened: int
    closed: int
    refused: int

    @property
    def per_second(self) -> float:
        return self.bars / self.seconds


@contextmanager
def sqlite_ledger() -> Iterator[Callable[[], UnitOfWork]]:
    with tempfile.TemporaryDirectory() as directory:
        engine = create_engine_for(f"sqlite:///{directory}/replay.db")
        migrate(engine)
        sessions = session_factory(engine)
        yield lambda: SqlUnitOfWork(sessions)
        engine.dispose()


@contextmanager
def memory_ledger() -> Iterator[Callable[[], UnitOfWork]]:
    ledger = MemoryLedger()
    yield lambda: MemoryUnitOfWork(ledger)


LEDGERS = {"memory": memory_ledger, "sqlite": sqlite_ledger}


def replay(candles: list[Candle], ledger: str) -> Replay:
    clock = ManualClock(START - timedelta(days=1))
    venue = PaperExchange(
        MemoryPaperStore(),
        Settings().paper.all_instruments(),
        FeeSchedule(Decimal("0.001"), Decimal("0.001")),
        SlippageModel(Decimal("0.0002")),
        clock,
    )
    venue.reset({"USDT": Decimal("100000")})
    with LEDGERS[ledger]() as unit_of_work:
        ctx = Context(unit_of_work=unit_of_work, exchange=venue, clock=clock, strategies={"default": relaxed_limits()})
        loop = ReplayLoop(ctx, venue, clock)
        opened: list[int] = []
        refused = 0
        open_id: int | None = None
        started = time.perf_counter()
        for index, bar in enumerate(candles):
            outcomes = loop.step(SYMBOL, Bar(bar.open, bar.high, bar.low, bar.close), bar.time)
            if any(outcome.operation.id == open_id and outcome.operation.status.is_final for outcome in outcomes):
                open_id = None
            if open_id is None and index % EVERY == EVERY - 1:
                stop = floor_to_step(bar.close * Decimal("0.99"), TICK)
                try:
                    planned = planning.plan(ctx, SYMBOL, Side.LONG, bar.close, stop, reward_risk=Decimal(3))
                    assert planned.operation.id is not None
                    executed = commands.execute(ctx, planned.operation.id)
                except Refused:  # the risk rules said no (a breaker's hold, say): as a strategy's signal would be
                    refused += 1
                    continue
                loop.follow([executed])
                if executed.operation.status is OperationStatus.ACTIVE:
                    open_id = planned.operation.id
                    opened.append(open_id)
        seconds = time.perf_counter() - started
        closed = sum(1 for i in opened if planning.load(ctx, i).status is OperationStatus.CLOSED)
    return Replay(len(candles), seconds, len(opened), closed, refused)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ledger", choices=sorted(LEDGERS), action="append")
    args = parser.parse_args()
    candles = generate_bars(7, args.bars, Decimal("90000"), TICK, bar_seconds=60, start=START)
    for ledger in args.ledger or sorted(LEDGERS):
        runs = [replay(candles, ledger) for _ in range(args.repeat)]
        median = statistics.median(run.per_second for run in runs)
        last = runs[-1]
        print(
            f"{ledger:>7}: {median:,.0f} bars/s (median of {len(runs)}; {args.bars:,} bars, "
            f"{last.opened} operations opened, {last.closed} closed, {last.refused} refused)"
        )


if __name__ == "__main__":
    main()
