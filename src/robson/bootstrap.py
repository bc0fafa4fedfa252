"""The composition root: the one place that builds adapters, repositories, the clock and the use-case context.

The venue is `settings.exchange`: paper (the paper exchange in the ledger's database, its prices pushed by hand or
by a demo), binance (ccxt REST and websockets) or alpaca (alpaca-py, prices polled). Live keys come from
robson.credentials; the instruments (and so the sizing's lot rules) always come from the venue itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from robson.clock import ManualClock, SystemClock
from robson.config import BINANCE_REST_URL, BINANCE_STREAM_URL, Settings
from robson.credentials import VenueKeys, venue_keys
from robson.domain.errors import InvalidValue
from robson.domain.events import Alert
from robson.execution.adapters.faults import CrashAfterExitSent
from robson.execution.adapters.memory_store import MemoryPaperStore, MemoryPriceQueue
from robson.execution.adapters.offline import OfflineVenue
from robson.execution.adapters.paper import PaperExchange
from robson.execution.adapters.paper_feed import PaperFeed, QueuedMarket
from robson.execution.adapters.polling_feed import PollingFeed
from robson.execution.matching import FeeSchedule, SlippageModel
from robson.notify.log import LogNotifier
from robson.persistence.database import checkpoint, open_ledger, session_factory
from robson.persistence.lease import NoLease, lease_for
from robson.persistence.memory import MemoryLedger, MemoryUnitOfWork
from robson.persistence.paper_store import SqlPaperStore
from robson.persistence.paper_ticks import SqlPriceQueue
from robson.persistence.unit_of_work import SqlUnitOfWork
from robson.ports import (
    AuditLog,
    Clock,
    EventBus,
    ExchangePort,
    ExecutionLog,
    Fatal,
    Lease,
    MarkRepository,
    Notifier,
    OperationRepository,
    OrderStream,
    PaperMarket,
    PaperStore,
    PolicyRepository,
    PriceFeed,
    PriceQueue,
    QueuedFeed,
    SimulatedClock,
    StreamFeed,
    UnitOfWork,
)
from robson.services.bus import InProcessBus, TellTheTrader
from robson.services.context import Context, RetryPolicy
from robson.services.routing import ExecutionRules

if TYPE_CHECKING:
    # Every adapter against the port it implements: mypy checks each of these, so an adapter whose signatures drift
    # from its Protocol fails `make check` (wherever, or whether, it is wired below). Read by mypy only: the SDKs
    # still load only with their venue.
    from robson.execution.adapters.alpaca import AlpacaExchange
    from robson.execution.adapters.binance import BinanceExchange, BinanceFeed, BinanceOrderStream
    from robson.execution.adapters.memory_store import MemoryPaperStore
    from robson.persistence.executions import SqlExecutionLog
    from robson.persistence.lease import FileLease, NoLease, PostgresLease
    from robson.persistence.policy import SqlMarkRepository, SqlPolicyRepository
    from robson.persistence.repositories import SqlAuditLog, SqlOperationRepository

    EXCHANGES: tuple[type[ExchangePort], ...] = (
        PaperExchange,
        BinanceExchange,
        AlpacaExchange,
        OfflineVenue,
        CrashAfterExitSent,
    )
    PAPER_MARKETS: tuple[type[PaperMarket], ...] = (QueuedMarket, PaperExchange)
    FEEDS: tuple[type[PriceFeed], ...] = (PaperFeed, BinanceFeed, PollingFeed)
    STREAM_FEEDS: tuple[type[StreamFeed], ...] = (PaperFeed, BinanceFeed)
    ORDER_STREAMS: tuple[type[OrderStream], ...] = (BinanceOrderStream,)
    QUEUED_FEEDS: tuple[type[QueuedFeed], ...] = (PaperFeed,)
    PRICE_QUEUES: tuple[type[PriceQueue], ...] = (SqlPriceQueue,)
    PAPER_STORES: tuple[type[PaperStore], ...] = (SqlPaperStore, MemoryPaperStore)
    LEASES: tuple[type[Lease], ...] = (FileLease, PostgresLease, NoLease)
    CLOCKS: tuple[type[Clock], ...] = (SystemClock, ManualClock)
    SIMULATED_CLOCKS: tuple[type[SimulatedClock], ...] = (ManualClock,)
    NOTIFIERS: tuple[type[Notifier], ...] = (LogNotifier,)
    UNITS_OF_WORK: tuple[type[UnitOfWork], ...] = (SqlUnitOfWork,)
    OPERATION_REPOSITORIES: tuple[type[OperationRepository], ...] = (SqlOperationRepository,)
    AUDIT_LOGS: tuple[type[AuditLog], ...] = (SqlAuditLog,)
    POLICY_REPOSITORIES: tuple[type[PolicyRepository], ...] = (SqlPolicyRepository,)
    MARK_REPOSITORIES: tuple[type[MarkRepository], ...] = (SqlMarkRepository,)
    EXECUTION_LOGS: tuple[type[ExecutionLog], ...] = (SqlExecutionLog,)

log = logging.getLogger(__name__)


@dataclass(slots=True)
class App:
    settings: Settings
    context: Context
    market: PaperMarket | None  # the paper venue's market side; None on a live venue (the market moves itself)
    database_url: str
    engine: Engine | None  # None on the memory ledger
    open_feed: Callable[[], PriceFeed]  # the monitor's price stream, opened on first use (`feed`)
    lease: Lease  # held by the one robson run that acts for this account
    events: EventBus  # what every commit recorded, after it: the notifier subscribes (more may, e.g. a live stream)
    # what the venue pushes about the account's orders, opened on first use (`order_stream`); None: it pushes nothing
    # (paper, Alpaca, a command that only reads the ledger) and the monitor syncs instead
    open_order_stream: Callable[[], OrderStream] | None = None
    _feed: PriceFeed | None = None
    _order_stream: OrderStream | None = None

    @property
    def feed(self) -> PriceFeed:
        """The paper venue's prices polled; Binance's websockets (REST while down); Alpaca's last prices polled."""
        if self._feed is None:
            self._feed = self.open_feed()
        return self._feed

    @property
    def order_stream(self) -> OrderStream | None:
        """Binance's user-data stream; None on a venue that pushes nothing about its orders."""
        if self._order_stream is None and self.open_order_stream is not None:
            self._order_stream = self.open_order_stream()
        return self._order_stream

    def paper_market(self, command: str) -> PaperMarket:
        """The paper venue's market side, for the commands that move it; a one-line refusal on a live venue."""
        if self.market is None:
            raise InvalidValue(
                f"{command} works on the paper exchange only; the venue is {self.settings.exchange} "
                "(set ROBSON_EXCHANGE=paper or use --exchange paper)"
            )
        return self.market

    def close(self) -> None:
        self.lease.release()
        closing = getattr(self._feed, "close", None)
        if callable(closing):
            closing()  # a websocket feed's thread and connection
        self._feed = None
        if self._order_stream is not None:
            self._order_stream.close()
            self._order_stream = None
        if self.engine is not None:
            self.engine.dispose()


