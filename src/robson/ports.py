"""The ports: the Protocols every adapter implements, and the contract's own value and error types.

Live, paper and backtest differ only in which adapters and which clock the composition root wires here.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol, runtime_checkable

from robson.domain.account import Balance as Balance  # the port speaks the domain's balance (re-exported)
from robson.domain.errors import InvalidValue
from robson.domain.events import Alert, DomainEvent
from robson.domain.fills import Fill
from robson.domain.instrument import Instrument
from robson.domain.operation import Operation, OperationStatus
from robson.domain.orders import Order, OrderStatus, OrderType
from robson.domain.values import ZERO, OrderSide
from robson.domain.venue import Capability
from robson.risk.policy_state import PolicyState

# ---- exchange errors: translated once at the adapter boundary --------------------------------


class ExchangeError(Exception):
    """Something the venue said or failed to say."""


class Retryable(ExchangeError):
    """Network error, timeout, 5xx or 429: the outcome may be unknown; query before sending again."""


class RateLimited(Retryable):
    """HTTP 429 (or -1003/-1015): slow down; `retry_after` seconds when the venue said (Retry-After)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Rejected(ExchangeError):
    """A definitive refusal. Never retried."""

    kind = "REJECTED"


class InsufficientFunds(Rejected):
    """Binance -2010 'Account has insufficient balance for requested action.'"""

    kind = "INSUFFICIENT_BALANCE"


class FilterFailure(Rejected):
    """Binance -1013 'Filter failure: <NAME>'."""

    kind = "FILTER_FAILURE"


class WouldTriggerImmediately(Rejected):
    """Binance -2010 'Order would trigger immediately.'"""

    kind = "WOULD_TRIGGER_IMMEDIATELY"


class UnknownOrder(Rejected):
    """Binance -2013 'Order does not exist.' / -2011 'Unknown order sent.'"""

    kind = "UNKNOWN_ORDER"


class UnknownSymbol(Rejected):
    """Binance -1121 'Invalid symbol.'"""

    kind = "UNKNOWN_SYMBOL"


class DuplicateOrder(Rejected):
    """Binance -2010 'Duplicate order sent.': the client order id is already in use."""

    kind = "DUPLICATE_ORDER"


class Fatal(ExchangeError):
    """Bad keys, IP ban, a broken contract: stop and alert a human."""


class Banned(Fatal):
    """HTTP 418: the IP is banned for ignoring 429s. Nothing may be sent until `retry_after` seconds have passed."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# ---- ledger errors: where the database itself cannot serve ---------------------------------------


class LedgerUnavailable(Exception):
    """The ledger's database cannot be opened (unreachable, not a database file): nothing was written."""


class NoLedger(InvalidValue):
    """No ledger where one was looked for: only an init-like command (paper reset, --create) makes one."""


# ---- exchange contract types ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderRequest:
    client_order_id: str
    symbol: str
    side: OrderSide
    type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OcoRequest:
    """A stop and a target for the same quantity; when one fills the venue cancels the other."""

    list_id: str
    symbol: str
    side: OrderSide
    quantity: Decimal
    stop_client_order_id: str
    stop_price: Decimal
    target_client_order_id: str
    target_price: Decimal


@dataclass(frozen=True, slots=True)
class OrderReport:
    """What the venue says about one order, with every fill it has had so far."""

    client_order_id: str
    exchange_order_id: str
    symbol: str
    side: OrderSide
    type: OrderType
    status: OrderStatus
    quantity: Decimal
    filled_quantity: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    list_id: str | None = None
    fills: tuple[Fill, ...] = ()


@dataclass(frozen=True, slots=True)
class Quote:
    """The best bid and ask: what a market sell and a market buy of a small size would get."""

    bid: Decimal
    ask: Decimal

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2

    @property
    def spread_bps(self) -> Decimal:
        """The spread in basis points of the mid."""
        return ((self.ask - self.bid) * 10000 / self.mid).quantize(Decimal("0.01"))

    def touch(self, side: OrderSide) -> Decimal:
        """The price a market order on this side takes first: the ask for a buy, the bid for a sell."""
        return self.ask if side is OrderSide.BUY else self.bid


@dataclass(frozen=True, slots=True)
class FeeRates:
    maker: Decimal
    taker: Decimal


