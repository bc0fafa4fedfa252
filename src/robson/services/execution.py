"""Getting an order to the venue exactly once, and measuring what it cost.

Every order carries a deterministic client order id, so the venue itself refuses a second copy. A network error,
a timeout, a 5xx or a 429 may leave the outcome unknown: before anything is sent again, the venue is asked for
that client order id. Found: that is the answer. Not there: the same request goes again after an exponential
backoff with jitter (tenacity), or after the venue's Retry-After. A definitive refusal is never retried; an IP
ban (418) stops sending and alerts a human.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from robson.domain.errors import InvalidValue
from robson.domain.events import Alert, AlertLevel
from robson.domain.orders import OrderType
from robson.domain.values import ZERO, OrderSide
from robson.ports import (
    Banned,
    DuplicateOrder,
    ExchangeError,
    ExecutionRecord,
    OrderReport,
    RateLimited,
    Retryable,
    UnitOfWork,
    UnknownOrder,
)
from robson.services.context import Context, RetryPolicy

T = TypeVar("T")
BPS = Decimal(10000)


@dataclass(slots=True)
class Attempts:
    """How many times a request was sent again, and the last error the venue gave, if any."""

    retries: int = 0
    error: str | None = None


def deliver(ctx: Context, send: Callable[[], T], find: Callable[[], T | None], attempts: Attempts) -> T:
    """Send once, and again only when the venue provably does not have the order: `find` asks for it by its client
    order id (None: not there). A duplicate refusal means an earlier copy arrived: `find` returns it. Raises the
    last Retryable when every attempt failed and the venue still does not show the order, so that the caller
    records it as never reached (or leaves it for reconciliation when even asking failed)."""
    policy = ctx.retry

    def once() -> T:
        try:
            return send()
        except DuplicateOrder:
            found = find()
            if found is None:
                raise
            return found
        except Banned as ban:
            _alert(ctx, "VENUE_BANNED", f"the venue banned this IP ({ban}): nothing is sent until a human acts")
            raise
        except Retryable as error:
            attempts.error = f"{type(error).__name__}: {error}"
            found = find()  # the outcome is unknown: ask before anything else is sent
            if found is not None:
                return found
            raise

    try:
        return once()  # the usual case: one send, and none of the retry machinery on the exit path
    except Retryable as error:
        failed = [error]

    def again() -> T:
        if failed:  # the send above, replayed as tenacity's first attempt so that it waits and counts from it
            raise failed.pop()
        return once()

    retrying = Retrying(
        stop=stop_after_attempt(max(1, policy.attempts)),
        wait=_wait(policy),
        retry=retry_if_exception_type(Retryable),
        sleep=ctx.sleep,
        before_sleep=lambda state: _count(attempts),
        reraise=True,
    )
    return retrying(again)


def _count(attempts: Attempts) -> None:
    attempts.retries += 1


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_exponential_jitter(
        multiplier=policy.first_wait_seconds, max=policy.max_wait_seconds, jitter=policy.first_wait_seconds
    )

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        told = error.retry_after if isinstance(error, RateLimited) and error.retry_after is not None else 0.0
        return max(float(told), backoff(state))

    return wait


def cancel(ctx: Context, symbol: str, client_order_id: str) -> OrderReport:
    """Cancel an order through transient faults as a send goes through them: after a network error, a timeout, a
    5xx or a 429 the venue is asked for the order first. No longer working: that is the answer (the cancel
    arrived, or the order filled). Still working: the cancel goes again after the backoff. An order the venue
    does not know raises UnknownOrder; a ban alerts, as for a send."""

    def find() -> OrderReport | None:
        report = ctx.exchange.get_order(symbol, client_order_id)
        return None if report.status.is_open else report

    return deliver(ctx, lambda: ctx.exchange.cancel_order(symbol, client_order_id), find, Attempts())


def find_order(ctx: Context, symbol: str, client_order_id: str) -> OrderReport | None:
    """The venue's report of an order by its client order id, or None when the venue has no such order. Asking may
    itself fail (Retryable): then nothing is known and nothing may be sent."""
    try:
        return ctx.exchange.get_order(symbol, client_order_id)
    except UnknownOrder:
        return None


def _alert(ctx: Context, code: str, message: str) -> None:
    if ctx.notifier is not None:
        ctx.notifier.notify(Alert(AlertLevel.CRITICAL, code, message, ctx.clock.now()))


# ---- the execution log -----------------------------------------------------------------------------------------


def average_price(report: OrderReport | None) -> Decimal | None:
    if report is None or not report.fills:
        return None
    quantity = sum((fill.quantity for fill in report.fills), ZERO)
    if quantity <= 0:
        return None
    return sum((fill.price * fill.quantity for fill in report.fills), ZERO) / quantity


def slippage_bps(side: OrderSide, requested: Decimal | None, executed: Decimal | None) -> Decimal | None:
    """How far the fills landed from the requested price, in basis points; positive is worse for us."""
    if requested is None or executed is None or requested <= 0:
        return None
    sign = 1 if side is OrderSide.BUY else -1
    return ((executed - requested) * sign * BPS / requested).quantize(Decimal("0.01"))


def fees_in_quote(report: OrderReport | None, base: str) -> Decimal:
    """Fees paid, in the quote asset: a fee charged in the base asset is valued at its fill's price."""
    if report is None:
        return ZERO
    return sum((fill.fee * (fill.price if fill.fee_asset == base else 1) for fill in report.fills), ZERO)


