"""The risk gateway: the one place every order that opens or grows exposure is judged, in live, paper and
backtest alike. It measures the portfolio (the book, today's trades, correlations, the policy state) from the
decision's snapshot (services/snapshot.py: read once by the use case), and the pure checks decide."""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from robson.domain.operation import Operation
from robson.domain.orders import OrderRole, OrderStatus
from robson.domain.values import ZERO
from robson.ports import UnitOfWork
from robson.risk import checks, policy_state
from robson.risk.proposal import Book, Intent, OpenExposure, PortfolioSnapshot, Proposal
from robson.risk.sizing import open_loss_at_stop
from robson.services.context import Context
from robson.services.snapshot import Snapshot, open_operations


def exposure(ctx: Context, op: Operation, snap: Snapshot) -> OpenExposure:
    """What one open operation puts at stake: its value at the mark and its loss if the current stop is hit."""
    position = op.position
    mark = snap.price(op.symbol) or position.average_entry or op.entry_price
    instrument = ctx.instrument(op.symbol)
    loss = open_loss_at_stop(
        op.side,
        position.quantity,
        position.cost_basis,
        position.open_entry_fees,
        op.stop_price,
        ctx.costs(op.symbol),
        instrument.tick_size,
    )
    risk = max(loss, ZERO)
    return OpenExposure(op.symbol, instrument.base, position.quantity * mark, risk, ctx.groups.get(op.symbol))


def book(ctx: Context, snap: Snapshot) -> Book:
    """The open operations among those the snapshot measured, aggregated."""
    return Book.of(exposure(ctx, op, snap) for op in open_operations(snap.operations))


def trades_today(operations: Iterable[Operation], now: datetime) -> int:
    """Entries sent to the venue today (UTC): every tranche counts; exits never do."""
    today = now.date()
    return sum(
        1
        for op in operations
        for order in op.orders
        if order.role is OrderRole.ENTRY
        and order.created_at.date() == today
        and order.status is not OrderStatus.REJECTED
        and not _adopted(op, order.client_order_id)
    )


def _adopted(op: Operation, client_order_id: str) -> bool:
    """The entry of an adopted position was bought elsewhere: it is on record but was never a trade here."""
    return any(f.client_order_id == client_order_id and f.trade_id.startswith("adopt-") for f in op.fills)


def log_returns(prices: Sequence[Decimal]) -> list[float]:
    """Log returns of successive marks. Statistics, not money: floats are fine here."""
    values = [float(p) for p in prices]
    return [math.log(b / a) for a, b in itertools.pairwise(values) if a > 0 and b > 0]


def correlations(uow: UnitOfWork, symbol: str, others: Iterable[str], lookback: int) -> dict[str, Decimal]:
    """The correlation of recent returns between `symbol` and each of `others` (where both have history)."""
    mine = log_returns(uow.marks.recent(symbol, lookback + 1))
    result: dict[str, Decimal] = {}
    for other in set(others) - {symbol}:
        theirs = log_returns(uow.marks.recent(other, lookback + 1))
        n = min(len(mine), len(theirs))
        if n < 3:
            continue
        try:
            value = statistics.correlation(mine[-n:], theirs[-n:])
        except statistics.StatisticsError:  # a constant series has no correlation
            continue
        result[other] = Decimal(f"{value:.4f}")
    return result


def portfolio_of(
    ctx: Context, uow: UnitOfWork, snap: Snapshot, proposal_symbol: str, strategy: str
) -> PortfolioSnapshot:
    """The portfolio the pure checks judge an order against, from the decision's snapshot."""
    limits = ctx.limits(strategy)
    held = book(ctx, snap)
    correlated = (
        correlations(uow, proposal_symbol, held.by_symbol, limits.correlation_lookback)
        if limits.max_correlated_positions is not None
        else {}
    )
    return PortfolioSnapshot(
        equity=snap.equity,
        free_quote=snap.free,
        capabilities=ctx.exchange.capabilities,
        book=held,
        trades_today=trades_today(snap.operations, snap.now),
        now=snap.now,
        policy=snap.policy,
        correlations=correlated,
        risk_percent=policy_state.risk_percent(snap.policy, limits),
    )


def decide(ctx: Context, uow: UnitOfWork, proposal: Proposal, strategy: str, snap: Snapshot) -> checks.Decision:
    """Judge one order against every rule of its strategy and the account's policy state, on the decision's
    snapshot (its measured operations include those already closed today: today's trades)."""
    if proposal.intent is Intent.REDUCE:
        return checks.evaluate(proposal, _EMPTY, ctx.limits(strategy))
    proposal = replace(proposal, costs=ctx.costs(proposal.instrument.symbol))  # reward and risk net of them
    return checks.evaluate(
        proposal, portfolio_of(ctx, uow, snap, proposal.instrument.symbol, strategy), ctx.limits(strategy)
    )


_EMPTY = PortfolioSnapshot(equity=ZERO, free_quote=ZERO, capabilities=frozenset())
