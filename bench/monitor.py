"""Bench: the live monitor.

(a) Ticks per second the trigger index evaluates with 100 and with 100,000 open operations, and their ratio
    (target >= 0.5: the per-tick cost stays nearly flat). See bench/monitor_index.py for the method.
(b) Latency from a tick that crosses an internally protected operation's stop to the exit order accepted by the
    paper exchange, in-process, through the real path: the monitor's index, the exit use case (load, record the
    reason and the order intent, commit to the SQLite ledger), then the venue. p50 / p99 over many exits
    (target p99 under 1 ms; the plans asked for under 5 s). The paper venue keeps its account in memory here;
    the ledger is a real SQLite file (WAL, synchronous=NORMAL), checkpointed between passes as `robson run` does.
    Measured as `robson run` lives: its operations opened first, then their stops crossed one after another. For
    comparison, also with each exit right after planning and executing its own operation in the same process.
(c) A tick through `--gap` (10) stops at once: latency to the last of their exits accepted. Every exit of a tick is
    sent before any is booked; for comparison, also with each exit booked before the next is sent.

    .venv/bin/python bench/monitor.py [--exits 300] [--ticks 100000] [--runs 5] [--gap 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import NoFeed, percentile, relaxed_limits
from monitor_index import measure_ticks_per_second
from robson.clock import ManualClock
from robson.config import Settings
from robson.domain.values import Side
from robson.execution.adapters.memory_store import MemoryPaperStore
from robson.execution.adapters.paper import PaperExchange
from robson.execution.matching import FeeSchedule, SlippageModel
from robson.exits.policy import ExitPolicy, ProtectionMode
from robson.monitor.loop import Monitor
from robson.persistence.database import checkpoint, create_engine_for, migrate, session_factory
from robson.persistence.unit_of_work import SqlUnitOfWork
from robson.ports import OrderReport, OrderRequest
from robson.services import commands, planning
from robson.services import exits as exit_use_case
from robson.services.context import Context


class Stopwatch(PaperExchange):
    """The paper venue, noting when it accepted each exit."""

    accepted: dict[str, float]

    def place_order(self, request: OrderRequest) -> OrderReport:
        report = super().place_order(request)
        self.accepted[request.client_order_id] = time.perf_counter()
        return report


@dataclass
class Bench:
    """A whole Robson on a fresh SQLite ledger with the paper venue: the monitor's process, as `robson run` has it."""

    ctx: Context
    exchange: Stopwatch
    clock: ManualClock
    monitor: Monitor
    price: Decimal = Decimal("90000")

    def open_one(self, stop: Decimal) -> int:
        self.exchange.push_price("BTC/USDT", self.price)
        planned = planning.plan(self.ctx, "BTC/USDT", Side.LONG, self.price, stop)
        assert planned.operation.id is not None
        commands.execute(self.ctx, planned.operation.id)
        return planned.operation.id

    def cross(self, crossing: Decimal) -> float:
        """One tick at `crossing` after a second of quiet; returns when the tick started (perf_counter)."""
        self.monitor.idle()  # as `robson run` between passes: the ledger's checkpoint, once a minute
        self.clock.advance(timedelta(seconds=1))
        self.exchange.push_price("BTC/USDT", crossing)  # the venue's price moves; no order rests there (internal)
        started = time.perf_counter()
        self.monitor.on_tick("BTC/USDT", crossing)
        return started

    def accepted(self, operation_id: int) -> float:
        return self.exchange.accepted[f"rb{operation_id}-x1"]


@contextmanager
def robson() -> Iterator[Bench]:
    settings = Settings()
    clock = ManualClock(datetime(2026, 11, 2, 9, tzinfo=UTC))
    with tempfile.TemporaryDirectory() as directory:
        engine = create_engine_for(f"sqlite:///{directory}/bench.db")
        migrate(engine)
        sessions = session_factory(engine)
        exchange = Stopwatch(
            MemoryPaperStore(),
            settings.paper.all_instruments(),
            FeeSchedule(Decimal("0.001"), Decimal("0.001")),
            SlippageModel(Decimal("0.0002")),
            clock,
        )
        exchange.accepted = {}
        exchange.reset({"USDT": Decimal("100000000")})
        # hundreds of positions open at once: each risks 0.001% (heat 0.3%, exposure 15% for 300)
        limits = relaxed_limits().replace(max_risk_per_trade_percent=Decimal("0.001"))
        ctx = Context(
            unit_of_work=lambda: SqlUnitOfWork(sessions),
            exchange=exchange,
            clock=clock,
            strategies={"default": limits},
            exit_policies={"default": ExitPolicy(mode=ProtectionMode.INTERNAL)},
            housekeeping=lambda: checkpoint(engine),
        )
        yield Bench(ctx, exchange, clock, Monitor(ctx, NoFeed()))
        engine.dispose()


def latency(exits: int, steady: bool = True) -> list[float]:
    """Microseconds from `on_tick` with a crossing price to the venue accepting the exit, one sample per exit.

    steady (what `robson run` lives through): the operations are opened first, then the stops are crossed one
    after another, the monitor doing nothing else in between but its housekeeping. Otherwise each exit follows
    the planning and execution of its own operation in the same process (which `robson run` never does: plans
    come from other processes), so every exit starts with the processor's caches full of that other work."""
    with robson() as bench:
        if steady:  # stops 1 apart, 88,200 down: each crossing price crosses exactly one of them
            stops = [Decimal("88200") - Decimal(i) for i in range(exits)]
            opened = [bench.open_one(stop) for stop in stops]
            bench.monitor.rebuild()
            crossings = [(op, stop - Decimal("0.5")) for op, stop in zip(opened, stops, strict=True)]
        else:
            crossings = []
        samples = []
        for index in range(exits):
            if steady:
                operation_id, crossing = crossings[index]
            else:
                operation_id, crossing = bench.open_one(bench.price - Decimal("1800")), bench.price - Decimal("1900")
                bench.monitor.rebuild()
            started = bench.cross(crossing)
            samples.append((bench.accepted(operation_id) - started) * 1e6)
        return samples