class ExchangePort(Protocol):
    """One venue: the paper exchange, the backtest simulator, Binance, Alpaca. It declares what it can do; the use
    cases ask for the capability they need."""

    @property
    def name(self) -> str: ...

    @property
    def capabilities(self) -> frozenset[Capability]: ...

    def instruments(self) -> dict[str, Instrument]: ...

    def fee_rates(self, symbol: str) -> FeeRates: ...

    def last_price(self, symbol: str) -> Decimal | None: ...

    def quote(self, symbol: str) -> Quote | None: ...  # the best bid and ask, None when the book is empty

    def balances(self) -> dict[str, Balance]: ...

    def place_order(self, request: OrderRequest) -> OrderReport: ...

    def place_oco(self, request: OcoRequest) -> tuple[OrderReport, OrderReport]: ...

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport: ...

    def get_order(self, symbol: str, client_order_id: str) -> OrderReport: ...

    def open_orders(self, symbol: str | None = None) -> list[OrderReport]: ...


class PaperMarket(Protocol):
    """The paper venue's market side: prices pushed in by a person, a demo or a feed replay."""

    def push_price(self, symbol: str, price: Decimal) -> list[Fill]: ...

    def push_bar(self, symbol: str, open_: Decimal, high: Decimal, low: Decimal, close: Decimal) -> list[Fill]: ...

    def reset(self, balances: dict[str, Decimal]) -> None: ...

    def reload(self) -> None: ...  # see what other processes did to the same paper account


class PriceFeed(Protocol):
    """A stream of prices for the monitor: the paper venue's prices now; exchange websockets later."""

    def poll(self) -> list[tuple[str, Decimal]]: ...  # the (symbol, price) ticks since the last poll, in order


class OrderStream(Protocol):
    """What a venue pushes about the account's own orders (Binance's user-data stream: each executionReport):
    every report as the venue sent it, with the fill it carries, if any (its trade id makes a second delivery
    harmless). The monitor applies them as they come (services `on_fill`); `sync` stays the backstop, at a slower
    cadence, for whatever a stream may miss (a reconnect, a report lost)."""

    def updates(self) -> list[OrderReport]: ...  # what arrived since the last call, oldest first; never waits

    def healthy(self) -> bool: ...  # connected and listening now (False: the backstop sync runs at every pass)

    def close(self) -> None: ...


class PriceQueue(Protocol):
    """The paper venue's pushed prices, in order, until the paper feed takes them."""

    def append(self, symbol: str, prices: Sequence[Decimal], at: datetime) -> None: ...  # pushed at `at`

    def pending(self) -> list[tuple[int, str, Decimal, datetime]]: ...  # every one queued: (id, symbol, price, at)

    def done(self, ids: Sequence[int]) -> None: ...  # these were acted on: no longer queued

    def clear(self) -> None: ...


@runtime_checkable
class QueuedFeed(Protocol):
    """What a feed over a queue of pushed prices adds (the paper venue's): each price with the time it was pushed
    (a price pushed before an operation was opened says nothing about it), and a price leaves the queue only once
    the monitor has acted on it."""

    def poll_timed(self) -> list[tuple[str, Decimal, datetime | None]]: ...  # as poll(); None: a price of now

    def acted(self) -> None: ...  # everything handed out so far was acted on: it leaves the queue


@runtime_checkable
class StreamFeed(Protocol):
    """What a feed over a venue's stream adds (the monitor asks when a feed offers it)."""

    def refused(self) -> list[str]: ...  # the messages refused since the last call (no real price, unreadable)

    def follow_trades(self, symbols: frozenset[str]) -> None: ...  # these symbols need every trade, not samples


# ---- the paper venue's own storage ------------------------------------------------------------


@dataclass(slots=True)
class PaperState:
    """Everything the paper venue knows; persisted so that a restarted process sees the same account."""

    balances: dict[str, Balance] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)  # by client order id
    fills: list[Fill] = field(default_factory=list)
    prices: dict[str, Decimal] = field(default_factory=dict)
    sequence: int = 0
    revision: int = field(default=0, compare=False)  # the store's count of writes when this was read
    working: set[str] = field(init=False, repr=False, compare=False)  # client order ids of the open orders

    def __post_init__(self) -> None:
        self.working = {cid for cid, order in self.orders.items() if order.status.is_open}


@dataclass(slots=True)
class PaperChanges:
    """What one paper call changed; written in one transaction."""

    balances: dict[str, Balance] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    prices: dict[str, Decimal] = field(default_factory=dict)
    sequence: int | None = None


