"""Safety controls never depend on the venue: the kill switch, pause and resume put their halt (state, reason,
audit row) on record before the venue is asked anything, and go through while it is unreachable; a kill the venue
interrupted is carried on by robson run's enforcement until flat."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal as D

from robson.bootstrap import App
from robson.domain.operation import CloseReason, OperationStatus
from robson.domain.values import Side
from robson.monitor.loop import Monitor
from robson.ports import ExchangePort, Retryable
from robson.risk.policy_state import TradingState
from robson.services import audit, commands, following, planning, policy, trading
from robson.services.context import Context
from tests.integration.services.conftest import AppFactory


class Unreachable:
    """The paper venue behind a dead network link while `down`; `on_first_call` runs before the first request
    the venue receives (to see what was already on record by then)."""

    def __init__(self, inner: ExchangePort, on_first_call: Callable[[], None] = lambda: None) -> None:
        self.inner, self.name, self.capabilities = inner, inner.name, inner.capabilities
        self.down = True
        self.calls: list[str] = []
        self._on_first_call = on_first_call

    def __getattr__(self, name: str) -> object:
        method = getattr(self.inner, name)

        def call(*args: object, **kwargs: object) -> object:
            if not self.calls:
                self._on_first_call()
            self.calls.append(name)
            if self.down:
                raise Retryable(f"paper could not be reached on {name} (connection refused)")
            return method(*args, **kwargs)

        return call


def _through(app: App, venue: Unreachable) -> Context:
    """The app's use cases on that venue, with no real waiting between retries and looks."""
    return dataclasses.replace(
        app.context,
        exchange=venue,  # type: ignore[arg-type]
        sleep=lambda seconds: None,
    )


def _open_long(app: App) -> int:
    following.push_price(app.context, app.market, "BTC/USDT", D(90000))
    planned = planning.plan(app.context, "BTC/USDT", Side.LONG, D(90000), D(88200), reward_risk=D(2))
    assert planned.operation.id is not None
    assert commands.execute(app.context, planned.operation.id).operation.status is OperationStatus.ACTIVE
    return planned.operation.id


def _holds(make_app: AppFactory) -> list[str]:
    """The holds on record, as a fresh process reads them (no venue asked: the stored state as it is)."""
    with make_app().context.unit_of_work() as uow:
        stored = uow.policy.get()
    return [hold.code for hold in stored.holds] if stored is not None else []


def _policy_trail(make_app: AppFactory) -> list[tuple[str, str]]:
    return [
        (r.action, str(r.after.get("hold") or r.after.get("state") or r.after.get("override")))
        for r in audit.history(make_app().context, "policy", None)
    ]


def test_kill_with_the_venue_unreachable_halts_first_then_lists_what_it_could_not_do(
    app: App, make_app: AppFactory
) -> None:
    operation_id = _open_long(app)
    seen_first: list[tuple[list[str], list[tuple[str, str]]]] = []
    venue = Unreachable(app.context.exchange, lambda: seen_first.append((_holds(make_app), _policy_trail(make_app))))

    flattened = trading.kill(_through(app, venue), "exchange incident")

    holds_then, trail_then = seen_first[0]
    assert holds_then == ["KILL_SWITCH"]  # committed before the venue heard anything
    assert ("HoldAdded", "KILL_SWITCH") in trail_then and ("TradingStateChanged", "HALTED") in trail_then
    assert not flattened.flat
    assert any(line.startswith(f"operation {operation_id} is still ACTIVE") for line in flattened.undone)
    assert any("open orders could not be listed" in line for line in flattened.undone)
    assert all("could not be reached" in line for line in flattened.undone)
    assert _holds(make_app) == ["KILL_SWITCH"]
    op = planning.load(app.context, operation_id)
    assert op.status is OperationStatus.ACTIVE and op.is_protected  # nothing half-done: its OCO still rests


def test_robson_run_goes_on_flattening_a_kill_the_venue_interrupted_until_flat(app: App) -> None:
    operation_id = _open_long(app)
    venue = Unreachable(app.context.exchange)
    ctx = _through(app, venue)
    assert not trading.kill(ctx, "exchange incident").flat

    venue.down = False  # the venue answers again; robson run's next mark enforces the kill switch's hold
    assert app.market is not None
    app.market.push_price("BTC/USDT", D(90100))
    monitor = Monitor(ctx, app.feed)
    monitor.recover()
    monitor.poll_once()

    op = planning.load(app.context, operation_id)
    assert (op.status, op.close_reason) == (OperationStatus.CLOSED, CloseReason.KILL_SWITCH)
    assert app.context.exchange.open_orders() == []
    assert app.context.exchange.balances().get("BTC") is None or app.context.exchange.balances()["BTC"].total == 0
    assert policy.state(app.context).state is TradingState.HALTED  # flat, and still halted until a resume
    assert trading.enforce(ctx) == []  # flat: nothing more to do


def test_pause_and_resume_need_no_venue_even_on_a_fresh_ledger(app: App, make_app: AppFactory) -> None:
    venue = Unreachable(app.context.exchange)
    ctx = _through(app, venue)

    assert policy.pause(ctx, "CPI at 14:30").state is TradingState.HALTED
    assert venue.calls == []  # pause asks the venue nothing
    assert _holds(make_app) == ["PAUSED"]
    assert ("HoldAdded", "PAUSED") in _policy_trail(make_app)

    assert policy.resume(ctx, "CPI digested").state is TradingState.ACTIVE
    assert _holds(make_app) == []
    assert ("TradingResumed", "CPI digested") in _policy_trail(make_app)


def test_a_halt_recorded_before_any_measurement_is_measured_at_the_first_mark(app: App) -> None:
    venue = Unreachable(app.context.exchange)
    trading.kill(_through(app, venue), "before anything else")  # a fresh ledger: no equity measured yet
    venue.down = False

    policy.refresh(_through(app, venue))

    stored = policy.state(app.context)
    assert stored.equity == stored.peak_equity == D(10000)
    assert stored.day_start_equity == stored.week_start_equity == stored.month_start_equity == D(10000)
    assert [hold.code for hold in stored.holds] == ["KILL_SWITCH"]
