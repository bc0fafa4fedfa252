"""Execution quality through the use cases, against the fake Binance (ccxt on loopback): partial entries followed
to completion or cancelled with the position exactly what filled, slippage refused or capped, a wide spread met
with a limit at the touch, a thin book's market exit completed by another order, and the spread in the log."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal as D

import pytest

from robson.clock import ManualClock
from robson.domain.operation import CloseReason, OperationStatus
from robson.domain.orders import OrderRole, OrderStatus, OrderType
from robson.domain.protection import ProtectionMode
from robson.domain.values import Side
from robson.execution.adapters.binance import BinanceExchange
from robson.exits.policy import ExitPolicy
from robson.monitor.loop import Monitor
from robson.services import closing, commands, deadlines, execution, exits, following, planning
from robson.services.context import Context
from robson.services.errors import Refused
from robson.services.routing import ExecutionRules
from tests.fakes.binance_server import BinanceFake, Fault
from tests.integration.services.conftest import AppFactory

ORDER = "POST /api/v3/order"
STOP = D(29400)


@pytest.fixture
def fake() -> Iterator[BinanceFake]:
    with BinanceFake(balances={"USDT": "10000"}, prices={"BTCUSDT": "30000"}) as venue:
        yield venue


def _context(make_app: AppFactory, fake: BinanceFake, **rules: object) -> Context:
    app = make_app()
    return dataclasses.replace(
        app.context,
        exchange=BinanceExchange("k", "s", base_url=fake.url, timeout_ms=2000),
        sleep=lambda seconds: None,
        close_fallback_seconds=D(0),
        execution=dataclasses.replace(ExecutionRules(fill_seconds=D(5)), **rules),  # type: ignore[arg-type]
    )


def _planned(ctx: Context) -> int:
    planned = planning.plan(ctx, "BTC/USDT", Side.LONG, D(30000), STOP)
    assert planned.operation.id is not None
    return planned.operation.id


def _sent(fake: BinanceFake) -> list[dict[str, str]]:
    return [r.params for r in fake.requests_to(ORDER)]


def test_a_partial_entry_works_until_it_fills_whole_and_is_protected_all_along(
    make_app: AppFactory, fake: BinanceFake
) -> None:
    """execute returns once the entry is sent (nothing waits): what filled is protected at once; the rest of the
    book arrives, the loop's sync books it and protects the whole position."""
    ctx = _context(make_app, fake)
    operation_id = _planned(ctx)
    fake.inject(ORDER, Fault.partial_fill("0.5"))
    outcome = commands.execute(ctx, operation_id)

    op = outcome.operation
    entry = op.orders[0]
    half = entry.filled_quantity
    assert entry.status is OrderStatus.PARTIALLY_FILLED and entry.deadline == ctx.clock.now() + timedelta(seconds=5)
    assert [o.quantity for o in op.open_orders(OrderRole.STOP)] == [half]  # what filled is protected already
    assert any("works until" in w for w in outcome.warnings)

    fake.set_price("BTCUSDT", "30000")  # the rest of the book arrives
    following.sync(ctx)

    op = planning.load(ctx, operation_id)
    entry = op.orders[0]
    assert (entry.status, entry.filled_quantity) == (OrderStatus.FILLED, op.quantity)
    assert op.position.quantity == op.quantity
    assert [o.quantity for o in op.open_orders(OrderRole.STOP)] == [op.quantity]  # the protection covers all of it
    assert fake.balance("BTC") == (D(0), op.quantity)  # held under the OCO on the venue


