"""Bench: the live monitor.

(a) Ticks per second the trigger index evaluates with 100 and with 100,000 open operations, and their ratio
    (target >= 0.5: the per-tick cost stays nearly flat). See bench/monitor_index.py for the method.
(b) Latency from a tick that crosses an internally protected operation's stop to the exit order accepted by the
    paper exchange, in-process, through the real path: the monitor's index, the exit use case (load, record the
    reason and the order intent, commit to the SQLite ledger), then the venue. p50 / p99 over many exits
    (target p99 under 1 ms; the plans asked for under 5 s). The paper venue keeps its account in memory here;
    the ledger is a real SQLite file (WAL, synchronous=NORMAL), checkpointed between passes as `robson run` does.

    .venv/bin/python bench/monitor.py [--exits 300] [--ticks 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
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
from robson.services.context import Context


class Stopwatch(PaperExchange):
    """The paper venue, noting when it accepted each exit."""

    accepted: dict[str, float]

    def place_order(self, request: OrderRequest) -> OrderReport:
        report = super().place_order(request)
        self.accepted[request.client_order_id] = time.perf_counter()
        return report


def latency(exits: int) -> list[float]:
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
        limits = relaxed_limits()
        ctx = Context(
            unit_of_work=lambda: SqlUnitOfWork(sessions),
            exchange=exchange,
            clock=clock,
            strategies={"default": limits},
            exit_policies={"default": ExitPolicy(mode=ProtectionMode.INTERNAL)},
            housekeeping=lambda: checkpoint(engine),
        )
        samples = []
        price = Decimal("90000")
        monitor = Monitor(ctx, NoFeed())
        for _ in range(exits):
            exchange.push_price("BTC/USDT", price)
            planned = planning.plan(ctx, "BTC/USDT", Side.LONG, price, price - Decimal("1800"))
            assert planned.operation.id is not None
            commands.execute(ctx, planned.operation.id)
            monitor.rebuild()
            monitor.idle()  # as `robson run` between passes: the ledger's checkpoint, once a minute
            clock.advance(timedelta(seconds=1))
            crossing = price - Decimal("1900")
            exchange.push_price("BTC/USDT", crossing)  # the venue's price moves; no order rests there (internal)
            started = time.perf_counter()
            monitor.on_tick("BTC/USDT", crossing)
            accepted = exchange.accepted[f"rb{planned.operation.id}-x1"]
            samples.append((accepted - started) * 1e6)
        engine.dispose()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--exits", type=int, default=300)
    parser.add_argument("--ticks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    small, large = [], []
    for run in range(args.runs):
        small.append(measure_ticks_per_second(100, args.ticks, seed=run))
        large.append(measure_ticks_per_second(100_000, args.ticks, seed=run))
    s, big = statistics.median(small), statistics.median(large)
    print(f"(a) ticks/s: {s:,.0f} with 100 open operations, {big:,.0f} with 100,000 (medians of {args.runs})")
    print(f"    ratio {big / s:.2f} (target >= 0.5: {'met' if big / s >= 0.5 else 'MISSED'})")

    p50s, p99s = [], []
    for run in range(args.runs):
        samples = latency(args.exits)
        p50s.append(statistics.median(samples) / 1000)
        p99s.append(percentile(samples, 0.99) / 1000)
        print(f"    run {run + 1}: p50 {p50s[-1]:.3f} ms, p99 {p99s[-1]:.3f} ms", file=sys.stderr)
    p50, p99 = statistics.median(p50s), statistics.median(p99s)
    print(f"(b) tick crossing a stop -> exit accepted by the paper venue, {args.runs} runs of {args.exits} exits:")
    print(f"    p50 {', '.join(f'{v:.3f}' for v in p50s)} ms; p99 {', '.join(f'{v:.3f}' for v in p99s)} ms")
    print(f"    median p50 {p50:.3f} ms, median p99 {p99:.3f} ms (target p99 < 1 ms: {'met' if p99 < 1 else 'MISSED'})")


if __name__ == "__main__":
    main()
