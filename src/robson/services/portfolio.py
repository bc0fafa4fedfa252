"""The portfolio as the venue and the ledger see it: net equity, free cash, positions, today's P&L."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal

from robson.domain.account import Account
from robson.domain.operation import Operation, OperationStatus
from robson.domain.values import ZERO
from robson.ports import ExchangePort, UnitOfWork
from robson.services.context import Context


@dataclass(frozen=True, slots=True)
class PositionLine:
    operation: Operation
    last_price: Decimal | None
    unrealized_pnl: Decimal | None


@dataclass(frozen=True, slots=True)
class PortfolioView:
    quote: str
    equity: Decimal
    available: Decimal
    positions: tuple[PositionLine, ...]
    unrealized_pnl: Decimal
    realized_pnl_today: Decimal
    active_operations: int


def equity(exchange: ExchangePort, quote: str) -> Decimal:
    """The account's net equity in the quote asset: what it holds less what it owes, at the last prices."""
    return equity_and_free(exchange, quote)[0]


def equity_and_free(exchange: ExchangePort, quote: str) -> tuple[Decimal, Decimal]:
    """Net equity and free quote from one read of the balances (on a real venue, one request)."""
    held = Account(exchange.balances())
    return held.net_equity(quote, prices(exchange, quote, held)), held.free(quote)


def prices(exchange: ExchangePort, quote: str, held: Account) -> dict[str, Decimal]:
    """The last price in the quote of each other asset of the account whose pair the venue lists and prices (an
    asset without one counts at zero)."""
    return values_of({symbol: exchange.last_price(symbol) for symbol in pairs_to_value(exchange, quote, held)}, quote)


def pairs_to_value(exchange: ExchangePort, quote: str, held: Account) -> list[str]:
    """The pairs whose last prices value the account in the quote: one for each other asset it holds or owes (an
    empty balance is worth nothing, whatever its price) that the venue lists against the quote."""
    listed = exchange.instruments()
    return [
        f"{asset}/{quote}"
        for asset, balance in held.balances.items()
        if asset != quote and (balance.total or balance.liabilities) and f"{asset}/{quote}" in listed
    ]


def values_of(prices: Mapping[str, Decimal | None], quote: str) -> dict[str, Decimal]:
    """Each asset's price in the quote, from the last prices of its pairs (`pairs_to_value`)."""
    found = {}
    for symbol, price in prices.items():
        base, _, against = symbol.partition("/")
        if against == quote and price is not None:
            found[base] = price
    return found


def realized_today(operations: list[Operation], now: datetime) -> Decimal:
    today = now.date()
    return sum(
        (t.pnl for op in operations for t in op.position.trades if t.exit_time.date() == today),
        ZERO,
    )


def portfolio(ctx: Context, quote: str) -> PortfolioView:
    uow: UnitOfWork
    today = datetime.combine(ctx.clock.now().astimezone(UTC).date(), time(), tzinfo=UTC)
    with ctx.unit_of_work() as uow:
        operations = uow.operations.recent(today, 0)  # the open ones, and those that traded today
    lines = []
    unrealized = ZERO
    marks: dict[str, Decimal | None] = {}  # one price per symbol
    for op in operations:
        if op.status is not OperationStatus.ACTIVE:
            continue
        if op.symbol not in marks:
            marks[op.symbol] = ctx.exchange.last_price(op.symbol)
        last = marks[op.symbol]
        pnl = op.position.unrealized_pnl(last, ctx.exchange.fee_rates(op.symbol).taker) if last else None
        unrealized += pnl or ZERO
        lines.append(PositionLine(op, last, pnl))
    held, available = equity_and_free(ctx.exchange, quote)  # one read of the balances
    return PortfolioView(
        quote=quote,
        equity=held,
        available=available,
        positions=tuple(lines),
        unrealized_pnl=unrealized,
        realized_pnl_today=realized_today(operations, ctx.clock.now()),
        active_operations=len(lines),
    )
