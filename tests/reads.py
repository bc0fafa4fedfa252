"""What one decision asks of the venue and the ledger, counted: a venue that counts the calls made to the one it
wraps, per method (and per symbol for the prices), and the SQL statements and commits an engine runs, counted
by SQLAlchemy's events. Shared by tests/integration/services/test_reads_per_decision.py and bench/reads.py.

Each scenario builds a Robson on the given database (the paper venue in it, a manual clock), sets up what the use
case needs, and counts only the use case itself."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, event

from robson import bootstrap
from robson.clock import ManualClock
from robson.config import ExitSettings, Settings
from robson.domain.account import Balance
from robson.domain.instrument import Instrument
from robson.domain.values import Side
from robson.ports import ExchangePort, FeeRates, OcoRequest, OrderReport, OrderRequest, Quote
from robson.services import commands, exits, planning, trading
from robson.services.context import Context

SYMBOL = "BTC/USDT"
ENTRY, STOP, CROSSING = Decimal("90000"), Decimal("88200"), Decimal("88000")
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
VENUE_TABLES = ("paper_",)  # the paper venue's own tables: its statements are the venue's, not the ledger's
ASKED = ("balances", "last_price", "quote", "get_order", "open_orders")  # what a decision reads from the venue
SENT = ("place_order", "place_oco", "cancel_order")


class CountingExchange:
    """An ExchangePort that counts every call made to the venue it wraps, per method; the prices per symbol too."""

    def __init__(self, inner: ExchangePort) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()
        self.per_symbol: Counter[tuple[str, str]] = Counter()  # (method, symbol) for last_price and quote

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def capabilities(self) -> Any:
        return self.inner.capabilities

    def instruments(self) -> dict[str, Instrument]:
        self.calls["instruments"] += 1
        return self.inner.instruments()

    def fee_rates(self, symbol: str) -> FeeRates:
        self.calls["fee_rates"] += 1
        return self.inner.fee_rates(symbol)

    def last_price(self, symbol: str) -> Decimal | None:
        self.calls["last_price"] += 1
        self.per_symbol["last_price", symbol] += 1
        return self.inner.last_price(symbol)

    def quote(self, symbol: str) -> Quote | None:
        self.calls["quote"] += 1
        self.per_symbol["quote", symbol] += 1
        return self.inner.quote(symbol)

    def balances(self) -> dict[str, Balance]:
        self.calls["balances"] += 1
        return self.inner.balances()

    def place_order(self, request: OrderRequest) -> OrderReport:
        self.calls["place_order"] += 1
        return self.inner.place_order(request)

    def place_oco(self, request: OcoRequest) -> tuple[OrderReport, OrderReport]:
        self.calls["place_oco"] += 1
        return self.inner.place_oco(request)

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        self.calls["cancel_order"] += 1
        return self.inner.cancel_order(symbol, client_order_id)

    def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        self.calls["get_order"] += 1
        return self.inner.get_order(symbol, client_order_id)

    def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        self.calls["open_orders"] += 1
        return self.inner.open_orders(symbol)


_: type[ExchangePort] = CountingExchange  # mypy holds it to the port


@dataclass(slots=True)
class SqlCount:
    """SQL statements and commits, the ledger's apart from the paper venue's (a statement on a paper_ table, a
    commit of a transaction that wrote only those)."""

    statements: int = 0
    commits: int = 0
    venue_statements: int = 0
    venue_commits: int = 0


@contextmanager
def counting_sql(engine: Engine) -> Iterator[SqlCount]:
    """Count what `engine` runs inside the block, by SQLAlchemy's events (every statement goes through its public
    API: the listeners see them all)."""
    count = SqlCount()
    venue_only: dict[int, bool] = {}  # connection -> every statement since its last commit was the venue's
    opening: Counter[int] = Counter()  # connection -> its BEGIN, counted with the statement that follows it

    def executed(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("BEGIN"):  # SQLite's explicit transactions: whose they are, the next one says
            opening[id(conn)] += 1
            return
        venue = any(table in statement for table in VENUE_TABLES)
        ran = 1 + opening.pop(id(conn), 0)
        if venue:
            count.venue_statements += ran
        else:
            count.statements += ran
        venue_only[id(conn)] = venue_only.get(id(conn), True) and venue

    def committed(conn: Any) -> None:
        if venue_only.pop(id(conn), False):
            count.venue_commits += 1
        else:
            count.commits += 1

    event.listen(engine, "before_cursor_execute", executed)
    event.listen(engine, "commit", committed)
    try:
        yield count
    finally:
        event.remove(engine, "before_cursor_execute", executed)
        event.remove(engine, "commit", committed)


@dataclass(frozen=True, slots=True)
class Reads:
    """What one use case asked: the venue's calls by method, the prices by (method, symbol), the SQL."""

    calls: Counter[str]
    per_symbol: Counter[tuple[str, str]]
    sql: SqlCount

    def most_per_symbol(self, method: str) -> int:
        return max((n for (m, _), n in self.per_symbol.items() if m == method), default=0)