def test_a_partial_entry_that_stalls_is_cancelled_at_its_deadline_and_the_position_is_what_filled(
    make_app: AppFactory, fake: BinanceFake, clock: ManualClock
) -> None:
    ctx = _context(make_app, fake)
    operation_id = _planned(ctx)
    fake.inject(ORDER, Fault.partial_fill("0.5"))
    commands.execute(ctx, operation_id)
    clock.advance(timedelta(seconds=4))
    assert deadlines.expire(ctx) == []  # it works on
    clock.advance(timedelta(seconds=1))
    [outcome] = deadlines.expire(ctx)

    op = outcome.operation
    entry = op.orders[0]
    half = entry.filled_quantity
    assert entry.status is OrderStatus.CANCELED and 0 < half < op.quantity
    assert op.status is OperationStatus.ACTIVE and op.position.quantity == half
    assert [o.quantity for o in op.open_orders(OrderRole.STOP)] == [half]
    assert any("the rest was cancelled" in w for w in outcome.warnings)
    venue_entry = next(o for o in fake.orders if o.client_order_id == entry.client_order_id)
    assert (venue_entry.status, venue_entry.executed) == ("CANCELED", half)
    assert sum(fake.balance("BTC")) == half  # the venue holds exactly what the ledger says


def test_an_entry_that_fills_nothing_by_its_deadline_leaves_the_plan_planned(
    make_app: AppFactory, fake: BinanceFake, clock: ManualClock
) -> None:
    ctx = _context(make_app, fake, wide_spread_bps=D(5))
    operation_id = _planned(ctx)
    fake.quotes["BTCUSDT"] = (D("29990"), D("30020"))  # 10 bps wide: a limit at the ask, which the last trade misses
    fake.set_price("BTCUSDT", "30030")
    outcome = commands.execute(ctx, operation_id)  # returns at once, the limit resting
    assert outcome.operation.status is OperationStatus.PLANNED
    assert [o.status for o in outcome.operation.open_orders(OrderRole.ENTRY)] == [OrderStatus.NEW]

    clock.advance(timedelta(seconds=5))
    [expired] = deadlines.expire(ctx)
    assert any(
        re.search(r"filled nothing by its deadline and was cancelled; operation \d+ stays PLANNED", w)
        for w in expired.warnings
    )
    op = planning.load(ctx, operation_id)
    assert op.status is OperationStatus.PLANNED and op.position.is_flat
    assert [(o.type, o.price, o.status) for o in op.orders] == [(OrderType.LIMIT, D("30020"), OrderStatus.CANCELED)]
    assert fake.balance("BTC") == (D(0), D(0))


def test_with_no_time_given_an_entry_that_fills_nothing_is_refused_at_once(
    make_app: AppFactory, fake: BinanceFake
) -> None:
    ctx = _context(make_app, fake, wide_spread_bps=D(5), fill_seconds=D(0))
    operation_id = _planned(ctx)
    fake.quotes["BTCUSDT"] = (D("29990"), D("30020"))
    fake.set_price("BTCUSDT", "30030")
    with pytest.raises(Refused, match=r"filled nothing and was cancelled; operation \d+ stays PLANNED"):
        commands.execute(ctx, operation_id)
    assert planning.load(ctx, operation_id).status is OperationStatus.PLANNED


def test_excess_slippage_is_refused_and_nothing_is_sent(make_app: AppFactory, fake: BinanceFake) -> None:
    ctx = _context(make_app, fake, on_excess_slippage="refuse")
    operation_id = _planned(ctx)
    fake.quotes["BTCUSDT"] = (D("30000"), D("30300"))  # the ask is 100 bps above the last trade
    with pytest.raises(Refused, match=r"expected fill 30300 is 100\.00 bps worse .* nothing was sent"):
        commands.execute(ctx, operation_id)
    assert _sent(fake) == []
    op = planning.load(ctx, operation_id)
    assert op.status is OperationStatus.PLANNED and op.orders == []


def test_excess_slippage_becomes_a_limit_capped_at_the_tolerance(make_app: AppFactory, fake: BinanceFake) -> None:
    ctx = _context(make_app, fake)
    operation_id = _planned(ctx)
    fake.quotes["BTCUSDT"] = (D("30000"), D("30300"))
    outcome = commands.execute(ctx, operation_id)
    [sent] = _sent(fake)
    assert (sent["type"], D(sent["price"])) == ("LIMIT", D("30150"))  # 30000 + 50 bps
    assert any("sent as a limit at 30150" in w for w in outcome.warnings)
    assert [f.price for f in outcome.operation.fills] == [D(30000)]  # the book had it at the last price