def volatility_bps(marks: Sequence[Decimal]) -> Decimal | None:
    """The standard deviation of recent mark-to-mark returns, in basis points."""
    returns = [float((b - a) / a) for a, b in itertools.pairwise(marks) if a > 0]
    if len(returns) < 2:
        return None
    return Decimal(f"{statistics.pstdev(returns) * 10000:.2f}")


VOLATILITY_MARKS = 21  # the last 20 mark-to-mark returns


def log(uow: UnitOfWork, rows: Sequence[ExecutionRecord]) -> None:
    """Store execution log rows with the market's recent volatility (from the stored marks, read once per symbol)
    filled in."""
    volatility: dict[str, Decimal | None] = {}
    for row in rows:
        if row.symbol not in volatility:
            volatility[row.symbol] = volatility_bps(uow.marks.recent(row.symbol, VOLATILITY_MARKS))
        uow.executions.add(replace(row, volatility_bps=volatility[row.symbol]))


@dataclass(frozen=True, slots=True)
class Sent:
    """What the execution log needs of one send, gathered by the caller."""

    operation_id: int | None
    client_order_id: str
    symbol: str
    side: OrderSide
    type: OrderType
    role: str
    quantity: Decimal
    requested_price: Decimal | None
    started: float
    spread_bps: Decimal | None = None  # the spread the order was routed on, when it was asked for before sending


def record(
    ctx: Context, sent: Sent, report: OrderReport | None, attempts: Attempts, status: str, answered: float | None = None
) -> ExecutionRecord:
    """The execution log's row for one send (stored by the caller with the breakers' count, in one commit).
    `answered`: the stopwatch's reading when the venue answered, if that was not just now."""
    finished = answered if answered is not None else ctx.stopwatch()
    elapsed_ms = Decimal(f"{(finished - sent.started) * 1000:.3f}")
    spread = sent.spread_bps if sent.spread_bps is not None else spread_now(ctx, sent.symbol)
    executed = average_price(report)
    base = ctx.instrument(sent.symbol).base
    return ExecutionRecord(
        at=ctx.clock.now(),
        venue=ctx.exchange.name,
        operation_id=sent.operation_id,
        client_order_id=sent.client_order_id,
        symbol=sent.symbol,
        side=sent.side,
        type=sent.type,
        role=sent.role,
        requested_price=sent.requested_price,
        executed_price=executed,
        slippage_bps=slippage_bps(sent.side, sent.requested_price, executed),
        requested_quantity=sent.quantity,
        filled_quantity=report.filled_quantity if report is not None else ZERO,
        fees=fees_in_quote(report, base),
        latency_ms=elapsed_ms,
        retries=attempts.retries,
        status=status,
        error=attempts.error,
        spread_bps=spread,
    )


def spread_now(ctx: Context, symbol: str) -> Decimal | None:
    """The spread right after an order that was sent without asking first (a stop: nothing may delay it)."""
    try:
        quote = ctx.exchange.quote(symbol)
    except ExchangeError:
        return None
    return quote.spread_bps if quote is not None else None


# ---- reading the log ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SymbolStats:
    symbol: str
    executions: int
    filled: int
    average_slippage_bps: Decimal | None
    p95_slippage_bps: Decimal | None
    average_latency_ms: Decimal
    p95_latency_ms: Decimal
    fees: Decimal
    retries: int
    errors: int


def _p95(values: Sequence[Decimal]) -> Decimal:
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]  # nearest rank


def _average(values: Sequence[Decimal]) -> Decimal:
    return (sum(values, ZERO) / len(values)).quantize(Decimal("0.001"))


def stats(records: Sequence[ExecutionRecord]) -> list[SymbolStats]:
    """Per symbol: how many executions, how many filled, average and p95 slippage and latency, fees, retries."""
    by_symbol: dict[str, list[ExecutionRecord]] = {}
    for row in records:
        by_symbol.setdefault(row.symbol, []).append(row)
    result = []
    for symbol, rows in sorted(by_symbol.items()):
        slippages = [r.slippage_bps for r in rows if r.slippage_bps is not None]
        latencies = [r.latency_ms for r in rows]
        result.append(
            SymbolStats(
                symbol=symbol,
                executions=len(rows),
                filled=sum(1 for r in rows if r.filled_quantity > 0),
                average_slippage_bps=_average(slippages) if slippages else None,
                p95_slippage_bps=_p95(slippages) if slippages else None,
                average_latency_ms=_average(latencies),
                p95_latency_ms=_p95(latencies),
                fees=sum((r.fees for r in rows), ZERO),
                retries=sum(r.retries for r in rows),
                errors=sum(1 for r in rows if r.error is not None),
            )
        )
    return result


def history(ctx: Context, symbol: str | None = None, limit: int | None = None) -> list[ExecutionRecord]:
    if limit is not None and limit <= 0:
        raise InvalidValue(f"--limit must be a positive number, got {limit}")
    with ctx.unit_of_work() as uow:
        return uow.executions.list(symbol.strip().upper() if symbol else None, limit)