def measure(app: bootstrap.App, use_case: Callable[[Context], object]) -> Reads:
    """Run `use_case` on the app's context with its venue counted, and its engine's SQL counted."""
    venue = CountingExchange(app.context.exchange)
    ctx = dataclasses.replace(app.context, exchange=venue)
    assert app.engine is not None
    with counting_sql(app.engine) as sql:
        use_case(ctx)
    return Reads(venue.calls, venue.per_symbol, sql)


# ---- the scenarios: each on a fresh Robson, its paper account funded and BTC/USDT priced --------------------


AppFactory = Callable[..., bootstrap.App]


def robson_on(url: str, schema: str | None, clock: ManualClock) -> AppFactory:
    """A factory of Robsons on the database at `url`: `internal=True` protects the default strategy internally."""

    def build(internal: bool = False) -> bootstrap.App:
        settings = Settings(exits={"default": ExitSettings(mode="internal")}) if internal else Settings()
        app = bootstrap.build(url, schema=schema, clock=clock, actor="test", settings=settings)
        assert app.market is not None
        app.market.reset({"USDT": Decimal("10000")})
        app.market.push_price(SYMBOL, ENTRY)
        return app

    return build


def _planned(app: bootstrap.App) -> int:
    operation_id = planning.plan(app.context, SYMBOL, Side.LONG, ENTRY, STOP).operation.id
    assert operation_id is not None
    return operation_id


def opened(app: bootstrap.App) -> int:
    operation_id = _planned(app)
    commands.execute(app.context, operation_id)
    return operation_id


def plan(app: bootstrap.App) -> Reads:
    return measure(app, lambda ctx: planning.plan(ctx, SYMBOL, Side.LONG, ENTRY, STOP))


def plan_beside(app: bootstrap.App) -> Reads:
    """A plan while another position is open: the account holds BTC too, valued at its price."""
    opened(app)
    return plan(app)


def validate(app: bootstrap.App) -> Reads:
    operation_id = _planned(app)
    return measure(app, lambda ctx: commands.validate(ctx, operation_id))


def execute(app: bootstrap.App) -> Reads:
    """A market entry; its protection as the app's strategy says (an OCO on the venue, or the monitor's own)."""
    operation_id = _planned(app)
    return measure(app, lambda ctx: commands.execute(ctx, operation_id))


def close(app: bootstrap.App) -> Reads:
    """A manual close of a position protected on the venue: its OCO cancelled, then out at market."""
    operation_id = opened(app)
    return measure(app, lambda ctx: trading.close(ctx, operation_id, "by hand"))


def stop_exit(app: bootstrap.App) -> Reads:
    """The monitor's exit of an internally protected position whose stop a price crossed (`exits.trigger`)."""
    operation_id = opened(app)
    assert app.market is not None
    app.market.push_price(SYMBOL, CROSSING)
    return measure(app, lambda ctx: exits.trigger(ctx, [exits.Crossing(operation_id, "STOP")], CROSSING))


SCENARIOS: dict[str, tuple[Callable[[bootstrap.App], Reads], bool]] = {  # name -> (scenario, internal protection)
    "plan": (plan, False),
    "plan (a position open)": (plan_beside, False),
    "validate": (validate, False),
    "execute (OCO on the venue)": (execute, False),
    "execute (internal protection)": (execute, True),
    "close": (close, False),
    "internal stop exit": (stop_exit, True),
}
