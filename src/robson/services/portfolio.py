"""The portfolio as the venue and the ledger see it: equity, free cash, positions, today's P&L."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal

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
    """Every balance valued in the quote asset at the last price (assets without a price count at zero)."""
    return account(exchange, quote)[0]


def account(exchange: ExchangePort, quote: str) -> tuple[Decimal, Decimal]:
    """Equity and free quote from one read of the balances (on a real venue, one request)."""
    balances = exchange.balances()
    free = balances[quote].free if quote in balances else ZERO
    total = ZERO
    for asset, balance in balances.items():
        if asset == quote:
            total += balance.total
            continue
        price = exchange.last_price(f"{asset}/{quote}") if f"{asset}/{quote}" in exchange.instruments() else None
        if price is not None:
            total += balance.total * price
    return total, free


def free_quote(exchange: ExchangePort, quote: str) -> Decimal:
    balance = exchange.balances().get(quote)
    return balance.free if balance else ZERO


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
    for op in operations:
        if op.status is not OperationStatus.ACTIVE:
            continue
        last = ctx.exchange.last_price(op.symbol)
        pnl = op.position.unrealized_pnl(last, ctx.exchange.fee_rates(op.symbol).taker) if last else None
        unrealized += pnl or ZERO
        lines.append(PositionLine(op, last, pnl))
    return PortfolioView(
        quote=quote,
        equity=equity(ctx.exchange, quote),
        available=free_quote(ctx.exchange, quote),
        positions=tuple(lines),
        unrealized_pnl=unrealized,
        realized_pnl_today=realized_today(operations, ctx.clock.now()),
        active_operations=len(lines),
    )