class PaperStore(Protocol):
    """The paper account's storage, shared by every process on the same database. Its revision counts the writes:
    a copy read at revision r is current as long as the store is still at r."""

    def revision(self) -> int: ...  # cheap: one read, no lock

    def load(self) -> PaperState: ...  # one consistent snapshot, its revision with it

    # One read-modify-write that no other process's can interleave with: it yields the revision at its start (the
    # lock held); load() and commit() inside it read and write in it; it commits at the end, or rolls back.
    def transaction(self) -> AbstractContextManager[int]: ...

    def commit(self, changes: PaperChanges) -> None: ...  # raises the revision by one

    def reset(self, balances: dict[str, Balance]) -> None: ...  # raises the revision; the id sequence goes on


class Lease(Protocol):
    """One `robson run` acts for an account at a time: it holds the lease for as long as it lives (the lease ends
    with the process, however it ends)."""

    def acquire(self) -> bool: ...  # tries once, never waits: True when this process holds it

    def holder(self) -> str | None: ...  # who holds it, when known

    def release(self) -> None: ...


# ---- the ledger ------------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> datetime: ...


class SimulatedClock(Clock, Protocol):
    """Time that moves only when the loop that owns it says so (the demo, a backtest); never backwards."""

    def set(self, moment: datetime) -> None: ...

    def advance(self, delta: timedelta) -> None: ...


class OperationRepository(Protocol):
    def add(self, operation: Operation) -> Operation: ...

    def get(self, operation_id: int) -> Operation | None: ...

    def list(self, statuses: Sequence[OperationStatus] = ()) -> list[Operation]: ...

    # open ones, those created or closed since `since`, and the last `last_closed` closed
    def recent(self, since: datetime, last_closed: int) -> builtins.list[Operation]: ...

    def save(self, operation: Operation) -> None: ...

    def attach(self, operation: Operation) -> Operation: ...

    # id -> version of the operations in these statuses, nothing loaded: what changed since a watcher last looked
    def versions(self, statuses: Sequence[OperationStatus]) -> dict[int, int]: ...

    # the operation each of these client order ids belongs to (ids no operation holds are left out)
    def owners(self, client_order_ids: Collection[str]) -> dict[str, int]: ...


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, str]
    after: dict[str, str]


class AuditLog(Protocol):
    def append(self, event: DomainEvent, actor: str) -> None: ...

    def list(self, entity: str | None = None, entity_id: str | None = None) -> list[AuditRecord]: ...


class PolicyRepository(Protocol):
    """The account's policy state: one row, read and written whole."""

    def get(self) -> PolicyState | None: ...

    def save(self, state: PolicyState) -> None: ...


class MarkRepository(Protocol):
    """Recent marks per symbol: the history correlations and price-move checks measure."""

    def add(self, symbol: str, at: datetime, price: Decimal) -> None: ...

    def recent(self, symbol: str, limit: int) -> list[Decimal]: ...  # oldest first

    def prune(self, symbol: str, keep: int) -> None: ...


class Notifier(Protocol):
    """Where alerts go: a log now; Telegram and webhooks later."""

    def notify(self, alert: Alert) -> None: ...


@dataclass(frozen=True, slots=True)
class ExecutionRecord:
    """One attempt to execute an order (with its retries): what was asked, what the venue did, at what cost."""

    at: datetime
    venue: str
    operation_id: int | None
    client_order_id: str
    symbol: str
    side: OrderSide
    type: OrderType
    role: str
    requested_price: Decimal | None  # the limit, or for a market order the reference price when it was sent
    executed_price: Decimal | None  # the fills' volume-weighted average
    slippage_bps: Decimal | None  # executed against requested; positive is worse for us
    requested_quantity: Decimal
    filled_quantity: Decimal
    fees: Decimal  # in the quote asset (fees paid in another asset valued at the fill price)
    latency_ms: Decimal
    retries: int
    status: str  # the venue's order status, or REJECTED / UNKNOWN
    error: str | None = None
    spread_bps: Decimal | None = None
    volatility_bps: Decimal | None = None  # standard deviation of recent mark-to-mark returns
    id: int | None = None

    @property
    def fill_percent(self) -> Decimal:
        if self.requested_quantity <= 0:
            return ZERO
        return self.filled_quantity * 100 / self.requested_quantity


class ExecutionLog(Protocol):
    def add(self, record: ExecutionRecord) -> None: ...

    def list(self, symbol: str | None = None, limit: int | None = None) -> list[ExecutionRecord]: ...


class UnitOfWork(Protocol):
    # read-only: an implementation may hold its own repository types (each implementing the protocol)
    @property
    def operations(self) -> OperationRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def policy(self) -> PolicyRepository: ...

    @property
    def marks(self) -> MarkRepository: ...

    @property
    def executions(self) -> ExecutionLog: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *args: object) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
