"""Bench: what one pass of `robson run` asks of Binance, with N exchange-managed operations resting (each an OCO).

Against the fake Binance on loopback (ccxt, signed REST), N operations are planned and executed (stop and target
rest as one OCO list), then the monitor makes passes, each with one tick that crosses nothing, as it does every
`monitor_poll_seconds` (0.2 s). Per pass it prints the requests the venue received, their request weight by
Binance's published weights, and ccxt's cost of them: ccxt paces the official endpoints at 50 ms per cost unit,
so that cost is how long a pass takes against the real Binance, whatever the network. A pass is when a crossing
tick of an internally protected operation waits its turn.

Now: the sync lists the open orders once per symbol and asks only about orders not listed unchanged; the account
is read to mark to market after a change or every `monitor_mark_seconds`. For comparison, in the same run, the
way it was before: every working order asked about, and the account read, on every pass.

    .venv/bin/python bench/run_pass.py [--operations 1 10 50] [--passes 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: tests.fakes
sys.path.insert(0, str(Path(__file__).resolve().parent))

import ccxt
from tests.fakes.binance_server import BinanceFake

from common import relaxed_limits
from robson.clock import ManualClock
from robson.domain.values import Side
from robson.execution.adapters.binance import BinanceExchange
from robson.exits.policy import ExitPolicy, ProtectionMode
from robson.monitor.loop import Monitor
from robson.persistence.database import create_engine_for, migrate, session_factory
from robson.persistence.unit_of_work import SqlUnitOfWork
from robson.services import commands, following, planning
from robson.services.context import Context

SYMBOL, VENUE_SYMBOL, ENTRY = "BTC/USDT", "BTCUSDT", Decimal("90000")
RATE_LIMIT_MS = 50  # ccxt's pacing of Binance: milliseconds per cost unit
# Binance's request weights (https://developers.binance.com/docs/binance-spot-api-docs/rest-api), per route
WEIGHTS = {
    "GET /api/v3/order": 4,
    "GET /api/v3/openOrders": 6,  # with a symbol
    "GET /api/v3/account": 20,
    "GET /api/v3/myTrades": 20,
    "GET /api/v3/ticker/price": 2,
    "GET /api/v3/ticker/bookTicker": 2,
}


class OneTick:
    """The feed: one tick per poll, crossing nothing."""

    def poll(self) -> list[tuple[str, Decimal]]:
        return [(SYMBOL, ENTRY + 10)]


def _costs() -> dict[str, float]:
    """ccxt's cost of each route (GET /api/v3/order -> 0.8), read from its description of Binance."""
    api = ccxt.binance().describe()["api"]
    costs = {}
    for section in ("public", "private"):
        for method, routes in api[section].items():
            for route, spec in routes.items():
                cost = spec.get("cost", 1) if isinstance(spec, dict) else spec
                costs[f"{method.upper()} /api/v3/{route}"] = float(cost)
    return costs


@contextmanager
def _as_before() -> Iterator[None]:
    """Every working order asked about on every pass (nothing taken from the listing)."""
    listed = following._listed
    following._listed = lambda ctx, live: {}  # type: ignore[assignment]
    try:
        yield
    finally:
        following._listed = listed


def measure(operations: int, passes: int, before: bool) -> tuple[Counter[str], float, float]:
    """Requests per pass, by route; weight and ccxt cost units per pass (means: a mark every few passes counts)."""
    clock = ManualClock(datetime(2026, 11, 2, 9, tzinfo=UTC))
    balances = {"USDT": "100000000"}
    with tempfile.TemporaryDirectory() as directory, BinanceFake(balances, {VENUE_SYMBOL: str(ENTRY)}) as fake:
        engine = create_engine_for(f"sqlite:///{directory}/bench.db")
        migrate(engine)
        exchange = BinanceExchange("key", "secret", base_url=fake.url, symbols=[SYMBOL], clock=clock)
        limits = relaxed_limits().replace(max_risk_per_trade_percent=Decimal("0.001"))
        ctx = Context(
            unit_of_work=lambda: SqlUnitOfWork(session_factory(engine)),
            exchange=exchange,
            clock=clock,
            strategies={"default": limits},
            exit_policies={"default": ExitPolicy(mode=ProtectionMode.EXCHANGE)},
        )
        for index in range(operations):
            planned = planning.plan(ctx, SYMBOL, Side.LONG, ENTRY, ENTRY - 1800 - index)
            assert planned.operation.id is not None
            commands.execute(ctx, planned.operation.id)
        monitor = Monitor(ctx, OneTick(), mark_seconds=Decimal(0) if before else Decimal(5))
        monitor.recover()
        costs, per_pass, weights, units = _costs(), Counter[str](), [], []
        with _as_before() if before else nullcontext():
            for _ in range(passes):
                clock.advance(timedelta(milliseconds=200))
                seen = len(fake.requests)
                monitor.poll_once()
                routes = Counter(request.route for request in fake.requests[seen:])
                per_pass += routes
                weights.append(sum(WEIGHTS.get(route, 1) * n for route, n in routes.items()))
                units.append(sum(costs.get(route, 1) * n for route, n in routes.items()))
        engine.dispose()
    return per_pass, statistics.fmean(weights), statistics.fmean(units)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--operations", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--passes", type=int, default=20)
    args = parser.parse_args()
    print(f"one pass of robson run on Binance, exchange-managed operations resting ({args.passes} passes each):")
    for operations in args.operations:
        for before in (False, True):
            routes, weight, units = measure(operations, args.passes, before)
            label = "before (every order, every pass)" if before else "now"
            per_pass = ", ".join(f"{route} {n / args.passes:g}" for route, n in sorted(routes.items()))
            print(f"  {operations:>3} operations, {label}: {per_pass}")
            print(
                f"      per pass: weight {weight:.1f}, {weight * 300:,.0f} a minute at 5 passes a second (Binance "
                f"allows 6,000); ccxt pacing {units * RATE_LIMIT_MS:,.0f} ms"
            )


if __name__ == "__main__":
    main()
