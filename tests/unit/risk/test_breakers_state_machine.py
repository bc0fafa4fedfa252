"""The policy state under any sequence of marks, clock moves, pauses, kills, resumes and unusual activity
(hypothesis stateful testing over the pure breakers).

The machine keeps the PolicyState, the clock and the closed-trade results, applies one rule per step and checks:

(a) while REDUCING or HALTED every OPEN or ADD proposal is refused with TRADING_STATE among the failures, and a
    REDUCE proposal is always approved (while ACTIVE the TRADING_STATE check passes);
(b) a hold that only a resume lifts (MONTHLY_LOSS, DRAWDOWN, LOSS_STREAK, PAUSED, KILL_SWITCH, REJECTIONS) stays
    after every later step until a resume with an override; day, week and month rolls never lift it; a timed
    hold lifts only on a mark at or after its time;
(c) the state is the most severe hold in force;
(d) every change of state in a step is told by TradingStateChanged events in that step's Update, chained from
    the state before to the state after.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from robson.domain.errors import InvalidValue
from robson.domain.events import HoldAdded, HoldLifted, TradingResumed, TradingStateChanged
from robson.domain.instrument import Instrument
from robson.domain.values import Side
from robson.domain.venue import Capability
from robson.risk import breakers, checks, policy_state
from robson.risk.breakers import Update
from robson.risk.limits import RiskLimits
from robson.risk.policy_state import PolicyState, Readings, TradingState
from robson.risk.proposal import Intent, PortfolioSnapshot, Proposal, TrancheContext

START = datetime(2026, 10, 26, 9, 0, tzinfo=UTC)  # a Monday, days before a month ends
BTC = Instrument("BTC/USDT", "BTC", "USDT", D("0.01"), D("0.00001"), D("0.00001"), D("5"))
CENT = D("0.01")

# holds that only `resume --override` lifts: no `until`, whatever the clock does
MANUAL = frozenset({"MONTHLY_LOSS", "DRAWDOWN", "LOSS_STREAK", "PAUSED", "KILL_SWITCH", "REJECTIONS"})
TIMED = frozenset({"DAILY_LOSS", "WEEKLY_LOSS", "ORDER_RATE", "PRICE_MOVE"})

LIMIT_SETS = (
    RiskLimits(),  # the defaults: monthly 4% before daily 5%, streak 3, 30 orders a minute, 5 rejections
    RiskLimits().replace(  # every tier close, so that they trip together and lift at different times
        max_daily_loss_percent=D("2"),
        max_daily_loss_usd=D("150"),
        max_weekly_loss_percent=D("4"),
        max_monthly_loss_percent=D("6"),
        monthly_alert_percents=(D("3"), D("5")),
        max_drawdown_percent=D("8"),
        max_consecutive_losses=2,
        max_orders_per_minute=4,
        max_consecutive_rejections=2,
        max_price_move_sigma=D("3"),
    ),
    RiskLimits().replace(max_consecutive_losses=0, max_monthly_loss_percent=D("20"), max_drawdown_percent=D("30")),
)

percent_change = st.decimals(min_value=D("-3"), max_value=D("3"), places=2)
durations = st.one_of(
    st.integers(1, 120).map(lambda n: timedelta(minutes=n)),
    st.integers(1, 72).map(lambda n: timedelta(hours=n)),
    st.integers(1, 40).map(lambda n: timedelta(days=n)),
)
reasons = st.text(min_size=1, max_size=12).filter(lambda s: s.strip() != "")
blank = st.sampled_from(["", " ", "\t", " \n "])


def expected_state(state: PolicyState) -> TradingState:
    """The most severe hold, computed independently of PolicyState.state."""
    kinds = {hold.state for hold in state.holds}
    if TradingState.HALTED in kinds:
        return TradingState.HALTED
    if TradingState.REDUCING in kinds:
        return TradingState.REDUCING
    return TradingState.ACTIVE


def proposal(intent: Intent, entry: D, quantity: D, stop_distance: D, now: datetime) -> Proposal:
    stop = max(entry - entry * stop_distance / 100, CENT).quantize(CENT)
    risk = quantity * (entry - stop)
    return Proposal(
        instrument=BTC,
        side=Side.LONG,
        entry=entry,
        quantity=quantity,
        stop=stop,
        target=(entry + 3 * (entry - stop)).quantize(CENT),
        risk_amount=risk,
        cost=quantity * entry * D("1.001"),
        intent=intent,
        average_entry=entry if intent is Intent.ADD else None,
        position_quantity=2 * quantity if intent is Intent.ADD else None,
        added_risk=risk if intent is Intent.ADD else None,
        tranche=TrancheContext(1, now - timedelta(hours=1)) if intent is Intent.ADD else None,
    )


# a small order that passes every check of an ACTIVE account with 10,000 of equity
SMALL = (D("100"), D("1"), D("2"))


class PolicyMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.limits = RiskLimits()
        self.now = START
        self.state = policy_state.start(D("10000"), START)
        self.results: list[bool] = []
        self.steps_with_updates = 0

    @initialize(limits=st.sampled_from(LIMIT_SETS), equity=st.integers(1_000, 100_000))
    def setup(self, limits: RiskLimits, equity: int) -> None:
        self.limits = limits
        self.state = policy_state.start(D(equity), self.now)

    # ---- applying an update and the per-step checks ----------------------------------------

    def apply(self, update: Update, *, resumed: bool = False, rolled: bool = False) -> None:
        """Check one Update against the state before it (d, b) and make it the model's state."""
        before, after = self.state, update.state
        # (d) the TradingStateChanged events chain from the state before to the state after
        changes = [e for e in update.events if isinstance(e, TradingStateChanged)]
        current = before.state
        for change in changes:
            assert change.previous is current, (change, current)
            assert change.state is not change.previous
            assert change.at == self.now
            current = change.state
        assert current is after.state, f"state moved {before.state} -> {after.state} without an event: {changes}"
        if before.state is not after.state:
            assert changes, "a change of state with no TradingStateChanged event"
        # (b) holds lift only by a resume, or (timed ones) on a mark at or after their time
        kept = {h.code: h for h in after.holds}
        added = [e.code for e in update.events if isinstance(e, HoldAdded)]
        for hold in before.holds:
            if kept.get(hold.code) == hold or resumed:
                continue
            # gone, or lifted and tripped again in the same mark (a new day that starts as badly as the last)
            assert hold.code not in MANUAL, f"{hold.code} lifted without an override"
            assert hold.until is not None and rolled and hold.until <= self.now, f"{hold} lifted early"
            assert any(isinstance(e, HoldLifted) and e.code == hold.code for e in update.events)
            if hold.code in kept:
                assert hold.code in added and kept[hold.code].since == self.now
        for code in kept.keys() - {h.code for h in before.holds}:
            assert code in added
        for code in added:
            assert code in kept
            event(f"hold added: {code}")
        if before.state is not after.state:
            event(f"state: {before.state} -> {after.state}")
        if resumed:
            assert after.holds == ()
        self.state = after
        self.steps_with_updates += 1

    def readings(self, equity: D) -> Readings:
        streak = 0
        for won in reversed(self.results):
            if won:
                break
            streak += 1
        realized = sum((D(1) if won else D(-1) for won in self.results), D(0))
        return Readings(
            equity=equity,
            realized_day=realized,
            realized_week=realized,
            realized_month=realized,
            loss_streak=streak,
            recent_results=tuple(self.results[-policy_state.RECENT_TRADES :]),
        )

    # ---- rules ------------------------------------------------------------------------------

    @rule(change=percent_change, results=st.lists(st.booleans(), max_size=3))
    def mark(self, change: D, results: list[bool]) -> None:
        equity = max((self.state.equity * (1 + change / 100)).quantize(CENT), CENT)
        self.results += results
        update = breakers.mark(self.state, self.limits, self.readings(equity), self.now, "USDT")
        self.apply(update, rolled=True)
        assert update.state.equity == equity
        assert update.state.peak_equity >= equity
        for code in update.flatten:
            assert code in self.limits.flatten_on

    @rule(
        marks=st.lists(
            st.tuples(st.decimals(min_value=D("-3"), max_value=D("1"), places=2), st.integers(0, 36)),
            min_size=2,
            max_size=8,
        ),
        loses=st.booleans(),
    )
    def slide(self, marks: list[tuple[D, int]], loses: bool) -> None:
        """A losing run, marked every few hours: it walks the tiers one after the other, across days."""
        for change, hours in marks:
            self.now += timedelta(hours=hours)
            self.mark(change, [False] if loses else [])

    @rule(by=durations)
    def advance(self, by: timedelta) -> None:
        self.now += by

    @rule(to=st.sampled_from(["day", "week", "month"]))
    def advance_to_the_next(self, to: str) -> None:
        """Exactly onto a period boundary, where the rolls happen."""
        if to == "day":
            self.now = policy_state.next_day(self.now)
        elif to == "week":
            self.now = policy_state.next_week(self.now)
        else:
            first = self.now.date().replace(day=28) + timedelta(days=4)
            self.now = datetime.combine(first.replace(day=1), time(0), tzinfo=UTC)

    @rule(reason=reasons)
    def pause(self, reason: str) -> None:
        update = breakers.pause(self.state, reason, self.now)
        self.apply(update)
        assert update.state.hold("PAUSED") is not None
        assert update.state.state is TradingState.HALTED

    @rule(reason=blank)
    def pause_without_a_reason(self, reason: str) -> None:
        with pytest.raises(InvalidValue):
            breakers.pause(self.state, reason, self.now)

    @rule(reason=st.one_of(reasons, blank))
    def kill(self, reason: str) -> None:
        update = breakers.kill(self.state, reason, self.now)
        self.apply(update)
        assert update.state.hold("KILL_SWITCH") is not None
        assert update.state.state is TradingState.HALTED

    @rule(override=reasons)
    def resume(self, override: str) -> None:
        if not self.state.holds:
            with pytest.raises(InvalidValue, match="already ACTIVE"):
                breakers.resume(self.state, self.limits, override, self.now, "USDT")
            return
        before = self.state
        update = breakers.resume(before, self.limits, override, self.now, "USDT")
        self.apply(update, resumed=True)
        state = update.state
        assert state.state is TradingState.ACTIVE
        assert state.streak_base == state.loss_streak and state.effective_streak == 0
        assert any(isinstance(e, TradingResumed) and e.override == override.strip() for e in update.events)
        if before.hold("DRAWDOWN") is not None:
            assert state.peak_equity == state.equity
        for reading in policy_state.tiers(before, self.limits, "USDT"):
            if reading.tripped and reading.period:
                assert policy_state.ack_key(reading) in state.acknowledged
        # a resume sticks: marking the same readings at once trips nothing again
        again = breakers.mark(state, self.limits, self.readings(state.equity), self.now, "USDT")
        assert not any(isinstance(e, HoldAdded) for e in again.events), again.events

    @rule(override=blank)
    def resume_without_an_override(self, override: str) -> None:
        before = self.state
        with pytest.raises(InvalidValue, match="override"):
            breakers.resume(before, self.limits, override, self.now, "USDT")
        assert self.state is before  # nothing changed: the state is immutable and was not replaced

    @rule(rejected=st.booleans(), gap=st.integers(0, 90))
    def order(self, rejected: bool, gap: int) -> None:
        self.now += timedelta(seconds=gap)
        self.apply(breakers.on_order(self.state, self.limits, self.now, rejected=rejected))

    @rule(count=st.integers(1, 40), rejected=st.booleans())
    def burst_of_orders(self, count: int, rejected: bool) -> None:
        for _ in range(count):
            update = breakers.on_order(self.state, self.limits, self.now, rejected=rejected)
            self.apply(update)
        if count > self.limits.max_orders_per_minute:
            assert self.state.hold("ORDER_RATE") is not None
        if rejected and count >= self.limits.max_consecutive_rejections:
            assert self.state.hold("REJECTIONS") is not None

    @rule(sigmas=st.decimals(min_value=D("-12"), max_value=D("12"), places=2))
    def price_move(self, sigmas: D) -> None:
        update = breakers.on_price_move(self.state, self.limits, "BTC/USDT", sigmas, self.now)
        self.apply(update)
        if abs(sigmas) > self.limits.max_price_move_sigma:
            assert self.state.hold("PRICE_MOVE") is not None

    @rule(
        intent=st.sampled_from(list(Intent)),
        entry=st.decimals(min_value=D("1"), max_value=D("100000"), places=2),
        quantity=st.decimals(min_value=D("0.00001"), max_value=D("100"), places=5),
        stop_distance=st.decimals(min_value=D("0.5"), max_value=D("20"), places=1),
    )
    def propose(self, intent: Intent, entry: D, quantity: D, stop_distance: D) -> None:
        """(a) for any order: refused while REDUCING or HALTED unless it only reduces."""
        self.check_gate(proposal(intent, entry, quantity, stop_distance, self.now))

    # ---- invariants ---------------------------------------------------------------------------

    def snapshot(self) -> PortfolioSnapshot:
        equity = max(self.state.equity, CENT)
        return PortfolioSnapshot(
            equity=equity, free_quote=equity, capabilities=frozenset({Capability.SPOT}), now=self.now, policy=self.state
        )

    def check_gate(self, candidate: Proposal) -> None:
        decision = checks.evaluate(candidate, self.snapshot(), self.limits)
        codes = {c.code for c in decision.failures}
        if candidate.intent is Intent.REDUCE:
            assert decision.approved, decision.summary()
        elif self.state.state is TradingState.ACTIVE:
            assert "TRADING_STATE" not in codes
        else:
            assert not decision.approved
            assert "TRADING_STATE" in codes, decision.summary()

    @invariant()
    def the_gate_follows_the_state(self) -> None:  # (a)
        for intent in Intent:
            self.check_gate(proposal(intent, *SMALL, self.now))

    @invariant()
    def the_state_is_the_most_severe_hold(self) -> None:  # (c)
        assert self.state.state is expected_state(self.state)
        codes = [h.code for h in self.state.holds]
        assert len(codes) == len(set(codes)), codes
        for hold in self.state.holds:
            assert (hold.until is None) is (hold.code in MANUAL), hold
            assert hold.code in MANUAL | TIMED
            if hold.until is not None:
                assert hold.until > hold.since

    @invariant()
    def periods_follow_the_last_mark(self) -> None:
        state = self.state
        assert state.week == policy_state.week_of(state.day)
        assert state.month == policy_state.month_of(state.day)
        assert state.peak_equity >= state.equity
        assert state.updated_at <= self.now


PolicyMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPolicyStateMachine = PolicyMachine.TestCase
