"""The replay loop: bars through the live services on simulated time (a backtest's, the demo's).

What `robson run` does on the wall clock, this does bar by bar on a clock it owns: the venue's simulator matches
the bar against the resting orders and its fills are applied at once (services `on_fill`, as a stream's would be);
the monitor then sees the bar's path, tick by tick only where the bar crosses a watched level or runs exit rules;
working orders whose deadline the bar reached end as their role says; the policy marks to market after anything
changed, and at least every `mark_seconds` of simulated time. The same use cases, the same index, the same exits:
only the venue (the simulator in bar mode) and the clock differ.

Nothing here reads the ledger on a bar that changes nothing: the monitor's index, the deadlines known from the
outcomes and the mark's cadence decide whether the services are asked at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from robson.domain.bars import Bar
from robson.monitor.loop import Monitor
from robson.ports import PaperMarket, SimulatedClock
from robson.services import deadlines, on_fill, policy, trading
from robson.services.context import Context
from robson.services.working import Outcome


class NoFeed:
    """The replay hands the monitor its prices itself (Monitor.on_bar): there is no feed to poll."""

    def poll(self) -> list[tuple[str, Decimal]]:
        return []


@dataclass(slots=True)
class ReplayLoop:
    ctx: Context
    market: PaperMarket
    clock: SimulatedClock
    mark_seconds: Decimal = Decimal("3600")  # the policy's mark (and the volatility breaker's sample), at least
    monitor: Monitor = field(init=False)
    deadlines: dict[int, datetime] = field(default_factory=dict)  # the next deadline of each operation, if any
    last_mark: dict[str, datetime] = field(default_factory=dict)  # per symbol

    def __post_init__(self) -> None:
        self.monitor = Monitor(self.ctx, NoFeed())
        self.monitor.rebuild()

    def step(self, symbol: str, bar: Bar, at: datetime) -> list[Outcome]:
        """One bar of `symbol`, traded at `at` (the clock moves there first): its fills, its path, its deadlines,
        its mark. Returns what the services did."""
        self.clock.set(at)
        fills = self.market.push_bar(symbol, bar.open, bar.high, bar.low, bar.close)
        outcomes = on_fill.apply_fills(self.ctx, fills)
        self.follow(outcomes)
        evaluated = self.monitor.on_bar(symbol, bar.path())
        self.follow(evaluated)
        outcomes += evaluated
        outcomes += self._deadlines(at)
        outcomes += self._mark(symbol, bar.close, at, changed=bool(outcomes))
        return outcomes

    def follow(self, outcomes: list[Outcome]) -> None:
        """What a use case did (this loop's, or the strategy's execute) updates the index and the deadlines known,
        with no read of the ledger."""
        self.monitor.follow(outcomes)
        for outcome in outcomes:
            op = outcome.operation
            if op.id is None:
                continue
            deadline = deadlines.next_deadline(op)
            if deadline is None:
                self.deadlines.pop(op.id, None)
            else:
                self.deadlines[op.id] = deadline

    def _deadlines(self, now: datetime) -> list[Outcome]:
        due = [operation_id for operation_id, deadline in self.deadlines.items() if deadline <= now]
        if not due:
            return []
        for operation_id in due:
            del self.deadlines[operation_id]
        outcomes = deadlines.expire(self.ctx, due)
        self.follow(outcomes)
        return outcomes

    def _mark(self, symbol: str, close: Decimal, now: datetime, changed: bool) -> list[Outcome]:
        last = self.last_mark.get(symbol)
        if not changed and last is not None and Decimal((now - last).total_seconds()) < self.mark_seconds:
            return []
        self.last_mark[symbol] = now
        policy.observe_price(self.ctx, symbol, close)
        if not changed and not self.monitor.operations:
            return []  # nothing held, nothing changed: the equity is what the last mark measured
        outcomes = trading.enforce(self.ctx)
        self.follow(outcomes)
        return outcomes
