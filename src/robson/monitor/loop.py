"""The live loop: price feed -> trigger index -> services.

On start it recovers: it reconciles every working order with the venue (an exit in flight when the process
died is resolved by its client order id: neither lost nor sent twice), rebuilds the index from the database,
and acts at once on any level the last prices already crossed. Then each tick costs one index lookup; only
crossed operations reach the database. Internally protected operations exit at market through the execution
path; exchange-managed ones are only observed (their OCO on the venue acts) and re-protected if unguarded.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from robson.domain.errors import ConcurrentChange
from robson.domain.events import Alert, AlertLevel
from robson.domain.instrument import Instrument
from robson.domain.operation import Operation, OperationStatus
from robson.domain.protection import ExitProgress, ProtectionMode
from robson.exits.policy import ExitPolicy
from robson.exits.state import PositionView
from robson.monitor.index import TriggerIndex
from robson.monitor.prices import PriceGuard
from robson.ports import Banned, ExchangeError, Fatal, OrderStream, PriceFeed, QueuedFeed, StreamFeed
from robson.services import deadlines, exits, following, on_fill, planning, reconcile, trading
from robson.services.context import Context
from robson.services.working import Outcome

log = logging.getLogger("robson.monitor")

T = TypeVar("T")


@dataclass(slots=True)
class Watched:
    """An operation whose exit rules run in memory on each tick: its progress moves on here between the ticks that
    decide nothing (a best price), and the operation's own progress is what the services act from."""

    view: PositionView
    progress: ExitProgress
    policy: ExitPolicy
    mode: ProtectionMode