def gap(ticks: int, per_tick: int, one_by_one: bool = False) -> list[float]:
    """Microseconds from `on_tick` with a price through `per_tick` stops at once (a gap) to the venue accepting the
    last of their exits, one sample per tick. `one_by_one`: each exit booked before the next is sent, as Robson
    did before the exits of one tick were sent together (for comparison)."""
    stride = per_tick + 5
    with robson() as bench:
        groups = [
            [bench.open_one(Decimal("88200") - stride * tick - i) for i in range(per_tick)] for tick in range(ticks)
        ]
        bench.monitor.rebuild()
        samples = []
        with _booked_one_by_one() if one_by_one else nullcontext():
            for tick, opened in enumerate(groups):
                started = bench.cross(Decimal("88200") - stride * tick - per_tick)
                samples.append((max(bench.accepted(op) for op in opened) - started) * 1e6)
        return samples


@contextmanager
def _booked_one_by_one() -> Iterator[None]:
    """The monitor hands the exit use case one crossing at a time: each exit is booked before the next is sent."""
    batched = exit_use_case.trigger

    def one_at_a_time(
        ctx: Context, crossings: Sequence[exit_use_case.Crossing], price: Decimal
    ) -> exit_use_case.Triggered:
        done = exit_use_case.Triggered()
        for crossing in crossings:
            each = batched(ctx, [crossing], price)
            done.outcomes += each.outcomes
            done.failed |= each.failed
        return done

    exit_use_case.trigger = one_at_a_time  # type: ignore[assignment]
    try:
        yield
    finally:
        exit_use_case.trigger = batched  # type: ignore[assignment]


def _runs(runs: int, exits: int, steady: bool) -> tuple[list[float], list[float]]:
    p50s, p99s = [], []
    for run in range(runs):
        samples = latency(exits, steady)
        p50s.append(statistics.median(samples) / 1000)
        p99s.append(percentile(samples, 0.99) / 1000)
        print(f"    run {run + 1}: p50 {p50s[-1]:.3f} ms, p99 {p99s[-1]:.3f} ms", file=sys.stderr)
    return p50s, p99s


def _report(label: str, runs: int, exits: int, p50s: list[float], p99s: list[float]) -> None:
    p50, p99 = statistics.median(p50s), statistics.median(p99s)
    print(f"{label}, {runs} runs of {exits} exits:")
    print(f"    p50 {', '.join(f'{v:.3f}' for v in p50s)} ms; p99 {', '.join(f'{v:.3f}' for v in p99s)} ms")
    print(f"    median p50 {p50:.3f} ms, median p99 {p99:.3f} ms (target p99 < 1 ms: {'met' if p99 < 1 else 'MISSED'})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--exits", type=int, default=300)
    parser.add_argument("--ticks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--gap", type=int, default=10, help="stops one tick crosses at once, for (c)")
    args = parser.parse_args()

    small, large = [], []
    for run in range(args.runs):
        small.append(measure_ticks_per_second(100, args.ticks, seed=run))
        large.append(measure_ticks_per_second(100_000, args.ticks, seed=run))
    s, big = statistics.median(small), statistics.median(large)
    print(f"(a) ticks/s: {s:,.0f} with 100 open operations, {big:,.0f} with 100,000 (medians of {args.runs})")
    print(f"    ratio {big / s:.2f} (target >= 0.5: {'met' if big / s >= 0.5 else 'MISSED'})")

    steady = _runs(args.runs, args.exits, steady=True)
    interleaved = _runs(args.runs, args.exits, steady=False)
    _report(
        "(b) tick crossing a stop -> exit accepted by the paper venue, in the monitor's own process "
        "(operations opened first, stops crossed one after another)",
        args.runs, args.exits, *steady,
    )  # fmt: skip
    _report(
        "    for comparison, each exit right after planning and executing its operation in the same process",
        args.runs, args.exits, *interleaved,
    )  # fmt: skip
    _report_gap(args.runs, max(1, args.exits // args.gap), args.gap)


def _report_gap(runs: int, ticks: int, per_tick: int) -> None:
    together, one_by_one = [], []
    for _ in range(runs):
        together.append(gap(ticks, per_tick))
        one_by_one.append(gap(ticks, per_tick, one_by_one=True))
    print(f"(c) one tick through {per_tick} stops at once (a gap) -> the last of their exits accepted, {runs} runs of")
    print(f"    {ticks} ticks (no target: the plans ask < 5 s; this is what a crash costs the last stop in line):")
    for label, runs_ in (("sent together, then booked", together), ("each booked before the next", one_by_one)):
        p50 = statistics.median(statistics.median(s) / 1000 for s in runs_)
        p99 = statistics.median(percentile(s, 0.99) / 1000 for s in runs_)
        print(f"    {label}: median p50 {p50:.3f} ms, median p99 {p99:.3f} ms")


if __name__ == "__main__":
    main()
