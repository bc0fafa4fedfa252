"""The composition root: the one place that builds adapters, repositories, the clock and the use-case context."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.engine import Engine

from robson.clock import SystemClock
from robson.config import Settings
from robson.execution.adapters.faults import CrashAfterExitSent
from robson.execution.adapters.paper import PaperExchange
from robson.execution.adapters.paper_feed import PaperFeed
from robson.execution.matching import FeeSchedule, SlippageModel
from robson.notify.log import LogNotifier
from robson.persistence.database import checkpoint, create_engine_for, migrate, session_factory
from robson.persistence.paper_store import SqlPaperStore
from robson.persistence.unit_of_work import SqlUnitOfWork
from robson.ports import Clock, ExchangePort, Notifier, PaperMarket, PriceFeed, UnitOfWork
from robson.services.context import Context, RetryPolicy

CLOSE_LOOK_SECONDS = Decimal("0.25")  # how often a manual close looks at its marketable limit


@dataclass(slots=True)
class App:
    settings: Settings
    context: Context
    market: PaperMarket  # the paper venue's market side (only paper is wired so far)
    database_url: str
    engine: Engine
    feed: PriceFeed  # the monitor's price stream (the paper venue's prices, polled)

    def close(self) -> None:
        self.engine.dispose()


def build(
    database_url: str | None = None,
    *,
    schema: str | None = None,
    settings: Settings | None = None,
    clock: Clock | None = None,
    actor: str = "robson",
    notifier: Notifier | None = None,
) -> App:
    settings = settings or Settings()
    url = database_url or settings.resolved_database_url
    engine = create_engine_for(url, schema)
    migrate(engine)
    sessions = session_factory(engine)
    clock = clock or SystemClock()
    exchange = PaperExchange(
        SqlPaperStore(sessions),
        settings.paper.all_instruments(),
        FeeSchedule(settings.paper.maker_fee, settings.paper.taker_fee),
        SlippageModel(settings.paper.slippage_bps / Decimal(10000)),
        clock,
    )
    if not exchange.balances() and not exchange.open_orders():
        exchange.reset(dict(settings.paper.initial_balances))
    unit_of_work: Callable[[], UnitOfWork] = lambda: SqlUnitOfWork(sessions, actor=actor)  # noqa: E731
    venue: ExchangePort = CrashAfterExitSent(exchange) if settings.crash_after_exit_sent else exchange
    context = Context(
        unit_of_work=unit_of_work,
        exchange=venue,
        clock=clock,
        strategies=settings.strategies,
        slippage_rate=settings.slippage_rate,
        max_entry_deviation_percent=settings.max_entry_deviation_percent,
        quote=settings.quote,
        actor=actor,
        notifier=notifier or LogNotifier(),
        groups={symbol.strip().upper(): group for symbol, group in settings.groups.items()},
        exit_policies=settings.exit_policies,
        close_fallback_checks=int(settings.close_fallback_seconds / CLOSE_LOOK_SECONDS),
        wait=lambda: time.sleep(float(CLOSE_LOOK_SECONDS)),
        housekeeping=lambda: checkpoint(engine),
        retry=RetryPolicy(
            settings.retry_attempts,
            float(settings.retry_first_wait_seconds),
            float(settings.retry_max_wait_seconds),
        ),
        sleep=time.sleep,
    )
    return App(settings, context, exchange, url, engine, PaperFeed(exchange))