@dataclass(slots=True)
class Monitor:
    ctx: Context
    feed: PriceFeed
    stale_after_seconds: Decimal = Decimal("30")
    index: TriggerIndex = field(default_factory=TriggerIndex)
    modes: dict[int, ProtectionMode] = field(default_factory=dict)
    # the watched operations as last read or written: a crossed stop exits without reading its operation again
    # (a write based on one that another process changed meanwhile is refused, and the exit re-reads it)
    operations: dict[int, Operation] = field(default_factory=dict)
    # operations with exit rules beyond stop and target, per symbol: the rules run in memory on each tick of
    # their symbol and reach the database only when they decide something
    rules: dict[str, dict[int, Watched]] = field(default_factory=dict)
    housekeeping_seconds: Decimal = Decimal("60")
    mark_seconds: Decimal = Decimal("5")
    last_mark: datetime | None = None
    last_housekeeping: datetime | None = None
    last_tick: datetime | None = None
    last_deadlines: datetime | None = None  # when the working orders' deadlines were last looked at
    stale_alerted: bool = False
    ticks: int = 0
    venue_fault: str | None = None  # the alert code of the venue's current run of faults, if any
    failed_exits: set[int] = field(default_factory=set)  # operations whose exit failed (alerted once each)
    # another process wrote an operation while a pass was deciding on it: the next pass reads every watched
    # operation again and evaluates the last price of each symbol again (its tick was spent on the failed pass)
    conflicted: bool = False
    last_prices: dict[str, Decimal] = field(default_factory=dict)
    prices: PriceGuard = field(init=False)  # which ticks are real prices, and confirmed (the context's band)
    instruments: dict[str, Instrument] | None = None  # the venue's filters, read once
    refused_prices: int = 0  # ticks that were no real price (NaN, infinite, zero, negative, outside the filter)
    malformed_messages: int = 0  # stream messages the feed could not read as prices
    price_alerted: set[tuple[str, str]] = field(default_factory=set)  # (symbol, code) alerted since its last price
    # ticks read from the feed and not yet acted on (a conflict with another process cut their pass short)
    backlog: deque[tuple[str, Decimal, datetime | None]] = field(default_factory=deque)
    owns_queue: bool = True  # acting on queued paper prices removes them (not so beside a live robson run)
    # what the venue pushes about the account's orders (its user-data stream), applied as it comes; while it is
    # healthy, sync (which asks the venue about every working order) is only the backstop, every `sync_seconds`
    orders: OrderStream | None = None
    sync_seconds: Decimal = Decimal("30")
    last_sync: datetime | None = None
    # the version of every ACTIVE operation as last read or written: a pass reads only what changed since
    versions: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.prices = PriceGuard(self.ctx.price_band_percent, self.ctx.price_band_seconds)

    # ---- start ---------------------------------------------------------------------------
    def rebuild(self) -> None:
        """The index from the database: every ACTIVE operation's stop and target."""
        self.index = TriggerIndex()
        self.modes.clear()
        self.rules.clear()
        self.operations.clear()
        self.versions.clear()
        for op in planning.operations(self.ctx, (OperationStatus.ACTIVE,)):
            self._watch(op)

    def refresh(self) -> set[int]:
        """The index brought up to date with what other processes did: one light read of the ACTIVE operations'
        versions; only those new or changed since are read (and watched), those no longer ACTIVE let go. Returns
        the operations watched for the first time."""
        with self.ctx.unit_of_work() as uow:
            versions = uow.operations.versions((OperationStatus.ACTIVE,))
            changed = [uow.operations.get(i) for i, version in versions.items() if self.versions.get(i) != version]
        for operation_id in set(self.versions) - set(versions):
            self._unwatch(operation_id)
        fresh: set[int] = set()
        for op in changed:
            if op is None or op.id is None:
                continue
            if op.id not in self.operations:
                fresh.add(op.id)
            self._watch(op)
        return fresh & set(self.operations)

    def _watch(self, op: Operation) -> None:
        """Watch the operation as just read or written (its stop, target and exit rules), or let it go when it is
        no longer ACTIVE with a position."""
        if op.id is None:
            return
        self._unwatch(op.id)
        if op.status is OperationStatus.ACTIVE:
            self.versions[op.id] = op.version
        if op.status is not OperationStatus.ACTIVE or op.position.is_flat:
            return
        self.operations[op.id] = op
        self.index.set(op.id, op.symbol, op.side, op.stop_price, op.target_price)
        self.modes[op.id] = op.protection
        policy = self.ctx.exit_policy(op.strategy)
        if policy is not None:
            watched = Watched(exits.view_of(self.ctx, op), op.progress, policy, op.protection)
            self.rules.setdefault(op.symbol, {})[op.id] = watched

    def _unwatch(self, operation_id: int) -> None:
        self.index.remove(operation_id)
        self.modes.pop(operation_id, None)
        self.operations.pop(operation_id, None)
        self.versions.pop(operation_id, None)
        for by_operation in self.rules.values():
            by_operation.pop(operation_id, None)

    def recover(self, in_flight_seconds: int = 0) -> list[Outcome]:
        """Reconcile with the venue, rebuild the index, act on anything crossed while the process was down. What
        reconciliation cannot repair (a position no operation accounts for, an unknown order) is alerted.

        By default (robson run, holding the lease) what was on its way died with its sender: an order the venue
        does not know is never reached. A pass beside a live robson run gives that run's orders in flight time."""
        reconciled = reconcile.reconcile(self.ctx, in_flight_seconds=in_flight_seconds)
        for difference in reconciled.flagged:
            self._alert("warning", "RECONCILE", f"{difference.subject}: {difference.detail}")
        outcomes = reconciled.outcomes
        self.rebuild()
        self.last_sync = self.ctx.clock.now()  # reconciling asked the venue about every order
        self._follow_trades()
        for symbol in sorted(self.index.symbols()):
            price = self.ctx.exchange.last_price(symbol)
            if price is not None:
                outcomes += self.on_tick(symbol, price)
        return outcomes

    # ---- ticks ---------------------------------------------------------------------------
    def on_tick(self, symbol: str, price: Decimal, at: datetime | None = None) -> list[Outcome]:
        """One price from the feed (or the venue): judged first (a price that is no real price, or a jump not yet
        confirmed, moves nothing), then evaluated against the index and the exit rules. A price pushed at `at` (a
        queued one) says nothing about an operation that became ACTIVE after it: that one is left out."""
        self.ticks += 1
        outcomes: list[Outcome] = []
        later = self._activated_after(symbol, at)
        for accepted in self._judged(symbol, price):
            self.last_tick = self.ctx.clock.now()
            self.stale_alerted = False
            outcomes += self._evaluate(symbol, accepted, skip=later)
        return outcomes

    def on_bar(self, symbol: str, path: Sequence[Decimal]) -> list[Outcome]:
        """A bar's path from a replay (domain.bars.Bar.path: the open, the extreme nearer it, the other, the close),
        as the fill simulator saw it. A bar whose range crosses no watched level of its symbol, which runs no exit
        rules, moves nothing: only its close is judged (as the price the next bar is measured from); any other bar
        is evaluated tick by tick."""
        if not self.rules.get(symbol) and not self.index.crossed(symbol, min(path), max(path)):
            self.ticks += len(path)
            accepted = self._judged(symbol, path[-1])
            if accepted:
                self.last_tick = self.ctx.clock.now()
                self.stale_alerted = False
                self.last_prices[symbol] = accepted[-1]
            return []
        outcomes: list[Outcome] = []
        for price in path:
            outcomes += self.on_tick(symbol, price)
        return outcomes

    def _activated_after(self, symbol: str, at: datetime | None) -> set[int]:
        if at is None:
            return set()
        return {
            operation_id
            for operation_id, op in self.operations.items()
            if op.symbol == symbol and op.activated_at is not None and op.activated_at > at
        }

    def _judged(self, symbol: str, price: Decimal) -> tuple[Decimal, ...]:
        """The prices this tick lets the monitor act on: none for a refused or suspect price; a suspect one is
        checked at once against the venue's own last price, which may confirm it."""
        now = self.ctx.clock.now()
        judgement = self.prices.judge(symbol, price, now, self._instrument(symbol))
        if judgement.suspect is not None:
            self._price_alert(symbol, "PRICE_SUSPECT", judgement.suspect)
            quote = self._venue_price(symbol)
            if quote is not None:
                judgement = self.prices.judge(symbol, quote, now, self._instrument(symbol))
        if judgement.refused is not None:
            self.refused_prices += 1
            self._price_alert(symbol, "PRICE_REFUSED", judgement.refused)
        if judgement.accepted and self.price_alerted:
            self.price_alerted = {(s, code) for s, code in self.price_alerted if s != symbol}
        return judgement.accepted

    def _instrument(self, symbol: str) -> Instrument | None:
        """The symbol's filters, read from the venue once; None when the venue cannot say (no filter check)."""
        if self.instruments is None:
            try:
                self.instruments = self.ctx.exchange.instruments()
            except ExchangeError:
                return None
        return self.instruments.get(symbol)

    def _venue_price(self, symbol: str) -> Decimal | None:
        try:
            return self.ctx.exchange.last_price(symbol)
        except ExchangeError as error:
            log.warning("no quote from the venue to confirm a %s price: %s", symbol, error)
            return None

    def _price_alert(self, symbol: str, code: str, message: str) -> None:
        """Each refused or suspect price is logged; the trader hears of it once per symbol until a price is
        accepted again."""
        log.warning(message)
        if (symbol, code) not in self.price_alerted:
            self.price_alerted.add((symbol, code))
            self._alert("warning", code, message)

    def _evaluate(
        self, symbol: str, price: Decimal, only: set[int] | None = None, skip: set[int] | None = None
    ) -> list[Outcome]:
        """An accepted price against the index and the exit rules (of the operations `only`, when given; never of
        those to `skip`)."""
        self.last_prices[symbol] = price  # accepted prices only: a conflict's second look decides on these again
        outcomes = self._rules(symbol, price, only, skip)
        triggers = [
            trigger
            for trigger in self.index.crossed(symbol, price, price)
            if (only is None or trigger.operation_id in only) and not (skip and trigger.operation_id in skip)
        ]
        if not triggers:
            return outcomes
        crossed: list[exits.Crossing] = []
        observed: list[int] = []
        for trigger in triggers:
            if self.modes.get(trigger.operation_id) is ProtectionMode.INTERNAL:
                known = self.operations.pop(trigger.operation_id, None)  # back below only if this exit went well
                crossed.append(exits.Crossing(trigger.operation_id, trigger.kind, known))
            else:
                observed.append(trigger.operation_id)
        if crossed:  # every exit of this tick goes out before any is booked
            done = exits.trigger(self.ctx, crossed, price)
            outcomes += done.outcomes
            for operation_id, error in done.failed.items():  # one exit refused does not hold back the others
                if isinstance(error, ConcurrentChange):  # decided again at the next pass, on the price as it is
                    log.info("operation %s changed in another process as it exited: decided again", operation_id)
                    self.conflicted = True
                else:
                    self._exit_failed(operation_id, error)
        if observed:
            outcomes += exits.observe(self.ctx, observed)
        self.follow(outcomes)
        return outcomes

    def follow(self, outcomes: list[Outcome]) -> None:
        """The index updated from what the services just did: each operation as just written (its new stop, its
        exit, its close), with no read of the ledger."""
        for outcome in outcomes:
            self._watch(outcome.operation)

    def _rules(
        self, symbol: str, price: Decimal, only: set[int] | None = None, skip: set[int] | None = None
    ) -> list[Outcome]:
        """Trailing, scale-outs, break-even, time exits: evaluated in memory; carried out through the services."""
        outcomes: list[Outcome] = []
        now = self.ctx.clock.now()
        for operation_id, watched in list(self.rules.get(symbol, {}).items()):
            if (only is not None and operation_id not in only) or (skip and operation_id in skip):
                continue
            progress, actions = exits.rules_decide(
                watched.view, watched.progress, watched.policy, watched.mode, price, now
            )
            if not actions:
                watched.progress = progress
                continue
            outcome = exits.apply_rules(self.ctx, operation_id, price)
            if outcome is not None:
                outcomes.append(outcome)
                self._watch(outcome.operation)  # its new stop, quantity or status: no second read
        return outcomes

    def poll_once(self) -> list[Outcome]:
        """One pass: read the feed, evaluate each tick; with no tick for too long, alert and poll the venue. What
        the pass did before another process's write got in its way is reported all the same (the rest is decided
        again at the next pass)."""
        outcomes: list[Outcome] = []
        try:
            self._pass(outcomes)
        except ConcurrentChange as change:
            if not outcomes:
                raise
            log.info("another process wrote meanwhile (%s): read again and decided again at the next pass", change)
            self.conflicted = True
        return outcomes

    def _pass(self, outcomes: list[Outcome]) -> None:
        if self.conflicted:
            outcomes += self._decide_again()
        outcomes += self._order_updates()
        queued = self.feed if isinstance(self.feed, QueuedFeed) else None
        self.backlog.extend(queued.poll_timed() if queued is not None else [(s, p, None) for s, p in self.feed.poll()])
        self._feed_health()
        symbols = {symbol for symbol, _, _ in self.backlog}
        while self.backlog:  # a tick leaves the backlog once acted on: one a conflict cut short is taken again
            outcomes += self.on_tick(*self.backlog[0])
            self.backlog.popleft()
        if symbols:
            outcomes += self._sync()
            outcomes += self._mark(bool(outcomes))
            outcomes += self._catch_up(self.refresh(), symbols)
            self._follow_trades()
        else:
            outcomes += self._deadlines()
            if self._stale():
                outcomes += self._fallback()
        if queued is not None and self.owns_queue:
            queued.acted()  # a pass killed before this point leaves its prices queued for its successor

    def _order_updates(self) -> list[Outcome]:
        """What the venue pushed about the account's orders since the last pass, applied at once."""
        if self.orders is None:
            return []
        outcomes = on_fill.apply_reports(self.ctx, self.orders.updates())
        self.follow(outcomes)
        return outcomes

    def _sync(self) -> list[Outcome]:
        """Ask the venue about every working order (vanished protection, fills nothing told): at every pass with
        ticks when no stream pushes the orders' news, else every `sync_seconds` as the stream's backstop."""
        now, last = self.ctx.clock.now(), self.last_sync
        streamed = self.orders is not None and self.orders.healthy()
        if streamed and last is not None and Decimal((now - last).total_seconds()) < self.sync_seconds:
            return []
        outcomes = following.sync(self.ctx, enforce_policy=False)
        self.last_sync = now
        self.follow(outcomes)
        return outcomes

    def _deadlines(self) -> list[Outcome]:
        """With no tick (a tick's sync ends them already), at most once a second on the clock: the working orders
        whose deadline has come (an entry's unfilled rest cancelled, a close's limit sent on at market)."""
        now, last = self.ctx.clock.now(), self.last_deadlines
        if last is not None and (now - last).total_seconds() < 1:
            return []
        self.last_deadlines = now
        outcomes = deadlines.expire(self.ctx)
        self.follow(outcomes)  # an entry ended may have left a position to watch
        return outcomes

    def _feed_health(self) -> None:
        """Messages the feed could not read as prices (it has resubscribed already): counted and alerted."""
        if not isinstance(self.feed, StreamFeed):
            return
        refused = self.feed.refused()
        if refused:
            self.malformed_messages += len(refused)
            self._alert(
                "warning",
                "FEED_MALFORMED",
                f"{len(refused)} price message(s) refused ({self.malformed_messages} in all), the stream resubscribed:"
                f" {refused[0]}",
            )

    def _follow_trades(self) -> None:
        """Tell a streaming feed which symbols carry internal stops: those need every trade, not a sampled ticker."""
        if isinstance(self.feed, StreamFeed):
            internal = frozenset(
                op.symbol
                for operation_id, op in self.operations.items()
                if self.modes.get(operation_id) is ProtectionMode.INTERNAL
            )
            self.feed.follow_trades(internal)

    def _catch_up(self, fresh: set[int], symbols: set[str]) -> list[Outcome]:
        """Operations first watched at this pass's rebuild (opened, or made ACTIVE, by another process meanwhile)
        missed this pass's ticks: the last accepted price of their symbol is evaluated for them alone."""
        outcomes: list[Outcome] = []
        for symbol in sorted(symbols):
            price = self.last_prices.get(symbol)
            ids = {i for i in fresh if (op := self.operations.get(i)) is not None and op.symbol == symbol}
            if price is not None and ids:
                outcomes += self._evaluate(symbol, price, only=ids)
        return outcomes

    def _decide_again(self) -> list[Outcome]:
        """After a conflict with another process: every watched operation read again, and the last prices
        evaluated again on what was read."""
        self.rebuild()
        self.conflicted = False
        outcomes: list[Outcome] = []
        for symbol in sorted(self.index.symbols()):
            price = self.last_prices.get(symbol)
            if price is not None:
                outcomes += self._evaluate(symbol, price)
        return outcomes

    def _mark(self, changed: bool) -> list[Outcome]:
        """Mark to market and apply the policy (a tier set to flatten closes everything): after anything changed,
        else at most once per `mark_seconds` (each mark asks the venue for the account)."""
        now, last = self.ctx.clock.now(), self.last_mark
        if not changed and last is not None and Decimal((now - last).total_seconds()) < self.mark_seconds:
            return []
        outcomes = trading.enforce(self.ctx)
        self.last_mark = now  # only once it went through: a mark the venue failed is tried again at the next pass
        return outcomes

    def _stale(self) -> bool:
        if self.last_tick is None:
            self.last_tick = self.ctx.clock.now()
            return False
        quiet = Decimal((self.ctx.clock.now() - self.last_tick).total_seconds())
        return quiet >= self.stale_after_seconds

    def _fallback(self) -> list[Outcome]:
        if not self.stale_alerted:
            self.stale_alerted = True
            self._alert(
                "warning", "FEED_STALE", f"no price for {self.stale_after_seconds} s: polling the venue directly"
            )
        outcomes: list[Outcome] = []
        for symbol in sorted(self.index.symbols()):
            price = self.ctx.exchange.last_price(symbol)
            if price is not None:
                outcomes += self.index_tick(symbol, price)
        return outcomes

    def _alert(self, severity: str, code: str, message: str) -> None:
        if self.ctx.notifier is not None:
            self.ctx.notifier.notify(Alert(AlertLevel(severity), code, message, self.ctx.clock.now()))

    def index_tick(self, symbol: str, price: Decimal) -> list[Outcome]:
        """A price from the fallback poll: evaluated like a tick, without resetting the stale clock."""
        last, alerted = self.last_tick, self.stale_alerted
        outcomes = self.on_tick(symbol, price)
        self.last_tick, self.stale_alerted = last, alerted
        return outcomes

    def idle(self) -> None:
        """Between passes, at most once per `housekeeping_seconds`: the ledger's housekeeping (SQLite's checkpoint,
        which costs milliseconds), so that no exit's commit pays for it."""
        now, last = self.ctx.clock.now(), self.last_housekeeping
        if last is not None and Decimal((now - last).total_seconds()) < self.housekeeping_seconds:
            return
        self.last_housekeeping = now
        self.ctx.housekeeping()

    # ---- the loop ------------------------------------------------------------------------
    def run(
        self,
        stop: Callable[[], bool],
        poll_seconds: float,
        heartbeat_seconds: float = 60.0,
        report: Callable[[list[Outcome]], None] | None = None,
    ) -> None:
        """Run until `stop()` says so (Ctrl-C / SIGTERM set it): poll, act, mark to market at the heartbeat."""
        report = report or (lambda outcomes: None)
        recovered: list[Outcome] | None = None
        while recovered is None and not stop():  # a venue down at start: keep trying, nothing is lost meanwhile
            recovered = self.survive(self.recover)
            if recovered is None:
                time.sleep(poll_seconds)
        report(recovered or [])
        next_heartbeat = time.monotonic()
        while not stop():
            report(self.survive(self.poll_once) or [])
            self.idle()
            if time.monotonic() >= next_heartbeat:
                report(self.survive(lambda: self._mark(True), ends_faults=False) or [])
                log.info("heartbeat: %d operations watched, %d ticks", len(self.index), self.ticks)
                next_heartbeat = time.monotonic() + heartbeat_seconds
            time.sleep(poll_seconds)

    def survive(self, step: Callable[[], T], ends_faults: bool = True) -> T | None:
        """Run one step of the watch; a venue fault does not end it (positions would go unwatched): the step is
        tried again at the next pass, and the first fault of a run of them alerts VENUE_UNREACHABLE (a ban:
        VENUE_BANNED). Returns None when the step failed. A fatal error other than a ban (a refused key, say) stops
        the watch: nothing will work until a human acts. A pass that succeeds ends the run of faults (`ends_faults`:
        the heartbeat's mark does not, since it may not touch what failed). Another process writing an operation
        this step was deciding on does not end it either: the next pass reads everything again and decides again."""
        try:
            result = step()
        except Banned as ban:
            self._venue_fault("VENUE_BANNED", f"the venue banned this IP ({ban}): the watch goes on, sending nothing")
            return None
        except Fatal:
            raise
        except ExchangeError as error:
            self._venue_fault("VENUE_UNREACHABLE", f"the venue failed ({type(error).__name__}: {error}); retrying")
            return None
        except ConcurrentChange as change:  # never an end of the watch: read again and decide again
            log.info("another process wrote meanwhile (%s): read again and decided again at the next pass", change)
            self.conflicted = True
            return None
        if self.venue_fault is not None and ends_faults:
            log.info("the venue answers again after %s", self.venue_fault)
            self.venue_fault = None
        return result

    def _exit_failed(self, operation_id: int, error: Exception) -> None:
        """An exit the venue refused or could not take: it stays in the index, so the next tick crossing its level
        tries again; the trader hears of it once."""
        message = f"operation {operation_id}: the exit failed ({error}); tried again on the next crossing tick"
        log.error(message)
        if operation_id not in self.failed_exits:
            self.failed_exits.add(operation_id)
            self._alert("critical", "EXIT_FAILED", message)

    def _venue_fault(self, code: str, message: str) -> None:
        log.warning(message)
        if self.venue_fault != code:
            self.venue_fault = code
            self._alert("critical" if code == "VENUE_BANNED" else "warning", code, message)
