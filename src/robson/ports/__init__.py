"""The ports: the Protocols every adapter implements, and the contract's own value and error types, by concept:
`exchange` (the venue, its streams), `paper` (the paper venue's market, price queue and account storage), `ledger`
(the unit of work, its repositories, the lease), `time` (clocks), `notify`, `events` (the event bus), `errors`.

Live, paper and backtest differ only in which adapters and which clock the composition root wires here. Every name
is re-exported here: `from robson.ports import ExchangePort` and `from robson.ports.exchange import ExchangePort`
are the same.
"""

from robson.domain.account import Balance as Balance  # the port speaks the domain's balance (re-exported)
from robson.ports.errors import (
    Banned as Banned,
)
from robson.ports.errors import (
    DuplicateOrder as DuplicateOrder,
)
from robson.ports.errors import (
    ExchangeError as ExchangeError,
)
from robson.ports.errors import (
    Fatal as Fatal,
)
from robson.ports.errors import (
    FilterFailure as FilterFailure,
)
from robson.ports.errors import (
    InsufficientFunds as InsufficientFunds,
)
from robson.ports.errors import (
    LedgerUnavailable as LedgerUnavailable,
)
from robson.ports.errors import (
    NoLedger as NoLedger,
)
from robson.ports.errors import (
    RateLimited as RateLimited,
)
from robson.ports.errors import (
    Rejected as Rejected,
)
from robson.ports.errors import (
    Retryable as Retryable,
)
from robson.ports.errors import (
    UnknownOrder as UnknownOrder,
)
from robson.ports.errors import (
    UnknownSymbol as UnknownSymbol,
)
from robson.ports.errors import (
    WouldTriggerImmediately as WouldTriggerImmediately,
)
from robson.ports.events import (
    EventBus as EventBus,
)
from robson.ports.events import (
    Subscriber as Subscriber,
)
from robson.ports.exchange import (
    ExchangePort as ExchangePort,
)
from robson.ports.exchange import (
    FeeRates as FeeRates,
)
from robson.ports.exchange import (
    OcoRequest as OcoRequest,
)
from robson.ports.exchange import (
    OrderReport as OrderReport,
)
from robson.ports.exchange import (
    OrderRequest as OrderRequest,
)
from robson.ports.exchange import (
    OrderStream as OrderStream,
)
from robson.ports.exchange import (
    PriceFeed as PriceFeed,
)
from robson.ports.exchange import (
    Quote as Quote,
)
from robson.ports.exchange import (
    StreamFeed as StreamFeed,
)
from robson.ports.ledger import (
    AuditEntry as AuditEntry,
)
from robson.ports.ledger import (
    AuditLog as AuditLog,
)
from robson.ports.ledger import (
    AuditRecord as AuditRecord,
)
from robson.ports.ledger import (
    ExecutionLog as ExecutionLog,
)
from robson.ports.ledger import (
    ExecutionRecord as ExecutionRecord,
)
from robson.ports.ledger import (
    Lease as Lease,
)
from robson.ports.ledger import (
    MarkRepository as MarkRepository,
)
from robson.ports.ledger import (
    OperationRepository as OperationRepository,
)
from robson.ports.ledger import (
    PolicyRepository as PolicyRepository,
)
from robson.ports.ledger import (
    UnitOfWork as UnitOfWork,
)
from robson.ports.notify import (
    Notifier as Notifier,
)
from robson.ports.paper import (
    PaperChanges as PaperChanges,
)
from robson.ports.paper import (
    PaperMarket as PaperMarket,
)
from robson.ports.paper import (
    PaperState as PaperState,
)
from robson.ports.paper import (
    PaperStore as PaperStore,
)
from robson.ports.paper import (
    PriceQueue as PriceQueue,
)
from robson.ports.paper import (
    QueuedFeed as QueuedFeed,
)
from robson.ports.time import (
    Clock as Clock,
)
from robson.ports.time import (
    SimulatedClock as SimulatedClock,
)
