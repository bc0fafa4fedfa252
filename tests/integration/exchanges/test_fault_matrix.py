"""The fault matrix: one whole operation per case, through the real use cases over a SQLite ledger, against the fake
Binance (ccxt) and the fake Alpaca (alpaca-py), with one fault injected on one route of the lifecycle:

    plan -> execute (entry + protective OCO) -> the price moves -> exit (stop crossed, target reached, or a manual
    close: cancel the OCO, then the exit order) -> reconcile

The route is the step the fault hits: the entry order, the protective OCO, the exit order of a manual close, the
cancel of the protection before that exit, or the monitor's price feed (a dropped websocket). The trader reacts as
a person would: after an error, `reconcile` (what `robson run` does first), wait out a ban, and try again.

After every case the fake venue and Robson's ledger tell the same story: no order twice and none missing, the same
open orders, the same trades, balances equal to the starting balances plus the ledger's fills, and the realized P&L
of the closed operation equal to the venue's trades and fees, exactly. While the operation is open, its position is
covered by a working stop. Refusals (-2010, -1013, 418) also pin the operation's state and the line the trader reads.

The context never sleeps (its `sleep` records the backoff asked for) and its clock is manual; only the fakes' held
answers take real time, cut short by a short client timeout.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar, Protocol

import pytest

from robson.clock import ManualClock
from robson.domain.events import Alert
from robson.domain.operation import CloseReason, Operation, OperationStatus
from robson.domain.orders import OrderRole, OrderStatus
from robson.domain.protection import ProtectionMode
from robson.domain.values import OrderSide, Side
from robson.execution.adapters.alpaca import AlpacaExchange
from robson.execution.adapters.binance import BinanceExchange
from robson.exits.policy import ExitPolicy
from robson.monitor.loop import Monitor
from robson.ports import Banned, ExchangeError, ExchangePort, OcoRequest, OrderReport, OrderRequest
from robson.services import commands, following, planning, trading
from robson.services.context import Context
from robson.services.errors import Refused
from robson.services.reconcile import reconcile
from tests.fakes import alpaca_server, binance_server
from tests.integration.services.conftest import START, AppFactory

D = Decimal
ZERO = D(0)
TIMEOUT_S = 0.75  # the adapters' timeout: a held answer costs this much real time (loaded CI answers the rest in ms)
HELD_S = 1.5  # how long the fakes hold an answer for a timeout fault
RETRY_AFTER = 7
KEY, SECRET = "matrix-key-5e1f", "matrix-secret-77aa"


# ---- the two venues, as the matrix reads them ----------------------------------------------------------------------


@dataclass(frozen=True)
class VenueOrder:
    client_order_id: str
    exchange_order_id: str
    is_open: bool


@dataclass(frozen=True)
class VenueTrade:
    trade_id: str
    side: OrderSide
    price: Decimal
    quantity: Decimal
    fee: Decimal  # in the quote asset


class World(Protocol):
    """One fake venue and its adapter: how to fault it, move it, and read its books."""

    name: str
    symbol: str
    quote: str
    entry: Decimal
    stop: Decimal
    up: Decimal  # a move between the stop and the target
    below_stop: Decimal
    tick: Decimal
    start: tuple[Decimal, Decimal]  # base and quote held before the operation
    exchange: ExchangePort
    routes: dict[str, str]

    def inject(self, route: str, fault: str) -> None: ...

    def set_price(self, price: Decimal) -> None: ...

    def orders(self) -> list[VenueOrder]: ...

    def trades(self) -> list[VenueTrade]: ...

    def holdings(self) -> tuple[Decimal, Decimal]: ...

    def sends(self, ids: tuple[str, ...]) -> int: ...


class BinanceWorld:
    name = "binance"
    symbol, quote = "BTC/USDT", "USDT"
    entry, stop, up, below_stop, tick = D(30000), D(29400), D(30300), D(29300), D(100)
    start = (ZERO, D(10000))
    routes: ClassVar[dict[str, str]] = {
        "entry": "POST /api/v3/order",
        "protection": "POST /api/v3/orderList/oco",
        "exit": "POST /api/v3/order",
        "cancel": "DELETE /api/v3/order",
    }
    Fault = binance_server.Fault
    faults: ClassVar[dict[str, Callable[[], binance_server.Fault]]] = {
        "timeout_before": lambda: binance_server.Fault.timeout_before_accept(HELD_S),
        "timeout_after": lambda: binance_server.Fault.timeout_after_accept(HELD_S),
        "500": Fault.server_error,
        "503": Fault.unavailable,
        "429": lambda: binance_server.Fault.rate_limited(RETRY_AFTER),
        "418": lambda: binance_server.Fault.banned(120),
        "-2010": Fault.insufficient_balance,
        "-1013": lambda: binance_server.Fault.filter_failure("LOT_SIZE"),
        "partial": lambda: binance_server.Fault.partial_fill("0.5"),
    }

    def __init__(self, fake: binance_server.BinanceFake, clock: ManualClock) -> None:
        self.fake = fake
        self.exchange = BinanceExchange(
            KEY, SECRET, base_url=fake.url, ws_url=fake.ws_url, timeout_ms=int(TIMEOUT_S * 1000), clock=clock
        )  # the app's clock: a ban is waited out on it

    def inject(self, route: str, fault: str) -> None:
        self.fake.inject(self.routes[route], self.faults[fault]())

    def set_price(self, price: Decimal) -> None:
        self.fake.set_price("BTCUSDT", price)

    def orders(self) -> list[VenueOrder]:
        return [VenueOrder(o.client_order_id, str(o.order_id), o.is_open) for o in self.fake.orders]

    def trades(self) -> list[VenueTrade]:
        with self.fake.venue.lock:
            rows = [dict(row) for row in self.fake.venue.trades]
        assert all(row["commissionAsset"] == self.quote for row in rows)
        side = {True: OrderSide.BUY, False: OrderSide.SELL}
        return [
            VenueTrade(str(r["id"]), side[r["isBuyer"]], D(r["price"]), D(r["qty"]), D(r["commission"])) for r in rows
        ]

    def holdings(self) -> tuple[Decimal, Decimal]:
        return sum(self.fake.balance("BTC"), ZERO), sum(self.fake.balance("USDT"), ZERO)

    def sends(self, ids: tuple[str, ...]) -> int:
        placements = self.fake.requests_to(self.routes["entry"]) + self.fake.requests_to(self.routes["protection"])
        named = ("newClientOrderId", "listClientOrderId")
        return sum(1 for r in placements if any(r.params.get(name) in ids for name in named))


class AlpacaWorld:
    name = "alpaca"
    symbol, quote = "AAPL/USD", "USD"
    entry, stop, up, below_stop, tick = D(150), D(147), D(151), D("146.50"), D("0.50")
    start = (ZERO, D(10000))
    routes: ClassVar[dict[str, str]] = {
        "entry": "POST /v2/orders",
        "protection": "POST /v2/orders",
        "exit": "POST /v2/orders",
        "cancel": "DELETE /v2/orders/{order_id}",
    }
    Fault = alpaca_server.Fault
    faults: ClassVar[dict[str, dict[str, Any]]] = {
        "timeout_before": {"fault": Fault.TIMEOUT_BEFORE, "delay": HELD_S},
        "timeout_after": {"fault": Fault.TIMEOUT_AFTER, "delay": HELD_S},
        "500": {"fault": Fault.HTTP_500},
        "503": {"fault": Fault.ERROR, "status": 503, "code": 50310000, "message": "service unavailable"},
        "429": {"fault": Fault.RATE_LIMITED, "retry_after": RETRY_AFTER},
        "-2010": {"fault": Fault.INSUFFICIENT_BUYING_POWER},  # Alpaca's 403 "insufficient buying power"
        "-1013": {  # Alpaca's 422 for an amount off its grid
            "fault": Fault.ERROR,
            "status": 422,
            "code": 42210000,
            "message": "invalid limit_price 150.005. sub-penny increment does not fulfill minimum pricing criteria",
        },
        "partial": {"fault": Fault.PARTIAL_FILL},  # half of the order, whole shares
    }

    def __init__(self, fake: alpaca_server.AlpacaFake) -> None:
        self.fake = fake
        self.exchange = AlpacaExchange(
            alpaca_server.FAKE_KEY_ID,
            alpaca_server.FAKE_SECRET_KEY,
            base_url=fake.url,
            symbols=(self.symbol,),
            clock=ManualClock(START),
            timeout=TIMEOUT_S,
        )

    def inject(self, route: str, fault: str) -> None:
        spec = dict(self.faults[fault])
        self.fake.inject(self.routes[route], spec.pop("fault"), **spec)

    def set_price(self, price: Decimal) -> None:
        self.fake.set_price("AAPL", price)

    def orders(self) -> list[VenueOrder]:
        return [VenueOrder(o.client_order_id, o.id, o.is_open) for o in self.fake.snapshot_orders()]

    def trades(self) -> list[VenueTrade]:
        side = {"buy": OrderSide.BUY, "sell": OrderSide.SELL}
        return [  # no commission on US equities
            VenueTrade(str(a["id"]), side[a["side"]], D(a["price"]), D(a["qty"]), ZERO)
            for a in self.fake.snapshot_activities()
        ]

    def holdings(self) -> tuple[Decimal, Decimal]:
        return self.fake.position("AAPL"), self.fake.cash

    def sends(self, ids: tuple[str, ...]) -> int:
        posts = self.fake.requests_to("POST", "/v2/orders")
        return sum(1 for r in posts if isinstance(r.body, dict) and r.body.get("client_order_id") in ids)


@pytest.fixture
def binance(clock: ManualClock) -> Iterator[BinanceWorld]:
    balances, prices = {"USDT": "10000"}, {"BTCUSDT": "30000", "ETHUSDT": "2000"}
    with binance_server.BinanceFake(balances=balances, prices=prices, api_key=KEY) as fake:
        yield BinanceWorld(fake, clock)


@pytest.fixture
def alpaca() -> Iterator[AlpacaWorld]:
    with alpaca_server.AlpacaFake(symbols=("AAPL",), cash=D(10000)) as fake:
        fake.set_price("AAPL", D(150))
        yield AlpacaWorld(fake)


# ---- a fault, armed right before the step it belongs to ------------------------------------------------------------


class Armed:
    """The venue's adapter, unchanged, except that the case's fault is queued on the fake right before the first call
    of its step (the fakes fault the next request on a route, and on Alpaca the entry, the OCO and the exit share
    one route). Remembers the ids of the faulted request, to count how often it reached the venue."""

    def __init__(self, world: World, route: str, fault: str) -> None:
        self.world, self.route, self.fault = world, route, fault
        self.inner = world.exchange
        self.name, self.capabilities = self.inner.name, self.inner.capabilities
        self.fired = route not in world.routes  # the feed's fault is not an order route's
        self.ids: tuple[str, ...] = ()

    def __getattr__(self, attribute: str) -> object:
        return getattr(self.inner, attribute)

    def _at(self, step: str, *ids: str) -> None:
        if not self.fired and step == self.route:
            self.fired, self.ids = True, ids
            self.world.inject(self.route, self.fault)

    def place_order(self, request: OrderRequest) -> OrderReport:
        role = request.client_order_id.rsplit("-", 1)[-1][:1]  # rb<operation>-<role letter><attempt>
        self._at({"e": "entry", "x": "exit"}.get(role, ""), request.client_order_id)
        return self.inner.place_order(request)

    def place_oco(self, request: OcoRequest) -> tuple[OrderReport, OrderReport]:
        self._at("protection", request.list_id, request.target_client_order_id)
        return self.inner.place_oco(request)

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        self._at("cancel")
        return self.inner.cancel_order(symbol, client_order_id)


# ---- one case: the whole lifecycle ---------------------------------------------------------------------------------


class Alerts:
    def __init__(self) -> None:
        self.sent: list[Alert] = []

    def notify(self, alert: Alert) -> None:
        self.sent.append(alert)


@dataclass
class Run:
    """What the trader lived through: the lines read at each step, the operation right after the faulted step, the
    backoff asked for, the alerts, and any moment an open position had no working stop for all of it."""

    ctx: Context
    armed: Armed
    alerts: Alerts
    sleeps: list[float]
    operation_id: int = 0
    faulted_step: str = ""  # "execute", "close" or "monitor"
    said: list[tuple[str, str]] = field(default_factory=list)  # (step, line): raised errors and outcome warnings
    after_fault: Operation | None = None
    unprotected: list[str] = field(default_factory=list)

    def operation(self) -> Operation:
        return planning.load(self.ctx, self.operation_id)


def step(run: Run, name: str, action: Callable[[], object], faulted: bool = False) -> bool:
    """One step as the trader takes it; a refusal or an error is what the trader reads. True when it went through."""
    try:
        result = action()
    except (Refused, ExchangeError) as error:
        run.said.append((name, str(error)))
        if isinstance(error, Banned):
            assert isinstance(run.ctx.clock, ManualClock)
            run.ctx.clock.advance(timedelta(seconds=(error.retry_after or 0) + 1))  # the trader waits out the ban
        went_through = False
    else:
        outcomes = result if isinstance(result, list) else [result]
        run.said += [(name, warning) for outcome in outcomes for warning in getattr(outcome, "warnings", [])]
        went_through = True
    if faulted:
        run.after_fault = run.operation()
    return went_through


def check_protected(run: Run, moment: str) -> None:
    """An open position on an exchange-protected operation has working stops for all of it."""
    op = run.operation()
    if op.status is not OperationStatus.ACTIVE or op.position.is_flat or op.protection != "exchange":
        return
    covered = sum((o.remaining for o in op.open_orders(OrderRole.STOP)), ZERO)
    if covered < op.position.quantity:
        run.unprotected.append(f"{moment}: {op.position.quantity} held, {covered} under a working stop")


def lifecycle(world: World, make_app: AppFactory, route: str, fault: str, exit_by: str) -> Run:
    app = make_app()
    sleeps: list[float] = []
    armed = Armed(world, route, fault)
    internal = {"default": ExitPolicy(mode=ProtectionMode.INTERNAL)} if exit_by == "feed-internal" else {}
    ctx = dataclasses.replace(
        app.context,
        exchange=armed,  # type: ignore[arg-type]
        quote=world.quote,
        sleep=sleeps.append,
        close_fallback_seconds=ZERO,  # the close's limit, then market at once: this matrix has no loop passing
        execution=dataclasses.replace(app.context.execution, fill_seconds=ZERO),
        notifier=Alerts(),
        exit_policies=internal,
    )
    assert isinstance(ctx.notifier, Alerts)
    run = Run(ctx, armed, ctx.notifier, sleeps)
    planned = planning.plan(ctx, world.symbol, Side.LONG, world.entry, world.stop)
    assert planned.operation.id is not None
    run.operation_id = planned.operation.id
    faulted = {"entry": "execute", "protection": "execute", "exit": "close", "cancel": "close"}.get(route, "monitor")
    run.faulted_step = faulted

    if not step(run, "execute", lambda: commands.execute(ctx, run.operation_id), faulted == "execute"):
        reconcile(ctx)
        if run.operation().status is OperationStatus.PLANNED:  # nothing was placed: execute again
            step(run, "execute again", lambda: commands.execute(ctx, run.operation_id))
    if run.operation().status is OperationStatus.ACTIVE:
        world.set_price(world.up)
        following.sync(ctx)  # the monitor's pass after a tick
        check_protected(run, "after the price moved")
        exit_(run, world, exit_by, faulted == "close")
    reconcile(ctx)
    return run


def exit_(run: Run, world: World, exit_by: str, faulted: bool) -> None:
    ctx = run.ctx
    if exit_by == "stop":
        world.set_price(world.below_stop)
        following.sync(ctx)
    elif exit_by == "target":
        target = run.operation().target_price
        assert target is not None
        world.set_price(target)
        following.sync(ctx)
        check_protected(run, "after the target traded")
        world.set_price(target + world.tick)
        following.sync(ctx)
    elif exit_by == "close":
        if not step(run, "close", lambda: trading.close(ctx, run.operation_id, "done"), faulted):
            reconcile(ctx)
            if run.operation().status is OperationStatus.ACTIVE:
                step(run, "close again", lambda: trading.close(ctx, run.operation_id, "done"))
    else:
        watch_through_a_dropped_socket(run, world)


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        time.sleep(0.01)


def watch_through_a_dropped_socket(run: Run, world: World) -> None:
    """The monitor watches Binance's websocket; the socket drops (and stays down) just before the stop is crossed.
    The feed falls back to REST, and the monitor still sees the crossing."""
    assert isinstance(world, BinanceWorld)
    feed = world.exchange.price_feed([world.symbol])
    try:
        world.fake.wait_for_subscribers("BTCUSDT")
        eventually(lambda: feed.connected)
        monitor = Monitor(run.ctx, feed)
        monitor.recover()
        monitor.poll_once()
        world.fake.drop_websockets(refuse_reconnects=True)
        eventually(lambda: not feed.connected)
        world.set_price(world.below_stop)
        polled = len(world.fake.requests_to("GET /api/v3/ticker/price"))
        outcomes = monitor.poll_once()
        assert len(world.fake.requests_to("GET /api/v3/ticker/price")) > polled  # the price came by REST
        run.said += [("monitor", warning) for outcome in outcomes for warning in outcome.warnings]
        run.after_fault = run.operation()
    finally:
        feed.close()


# ---- the venue against the ledger ----------------------------------------------------------------------------------


def assert_the_venue_and_the_ledger_agree(world: World, ctx: Context) -> None:
    operations = planning.operations(ctx)
    orders = [o for op in operations for o in op.orders]
    fills = [f for op in operations for f in op.fills]
    venue_orders, trades = world.orders(), world.trades()

    # no order twice, none missing: the venue's orders are exactly the ledger's orders that reached it
    assert len({o.client_order_id for o in orders}) == len(orders)
    assert len({o.client_order_id for o in venue_orders}) == len(venue_orders)
    assert [o.client_order_id for o in orders if o.status is OrderStatus.PENDING_NEW] == []
    reached = {o.exchange_order_id: o for o in orders if o.status is not OrderStatus.REJECTED}
    assert set(reached) == {o.exchange_order_id for o in venue_orders}
    for venue_order in venue_orders:  # under our client order ids (Alpaca names an OCO's stop leg itself)
        ours = reached[venue_order.exchange_order_id]
        assert venue_order.client_order_id == ours.client_order_id or (
            world.name == "alpaca" and ours.role is OrderRole.STOP and ours.list_id is not None
        )
    # the same open orders
    assert {o.exchange_order_id for o in venue_orders if o.is_open} == {
        o.exchange_order_id for o in orders if o.status.is_open
    }
    # the same trades, each applied once
    assert sorted((t.trade_id, t.side, t.price, t.quantity, t.fee) for t in trades) == sorted(
        (f.trade_id, f.side, f.price, f.quantity, f.fee) for f in fills
    )
    # the venue's balances are the starting balances plus what the ledger's fills imply
    base, quote = world.start
    for fill in fills:
        sign = 1 if fill.side is OrderSide.BUY else -1
        base += sign * fill.quantity
        quote -= sign * fill.price * fill.quantity + fill.fee
    assert world.holdings() == (base, quote)
    # the realized P&L of the closed operation is the venue's trades less their fees, to the last digit
    [op] = operations
    venue_pnl = sum(((1 if t.side is OrderSide.SELL else -1) * t.price * t.quantity - t.fee for t in trades), ZERO)
    if op.status is OperationStatus.CLOSED:
        assert op.realized_pnl == venue_pnl
    assert op.status is not OperationStatus.ACTIVE, "every case ends with the operation settled"


# ---- the table -----------------------------------------------------------------------------------------------------

P, A, C, R = OperationStatus.PLANNED, OperationStatus.ACTIVE, OperationStatus.CLOSED, OperationStatus.REJECTED
STOPPED = (C, CloseReason.STOP_LOSS)
TAKEN = (C, CloseReason.TAKE_PROFIT)
MANUAL = (C, CloseReason.MANUAL)
UNPROTECTED = (C, CloseReason.PROTECTION_FAILED)
REFUSED = (R, None)


@dataclass(frozen=True)
class Expect:
    then: OperationStatus | None  # the operation right after the faulted step
    final: tuple[OperationStatus, CloseReason | None]  # ... and at the end
    says: str | None = None  # words of the first line the trader reads at the faulted step; None: nothing to read
    waits: str = "none"  # the backoff asked for: "none", "backoff" (one), "retry_after" (>= Retry-After), "any"
    sends: int | None = None  # how often the faulted order's request reached the venue


BACKOFF, FOUND, HONOURED = "backoff", "none", "retry_after"


def goes_through(then: OperationStatus, final: tuple[OperationStatus, CloseReason | None], fault: str) -> Expect:
    """A fault the execution service absorbs: asked about, then sent again (or found) after the right wait."""
    waits = {"timeout_after": FOUND, "429": HONOURED}.get(fault, BACKOFF)
    return Expect(then, final, None, waits, 1 if fault == "timeout_after" else 2)


RETRIED = ("timeout_before", "timeout_after", "500", "503", "429")
INSUFFICIENT, FILTER = "INSUFFICIENT_BALANCE", "FILTER_FAILURE"
NO_SUCH_CANCEL = "a venue answers a cancel with -2011 unknown order (covered), never with a balance or filter refusal"

# (route, fault, how the operation exits, what must happen)
TABLE: list[tuple[str, str, str, Expect]] = [
    *[("entry", f, "stop", goes_through(A, STOPPED, f)) for f in RETRIED],
    ("entry", "418", "stop", Expect(P, STOPPED, "HTTP 418", sends=1)),
    ("entry", "-2010", "stop", Expect(R, REFUSED, f"the venue rejected the entry: {INSUFFICIENT}", sends=1)),
    ("entry", "-1013", "stop", Expect(R, REFUSED, f"the venue rejected the entry: {FILTER}", sends=1)),
    ("entry", "partial", "stop", Expect(A, STOPPED, "the entry filled", sends=1)),  # the rest is cancelled
    *[("protection", f, "stop", goes_through(A, STOPPED, f)) for f in RETRIED],
    ("protection", "418", "stop", Expect(A, STOPPED, "HTTP 418", sends=1)),
    ("protection", "-2010", "stop", Expect(C, UNPROTECTED, f"refused the protective orders ({INSUFFICIENT}", sends=1)),
    ("protection", "-1013", "stop", Expect(C, UNPROTECTED, f"refused the protective orders ({FILTER}", sends=1)),
    ("protection", "partial", "target", Expect(A, TAKEN, sends=1)),
    *[("exit", f, "close", goes_through(C, MANUAL, f)) for f in RETRIED],
    ("exit", "418", "close", Expect(A, MANUAL, "HTTP 418", sends=1)),
    ("exit", "-2010", "close", Expect(C, MANUAL, f"the marketable limit was refused ({INSUFFICIENT}", sends=1)),
    ("exit", "-1013", "close", Expect(C, MANUAL, f"the marketable limit was refused ({FILTER}", sends=1)),
    ("exit", "partial", "close", Expect(C, MANUAL, "the marketable limit left", sends=1)),
    *[("cancel", f, "close", Expect(C, MANUAL, waits="any")) for f in RETRIED],
    ("cancel", "418", "close", Expect(A, MANUAL, "HTTP 418")),
    *[("cancel", f, "close", Expect(C, MANUAL)) for f in ("-2010", "-1013", "partial")],
    ("feed", "ws_drop", "feed", Expect(C, STOPPED)),
    ("feed", "ws_drop", "feed-internal", Expect(C, STOPPED)),
]

# (venue, route, fault or "*", exit or "*") -> a case that does not exist, skipped with the reason
NOTES: dict[tuple[str, str, str, str], pytest.MarkDecorator] = {
    **{
        (v, "cancel", f, "close"): pytest.mark.skip(reason=NO_SUCH_CANCEL)
        for v in ("binance", "alpaca")
        for f in ("-2010", "-1013")
    },
    **{
        (v, "cancel", "partial", "close"): pytest.mark.skip(reason="a cancel fills nothing")
        for v in ("binance", "alpaca")
    },
    ("alpaca", "*", "418", "*"): pytest.mark.skip(reason="Alpaca has no IP ban: its 4xx are refusals, covered"),
    ("alpaca", "feed", "*", "*"): pytest.mark.skip(reason="Robson reads no Alpaca websocket yet"),
}


def _marks(venue: str, route: str, fault: str, exit_by: str) -> list[pytest.MarkDecorator]:
    keys = [(venue, route, fault, exit_by), (venue, route, "*", "*"), (venue, "*", fault, "*")]
    return [NOTES[key] for key in keys if key in NOTES]


CASES = [
    pytest.param(
        venue,
        route,
        fault,
        exit_by,
        expect,
        id=f"{venue}-{route}-{fault}-{exit_by}",
        marks=_marks(venue, route, fault, exit_by),
    )
    for venue in ("binance", "alpaca")
    for route, fault, exit_by, expect in TABLE
]


@pytest.mark.parametrize(("venue", "route", "fault", "exit_by", "expect"), CASES)
def test_one_fault_one_lifecycle(
    request: pytest.FixtureRequest,
    make_app: AppFactory,
    venue: str,
    route: str,
    fault: str,
    exit_by: str,
    expect: Expect,
) -> None:
    world: World = request.getfixturevalue(venue)
    run = lifecycle(world, make_app, route, fault, exit_by)

    assert_the_venue_and_the_ledger_agree(world, run.ctx)
    assert run.unprotected == []
    op = run.operation()
    assert (op.status, op.close_reason) == expect.final, run.said
    if expect.then is not None:
        then = run.after_fault.status if run.after_fault is not None else None
        assert then is expect.then, run.said

    lines = [line for _, line in run.said]
    assert all(line and "\n" not in line and KEY not in line and SECRET not in line for line in lines)
    at_fault = [line for name, line in run.said if name == run.faulted_step]
    assert [line for name, line in run.said if not name.startswith(run.faulted_step)] == []  # nothing else to read
    if expect.says is None:
        assert at_fault == []
    else:
        assert at_fault and expect.says in at_fault[0], at_fault
    banned = [a for a in run.alerts.sent if a.code == "VENUE_BANNED"]
    assert len(banned) == (1 if fault == "418" else 0)

    if expect.waits == "none":
        assert run.sleeps == []
    elif expect.waits == "backoff":
        assert len(run.sleeps) == 1 and 0 < run.sleeps[0] <= run.ctx.retry.max_wait_seconds
    elif expect.waits == "retry_after":
        assert len(run.sleeps) == 1 and run.sleeps[0] >= RETRY_AFTER
    if expect.sends is not None:
        assert world.sends(run.armed.ids) == expect.sends

    again = reconcile(run.ctx)  # a second pass finds nothing left to repair or flag
    assert again.differences == []