def test_a_wide_spread_sends_a_limit_at_the_touch(make_app: AppFactory, fake: BinanceFake) -> None:
    ctx = _context(make_app, fake, wide_spread_bps=D(5))
    operation_id = _planned(ctx)
    fake.quotes["BTCUSDT"] = (D("29970"), D("30000"))
    commands.execute(ctx, operation_id)
    [sent] = _sent(fake)
    assert (sent["type"], D(sent["price"])) == ("LIMIT", D("30000"))
    [row] = [r for r in execution.history(ctx) if r.role == "ENTRY"]
    assert row.spread_bps == D("10.01")  # 30 over the mid 29985


def test_a_stop_goes_at_market_whatever_the_book_and_a_thin_book_is_finished_by_another_order(
    make_app: AppFactory, fake: BinanceFake
) -> None:
    ctx = dataclasses.replace(
        _context(make_app, fake, on_excess_slippage="refuse"),
        exit_policies={"default": ExitPolicy(mode=ProtectionMode.INTERNAL)},
    )
    operation_id = _planned(ctx)
    commands.execute(ctx, operation_id)
    fake.quotes["BTCUSDT"] = (D("28000"), D("29400"))  # a collapsed bid: nothing may hold a stop back
    fake.set_price("BTCUSDT", "29300")
    fake.inject(ORDER, Fault.partial_fill("0.5"))
    with ctx.unit_of_work() as uow:
        known = uow.operations.get(operation_id)
    done = exits.trigger(ctx, [exits.Crossing(operation_id, "STOP", known)], D("29300"))
    assert not done.failed and len(done.outcomes) == 1
    op = done.outcomes[0].operation
    exits_sent = [o for o in op.orders if o.role is OrderRole.EXIT]
    assert [o.type for o in exits_sent] == [OrderType.MARKET, OrderType.MARKET]
    assert exits_sent[0].status is OrderStatus.CANCELED and exits_sent[1].status is OrderStatus.FILLED
    assert op.status is OperationStatus.CLOSED and op.close_reason is CloseReason.STOP_LOSS
    assert sum(o.filled_quantity for o in exits_sent) == op.position.entered_quantity
    assert sum(fake.balance("BTC")) == D(0)
    logged = [r for r in execution.history(ctx) if r.role == "EXIT"]
    assert logged and all(r.spread_bps == D("487.80") for r in logged)  # asked right after, never before
    assert closing.MARKET_EXIT_ORDERS >= 2


class _Quiet:
    """A price feed with nothing to say: the pass is about time only."""

    def poll(self) -> list[tuple[str, D]]:
        return []


def test_the_monitors_pass_at_the_deadline_cancels_a_resting_entry(
    make_app: AppFactory, fake: BinanceFake, clock: ManualClock
) -> None:
    """execute against a venue where the limit entry rests returns at once with the entry working; robson run's
    pass on its clock leaves it alone before the deadline and cancels it at the deadline. No test sleeps."""
    ctx = _context(make_app, fake, wide_spread_bps=D(5))
    operation_id = _planned(ctx)
    fake.quotes["BTCUSDT"] = (D("29990"), D("30020"))
    fake.set_price("BTCUSDT", "30030")
    assert commands.execute(ctx, operation_id).operation.open_orders(OrderRole.ENTRY)
    monitor = Monitor(ctx, _Quiet(), stale_after_seconds=D(3600))
    monitor.recover()

    clock.advance(timedelta(seconds=4))
    assert monitor.poll_once() == []
    assert planning.load(ctx, operation_id).open_orders(OrderRole.ENTRY)
    clock.advance(timedelta(seconds=1))
    [outcome] = monitor.poll_once()

    assert outcome.operation.id == operation_id and not outcome.operation.open_orders()
    venue_entry = next(o for o in fake.orders if o.client_order_id == outcome.operation.orders[0].client_order_id)
    assert venue_entry.status == "CANCELED"
