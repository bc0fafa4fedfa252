"""Delivering an order exactly once: what is retried, what is asked first, how long it waits, what stops it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import pytest

from robson.clock import ManualClock
from robson.domain.orders import OrderType
from robson.domain.values import OrderSide
from robson.notify.log import LogNotifier
from robson.ports import (
    Banned,
    DuplicateOrder,
    ExecutionRecord,
    InsufficientFunds,
    RateLimited,
    Retryable,
)
from robson.risk.limits import RiskLimits
from robson.services import execution
from robson.services.context import Context, RetryPolicy

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


class Script:
    """A venue answering `send` from a script of outcomes, and `find` from what it has accepted."""

    def __init__(self, *outcomes: object, accepted_on: int | None = None, find_fails: int = 0) -> None:
        self.outcomes = list(outcomes)
        self.sends = 0
        self.finds = 0
        self.accepted = False
        self.accepted_on = accepted_on  # the send (1-based) the venue accepted although the client saw an error
        self.find_fails = find_fails

    def send(self) -> str:
        self.sends += 1
        if self.accepted_on == self.sends:
            self.accepted = True
        outcome = self.outcomes.pop(0) if self.outcomes else "report"
        if isinstance(outcome, BaseException):
            raise outcome
        self.accepted = True
        return str(outcome)

    def find(self) -> str | None:
        self.finds += 1
        if self.find_fails:
            self.find_fails -= 1
            raise Retryable("timed out asking for the order")
        return "found" if self.accepted else None


def context(attempts: int = 4) -> tuple[Context, list[float], LogNotifier]:
    waits: list[float] = []
    notifier = LogNotifier()
    ctx = Context(
        unit_of_work=lambda: None,  # type: ignore[arg-type,return-value]
        exchange=None,  # type: ignore[arg-type]
        clock=ManualClock(NOW),
        strategies={"default": RiskLimits()},
        notifier=notifier,
        retry=RetryPolicy(attempts=attempts, first_wait_seconds=0.2, max_wait_seconds=5.0),
        sleep=waits.append,
    )
    return ctx, waits, notifier


def deliver(ctx: Context, script: Script) -> tuple[Any, execution.Attempts]:
    attempts = execution.Attempts()
    return execution.deliver(ctx, script.send, script.find, attempts), attempts


def test_a_first_answer_is_taken_as_it_is() -> None:
    ctx, waits, _ = context()
    script = Script("report")
    assert deliver(ctx, script)[0] == "report"
    assert (script.sends, script.finds, waits) == (1, 0, [])


def test_a_timeout_after_the_venue_accepted_is_answered_by_asking_never_by_sending_again() -> None:
    ctx, waits, _ = context()
    script = Script(Retryable("read timed out"), accepted_on=1)
    report, attempts = deliver(ctx, script)
    assert report == "found" and script.sends == 1 and script.finds == 1 and waits == []
    assert attempts.retries == 0 and attempts.error == "Retryable: read timed out"


def test_a_timeout_before_the_venue_saw_it_is_asked_about_then_sent_again_after_a_backoff() -> None:
    ctx, waits, _ = context()
    script = Script(Retryable("connection reset"), Retryable("503"), "report")
    report, attempts = deliver(ctx, script)
    assert report == "report" and script.sends == 3 and script.finds == 2
    assert attempts.retries == 2 and len(waits) == 2
    assert all(0 < wait <= 5.0 for wait in waits)


def test_rate_limits_wait_at_least_what_the_venue_said() -> None:
    ctx, waits, _ = context()
    script = Script(RateLimited("429 Too Many Requests", retry_after=7), "report")
    assert deliver(ctx, script)[0] == "report"
    assert waits and waits[0] >= 7


def test_every_attempt_failing_raises_the_last_error_after_the_configured_sends() -> None:
    ctx, waits, _ = context(attempts=3)
    script = Script(*(Retryable(f"timeout {n}") for n in range(5)))
    with pytest.raises(Retryable, match="timeout 2"):
        deliver(ctx, script)
    assert script.sends == 3 and script.finds == 3 and len(waits) == 2


def test_if_asking_fails_nothing_is_sent_blind_the_next_send_is_refused_as_a_duplicate_and_found() -> None:
    ctx, _, _ = context()
    script = Script(Retryable("timeout"), DuplicateOrder("Duplicate order sent."), accepted_on=1, find_fails=1)
    report, attempts = deliver(ctx, script)
    assert report == "found" and script.sends == 2 and attempts.retries == 1


@pytest.mark.parametrize("refusal", [InsufficientFunds("Account has insufficient balance"), DuplicateOrder("dup")])
def test_definitive_refusals_are_never_retried(refusal: Exception) -> None:
    ctx, waits, _ = context()
    script = Script(refusal)
    with pytest.raises(type(refusal)):
        deliver(ctx, script)
    assert script.sends == 1 and waits == []


def test_an_ip_ban_stops_at_once_and_alerts_a_human() -> None:
    ctx, waits, notifier = context()
    script = Script(Banned("418 I'm a teapot", retry_after=120))
    with pytest.raises(Banned):
        deliver(ctx, script)
    assert script.sends == 1 and script.finds == 0 and waits == []
    assert [alert.code for alert in notifier.sent] == ["VENUE_BANNED"]


# ---- the log's arithmetic ---------------------------------------------------------------------------------------


def row(symbol: str, slippage: str | None, latency: str, fees: str = "0", filled: str = "1") -> ExecutionRecord:
    return ExecutionRecord(
        NOW, "paper", 1, "rb1-e1", symbol, OrderSide.BUY, OrderType.MARKET, "ENTRY", D(100), D(100),
        D(slippage) if slippage is not None else None, D(1), D(filled), D(fees), D(latency), 0, "FILLED",
    )  # fmt: skip


def test_slippage_is_positive_when_worse_for_us_on_either_side() -> None:
    assert execution.slippage_bps(OrderSide.BUY, D(100), D("100.10")) == D("10.00")
    assert execution.slippage_bps(OrderSide.SELL, D(100), D("99.90")) == D("10.00")
    assert execution.slippage_bps(OrderSide.SELL, D(100), D("100.05")) == D("-5.00")
    assert execution.slippage_bps(OrderSide.BUY, None, D(1)) is None


def test_stats_average_and_p95_per_symbol() -> None:
    rows = [row("BTC/USDT", str(n), str(n * 10), fees="0.5") for n in range(1, 21)]
    rows.append(row("ETH/USDT", None, "3", filled="0"))
    btc, eth = execution.stats(rows)
    assert (btc.executions, btc.filled, btc.fees) == (20, 20, D(10))
    assert btc.average_slippage_bps == D("10.500") and btc.p95_slippage_bps == D(19)
    assert btc.average_latency_ms == D("105.000") and btc.p95_latency_ms == D(190)
    assert (eth.executions, eth.filled, eth.average_slippage_bps, eth.p95_latency_ms) == (1, 0, None, D(3))


def test_volatility_is_the_spread_of_mark_to_mark_returns() -> None:
    assert execution.volatility_bps([D(100), D(100), D(100)]) == D("0.00")
    assert execution.volatility_bps([D(100), D(101), D(100)]) is not None
    assert execution.volatility_bps([D(100)]) is None