@dataclass(frozen=True, slots=True)
class Ledger:
    """Where the account's state lives: the SQL ledger's database, or memory (`MEMORY_URL`, nothing kept)."""

    unit_of_work: Callable[[], UnitOfWork]
    paper_store: PaperStore
    price_queue: PriceQueue
    housekeeping: Callable[[], None]
    lease: Lease
    engine: Engine | None  # None: the memory ledger


MEMORY_URL = "memory://"  # the ledger, the paper account and its price queue in this process's memory


@dataclass(frozen=True, slots=True)
class Venue:
    exchange: ExchangePort
    market: PaperMarket | None
    open_feed: Callable[[], PriceFeed]
    open_order_stream: Callable[[], OrderStream] | None = None


def build(
    database_url: str | None = None,
    *,
    schema: str | None = None,
    settings: Settings | None = None,
    clock: Clock | None = None,
    actor: str = "robson",
    notifier: Notifier | None = None,
    offline: bool = False,
    create: bool = True,
) -> App:
    """The composition root. `offline`: for a command that only reads the ledger; a live venue is then not built
    (no keys asked for, nothing sent; see OfflineVenue). The paper venue is local and is built either way.
    `create`: start a new ledger when there is none (else NoLedger says where it looked). `database_url` MEMORY_URL
    ("memory://"): the ledger and the paper account in memory, gone with the App (a backtest's)."""
    settings = settings or Settings()
    offline = offline and settings.exchange != "paper"
    keys = None if settings.exchange == "paper" or offline else venue_keys(settings.exchange)  # refused before I/O
    url = database_url or settings.resolved_database_url
    notifier = notifier or LogNotifier()
    events = InProcessBus()
    events.subscribe(TellTheTrader(notifier), Alert)
    ledger = _memory_ledger(actor, events) if url == MEMORY_URL else _sql_ledger(url, schema, create, actor, events)
    clock = clock or SystemClock()
    venue = _offline(settings.exchange) if offline else _venue(settings, keys, ledger, clock)
    exchange = venue.exchange
    context = Context(
        unit_of_work=ledger.unit_of_work,
        exchange=CrashAfterExitSent(exchange) if settings.crash_after_exit_sent else exchange,
        clock=clock,
        strategies=settings.strategies,
        slippage_rate=settings.slippage_rate,
        max_entry_deviation_percent=settings.max_entry_deviation_percent,
        quote=settings.quote,
        actor=actor,
        notifier=notifier,
        groups={symbol.strip().upper(): group for symbol, group in settings.groups.items()},
        exit_policies=settings.exit_policies,
        close_fallback_seconds=settings.close_fallback_seconds,
        housekeeping=ledger.housekeeping,
        price_band_percent=settings.monitor_price_band_percent,
        price_band_seconds=settings.monitor_price_band_seconds,
        retry=RetryPolicy(
            settings.retry_attempts,
            float(settings.retry_first_wait_seconds),
            float(settings.retry_max_wait_seconds),
        ),
        sleep=time.sleep,
        stopwatch=time.perf_counter,
        execution=ExecutionRules(
            settings.max_slippage_bps,
            settings.on_excess_slippage,
            settings.wide_spread_bps,
            settings.fill_timeout_seconds,
        ),
    )
    return App(
        settings,
        context,
        venue.market,
        url,
        ledger.engine,
        venue.open_feed,
        ledger.lease,
        events,
        venue.open_order_stream,
    )


