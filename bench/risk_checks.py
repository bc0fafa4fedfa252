"""Bench: one pre-trade decision against a book of 1,000 open operations across 100 symbols.

Prints the median and p99 in microseconds of `checks.evaluate` (the gateway's decision) for the default limits
and for the conservative preset (correlation and group limits on, 100 measured correlations), and the time to
aggregate the 1,000 operations into the book the decision reads. Target: median under 200 us.

    .venv/bin/python bench/risk_checks.py [--decisions 20000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from robson.domain.instrument import Instrument
from robson.domain.values import Side
from robson.domain.venue import Capability
from robson.risk import checks, policy_state
from robson.risk.limits import RiskLimits, preset
from robson.risk.proposal import Book, OpenExposure, PortfolioSnapshot, Proposal

OPERATIONS = 1_000
SYMBOLS = 100


def _book(rng: random.Random) -> tuple[list[OpenExposure], dict[str, Decimal]]:
    symbols = [f"C{i:03d}/USDT" for i in range(SYMBOLS)]
    exposures = []
    for n in range(OPERATIONS):
        symbol = symbols[n % SYMBOLS]
        value = Decimal(rng.randint(1_000, 50_000)) / 100
        exposures.append(OpenExposure(symbol, symbol.split("/")[0], value, value * Decimal("0.02"), f"group{n % 7}"))
    correlations = {s: Decimal(rng.randint(-100, 100)) / 100 for s in symbols}
    return exposures, correlations


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=20_000)
    args = parser.parse_args()
    rng = random.Random(7)
    exposures, correlations = _book(rng)

    started = time.perf_counter()
    book = Book.of(exposures)
    build_us = (time.perf_counter() - started) * 1e6

    now = datetime(2026, 11, 21, 12, tzinfo=UTC)
    equity = Decimal("1000000")
    policy = policy_state.start(equity, now - timedelta(days=3))
    instrument = Instrument(
        "C042/USDT", "C042", "USDT", Decimal("0.01"), Decimal("0.001"), Decimal("0.001"), Decimal("5")
    )
    proposal = Proposal(
        instrument=instrument,
        side=Side.LONG,
        entry=Decimal("100.00"),
        quantity=Decimal("50.000"),
        stop=Decimal("98.00"),
        target=Decimal("104.00"),
        risk_amount=Decimal("110.20"),
        cost=Decimal("5005.00"),
        group="group3",
    )
    snapshot = PortfolioSnapshot(
        equity=equity,
        free_quote=Decimal("600000"),
        capabilities=frozenset({Capability.SPOT}),
        book=book,
        trades_today=12,
        now=now,
        policy=policy,
        correlations=correlations,
    )
    print(f"book: {OPERATIONS} open operations across {SYMBOLS} symbols, aggregated in {build_us:.0f} us (once)")
    room = {"max_concurrent_operations": 2_000}  # a book of 1,000 needs room for it, or every order is refused
    presets = (
        ("default", RiskLimits().replace(**room)),
        ("conservative", RiskLimits().replace(**preset("conservative"), **room)),
    )
    for name, limits in presets:
        decision = checks.evaluate(proposal, snapshot, limits)
        for _ in range(1_000):  # warm up
            checks.evaluate(proposal, snapshot, limits)
        samples = []
        for _ in range(args.decisions):
            started = time.perf_counter_ns()
            checks.evaluate(proposal, snapshot, limits)
            samples.append((time.perf_counter_ns() - started) / 1_000)
        median = statistics.median(samples)
        verdict = "approved" if decision.approved else "refused by " + ",".join(c.code for c in decision.failures)
        print(
            f"{name:>12}: {len(decision.checks)} checks, {verdict}; "
            f"median {median:.1f} us, p99 {_percentile(samples, 0.99):.1f} us over {args.decisions} decisions "
            f"(target: median < 200 us: {'met' if median < 200 else 'MISSED'})"
        )


if __name__ == "__main__":
    main()