def _sql_ledger(url: str, schema: str | None, create: bool, actor: str, events: EventBus) -> Ledger:
    engine = open_ledger(url, schema, create=create)
    sessions = session_factory(engine)
    return Ledger(
        lambda: SqlUnitOfWork(sessions, actor=actor, bus=events),
        SqlPaperStore(sessions),
        SqlPriceQueue(sessions),
        lambda: checkpoint(engine),
        lease_for(engine),
        engine,
    )


def simulated_clock(start: datetime) -> SimulatedClock:
    """The demo's (and a backtest's) time: it moves only when the loop that owns it says so."""
    return ManualClock(start)


def _memory_ledger(actor: str, events: EventBus) -> Ledger:
    """Nothing to share with another process: no lease to take, nothing to checkpoint."""
    memory = MemoryLedger()
    nothing: Callable[[], None] = lambda: None  # noqa: E731
    return Ledger(
        lambda: MemoryUnitOfWork(memory, actor, events),
        MemoryPaperStore(),
        MemoryPriceQueue(),
        nothing,
        NoLease(),
        None,
    )


def _venue(settings: Settings, keys: VenueKeys | None, ledger: Ledger, clock: Clock) -> Venue:
    if keys is None:
        return _paper(settings, ledger, clock)
    if settings.exchange == "binance":
        return _binance(settings, keys, clock)
    return _alpaca(settings, keys, clock)


def _offline(name: str) -> Venue:
    def no_feed() -> PriceFeed:
        raise Fatal(f"this command reads the ledger only and watches no prices from {name}")

    return Venue(OfflineVenue(name), None, no_feed)


def _paper(settings: Settings, ledger: Ledger, clock: Clock) -> Venue:
    paper = PaperExchange(
        ledger.paper_store,
        settings.paper.all_instruments(),
        FeeSchedule(settings.paper.maker_fee, settings.paper.taker_fee),
        SlippageModel(settings.paper.slippage_bps / Decimal(10000)),
        clock,
    )
    if not paper.balances() and not paper.open_orders():
        paper.reset(dict(settings.paper.initial_balances))
    queue = ledger.price_queue
    return Venue(paper, QueuedMarket(paper, queue, clock), lambda: PaperFeed(paper, queue))


def _binance(settings: Settings, keys: VenueKeys, clock: Clock) -> Venue:
    from robson.execution.adapters.binance import BinanceExchange  # ccxt loads only for this venue

    config = settings.binance
    exchange = BinanceExchange(
        keys.api_key.get_secret_value(),
        keys.secret.get_secret_value(),
        # the official URLs stay ccxt's own, with its rate limiting; another URL is a test venue (no pacing)
        base_url=None if config.base_url == BINANCE_REST_URL else config.base_url,
        ws_url=None if config.ws_url == BINANCE_STREAM_URL else config.ws_url,
        ws_api_url=config.ws_api_url,
        timeout_ms=config.timeout_ms,
        symbols=settings.binance_symbols,
        clock=clock,
    )
    return Venue(
        exchange,
        None,
        lambda: exchange.price_feed(_traded(exchange, settings.binance_symbols)),
        exchange.order_stream,
    )


def _alpaca(settings: Settings, keys: VenueKeys, clock: Clock) -> Venue:
    from robson.execution.adapters.alpaca import AlpacaExchange  # alpaca-py loads only for this venue
    from robson.execution.adapters.alpaca.wire import DEFAULT_SYMBOLS

    config = settings.alpaca
    symbols = config.symbols or DEFAULT_SYMBOLS
    exchange = AlpacaExchange(
        keys.api_key.get_secret_value(),
        keys.secret.get_secret_value(),
        paper=config.paper,
        base_url=config.base_url,
        data_url=config.data_url,
        clock=clock,
        symbols=symbols,
        timeout=float(config.timeout_seconds),
    )

    def open_feed() -> PriceFeed:
        return PollingFeed(exchange, _traded(exchange, symbols), float(config.poll_seconds), time.monotonic)

    return Venue(exchange, None, open_feed)


def _traded(exchange: ExchangePort, wanted: tuple[str, ...]) -> list[str]:
    """The symbols to watch: those of the configured ones that the venue lists as trading."""
    traded = sorted(exchange.instruments())
    missing = [symbol for symbol in wanted if symbol not in traded]
    if missing:
        log.warning("%s does not trade %s: not watched", exchange.name, ", ".join(missing))
    if not traded:
        raise Fatal(f"none of the configured symbols trades on {exchange.name}: nothing to watch")
    return traded
