"""The policy state: the loss tiers and when they lift, resume, pause and kill, unusual activity, dynamic risk."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from robson.domain.errors import InvalidValue
from robson.domain.events import Alert, HoldAdded, PolicyEvent, RiskAlerted, TradingResumed, TradingStateChanged
from robson.risk import policy_state
from robson.risk.breakers import Update, kill, mark, on_order, on_price_move, pause, resume
from robson.risk.limits import RiskLimits
from robson.risk.policy_state import PolicyState, Readings, TradingState, risk_percent, start

WED = datetime(2026, 11, 4, 10, 0, tzinfo=UTC)  # Wednesday of ISO week 2026-W45
THU_MIDNIGHT = datetime(2026, 11, 5, 0, 0, tzinfo=UTC)
MON_MIDNIGHT = datetime(2026, 11, 9, 0, 0, tzinfo=UTC)
LIMITS = RiskLimits()
# every tier far away, so that one tier at a time can be tested
ISOLATED = LIMITS.replace(
    max_daily_loss_percent=D("50"),
    max_weekly_loss_percent=D("50"),
    max_monthly_loss_percent=D("50"),
    monthly_alert_percents=(),
    max_drawdown_percent=D("50"),
    max_consecutive_losses=0,
)


def only(**changes: Any) -> RiskLimits:
    return ISOLATED.replace(**changes)


def at(equity: str, **readings: Any) -> Readings:
    return Readings(D(equity), **readings)


def names(update: Update) -> list[str]:
    """The events' kinds; TradingStateChanged for each move of the state, whichever state it moved to."""
    return ["TradingStateChanged" if isinstance(e, TradingStateChanged) else type(e).__name__ for e in update.events]


def state_changes(update: Update) -> list[tuple[str, str]]:
    return [(e.previous.value, e.state.value) for e in update.events if isinstance(e, TradingStateChanged)]


def assert_well_formed(update: Update) -> None:
    """Every event is the policy's; every alert says how loud, what and why."""
    for event in update.events:
        assert isinstance(event, PolicyEvent)
        assert (event.entity, event.entity_id) == ("policy", "account")
        assert event.at.tzinfo is not None
    for alert in update.alerts:
        assert isinstance(alert, Alert)
        assert alert.level in ("info", "warning", "critical")
        assert alert.code and alert.message.strip()


def run(state: PolicyState, limits: RiskLimits, *marks: tuple[datetime, Readings]) -> list[Update]:
    updates = []
    for now, readings in marks:
        update = mark(state, limits, readings, now, "USDT")
        assert_well_formed(update)
        updates.append(update)
        state = update.state
    return updates


# ---- the daily tier ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("equity", "halted"),
    [
        pytest.param("950.1", False, id="4.99pct-below"),
        pytest.param("950", True, id="5pct-at"),
        pytest.param("949.9", True, id="5.01pct-above"),
    ],
)
def test_the_daily_tier_trips_at_exactly_5_percent(equity: str, halted: bool) -> None:
    (update,) = run(start(D("1000"), WED), only(max_daily_loss_percent=D("5")), (WED + timedelta(hours=1), at(equity)))
    assert (update.state.state is TradingState.HALTED) is halted
    hold = update.state.hold("DAILY_LOSS")
    if not halted:
        assert hold is None and update.events == () and update.alerts == ()
        return
    assert hold is not None
    assert hold.until == THU_MIDNIGHT
    assert names(update) == ["HoldAdded", "TradingStateChanged"]
    assert state_changes(update) == [("ACTIVE", "HALTED")]
    (alert,) = update.alerts
    assert (alert.level, alert.code) == ("critical", "DAILY_LOSS")
    assert "HALTED" in alert.message and "2026-11-05 00:00 UTC" in alert.message


def test_the_daily_tier_measures_from_the_days_starting_equity() -> None:
    limits = only(max_daily_loss_percent=D("5"))
    tuesday = WED - timedelta(days=1)
    gained, first, tripped = run(
        start(D("1000"), tuesday),
        limits,
        (tuesday + timedelta(hours=2), at("1020")),
        (WED, at("969.01")),  # 4.999% of the day's 1020, 3.1% of the month's 1000
        (WED + timedelta(hours=1), at("969")),  # 5% of 1020
    )
    assert gained.state.state is TradingState.ACTIVE
    assert first.state.day_start_equity == D("1020")
    assert first.state.state is TradingState.ACTIVE
    assert tripped.state.state is TradingState.HALTED
    assert tripped.state.hold("DAILY_LOSS") is not None


def test_the_daily_amount_tier_holds_as_the_daily_tier() -> None:
    limits = only(max_daily_loss_usd=D("30"))
    below, at_limit = run(start(D("1000"), WED), limits, (WED, at("970.01")), (WED, at("970")))
    assert below.state.state is TradingState.ACTIVE
    hold = at_limit.state.hold("DAILY_LOSS")
    assert hold is not None and hold.until == THU_MIDNIGHT
    assert "30 USDT" in hold.reason


def test_the_daily_hold_lifts_by_itself_at_the_next_utc_midnight() -> None:
    limits = only(max_daily_loss_percent=D("5"))
    tripped, late, midnight, later = run(
        start(D("1000"), WED),
        limits,
        (WED, at("950")),
        (THU_MIDNIGHT - timedelta(seconds=1), at("950")),
        (THU_MIDNIGHT, at("950")),
        (THU_MIDNIGHT + timedelta(hours=1), at("950")),
    )
    assert tripped.state.state is TradingState.HALTED
    assert late.state.state is TradingState.HALTED and late.events == ()
    assert midnight.state.state is TradingState.ACTIVE
    assert midnight.state.hold("DAILY_LOSS") is None
    assert names(midnight) == ["HoldLifted", "TradingStateChanged"]
    assert state_changes(midnight) == [("HALTED", "ACTIVE")]
    assert midnight.state.day_start_equity == D("950")  # the new day starts where the last one ended
    assert later.state.state is TradingState.ACTIVE and later.events == ()


# ---- the weekly tier ---------------------------------------------------------------------------


def test_the_weekly_tier_trips_at_10_percent_and_lifts_on_monday_midnight() -> None:
    limits = only(max_weekly_loss_percent=D("10"))
    monday = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    below, tripped, sunday, new_week = run(
        start(D("1000"), monday),
        limits,
        (WED, at("900.1")),
        (WED + timedelta(hours=1), at("900")),
        (MON_MIDNIGHT - timedelta(seconds=1), at("900")),
        (MON_MIDNIGHT, at("900")),
    )
    assert below.state.state is TradingState.ACTIVE
    hold = tripped.state.hold("WEEKLY_LOSS")
    assert tripped.state.state is TradingState.HALTED
    assert hold is not None and hold.until == MON_MIDNIGHT
    assert sunday.state.state is TradingState.HALTED  # days roll, the week does not
    assert new_week.state.state is TradingState.ACTIVE
    assert new_week.state.week == "2026-W46"
    assert new_week.state.week_start_equity == D("900")


# ---- the monthly tier --------------------------------------------------------------------------


def monthly_halt() -> PolicyState:
    (update,) = run(start(D("1000"), WED), LIMITS, (WED, at("960")))
    assert update.state.state is TradingState.HALTED
    return update.state


def test_the_monthly_tier_trips_at_4_percent_and_waits_for_a_resume() -> None:
    below, tripped = run(start(D("1000"), WED), LIMITS, (WED, at("960.1")), (WED, at("960")))
    assert below.state.state is TradingState.ACTIVE
    hold = tripped.state.hold("MONTHLY_LOSS")
    assert hold is not None and hold.until is None
    assert hold.lifts == "on robson resume --override"
    assert tripped.state.state is TradingState.HALTED
    codes = [a.code for a in tripped.alerts]
    assert "MONTHLY_LOSS" in codes
    # nothing inside the month lifts it: the next day, the next week, the last day of the month
    rolls = run(
        tripped.state,
        LIMITS,
        (THU_MIDNIGHT, at("960")),
        (MON_MIDNIGHT, at("960")),
        (datetime(2026, 11, 30, 23, 59, tzinfo=UTC), at("960")),
    )
    for update in rolls:
        assert update.state.state is TradingState.HALTED
        assert update.state.hold("MONTHLY_LOSS") is not None
        assert "HoldLifted" not in names(update)
    assert rolls[-1].state.week == "2026-W49"


@pytest.mark.parametrize("override", ["", "   ", "\n\t"])
def test_resume_needs_an_override_reason(override: str) -> None:
    state = monthly_halt()
    with pytest.raises(InvalidValue, match="override"):
        resume(state, LIMITS, override, WED)


def test_resume_when_nothing_holds_is_refused() -> None:
    with pytest.raises(InvalidValue, match="already ACTIVE"):
        resume(start(D("1000"), WED), LIMITS, "why not", WED)


def test_after_resume_the_month_stays_acknowledged_and_trips_again_next_month() -> None:
    resumed = resume(monthly_halt(), LIMITS, "  reviewed the month  ", WED + timedelta(hours=1))
    assert_well_formed(resumed)
    assert resumed.state.state is TradingState.ACTIVE
    assert resumed.state.holds == ()
    assert "MONTHLY_LOSS@2026-11" in resumed.state.acknowledged
    assert names(resumed) == ["TradingResumed", "TradingStateChanged"]
    assert resumed.events[0] == TradingResumed(
        at=WED + timedelta(hours=1), holds=("MONTHLY_LOSS",), override="reviewed the month"
    )
    assert state_changes(resumed) == [("HALTED", "ACTIVE")]
    (alert,) = resumed.alerts
    assert (alert.level, alert.code) == ("info", "RESUMED") and "reviewed the month" in alert.message

    more_losses, december, december_loss = run(
        resumed.state,
        LIMITS,
        (datetime(2026, 11, 20, tzinfo=UTC), at("955")),  # 4.5% of the month: acknowledged
        (datetime(2026, 12, 1, 9, tzinfo=UTC), at("955")),  # the new month starts at 955
        (datetime(2026, 12, 2, 9, tzinfo=UTC), at("916.8")),  # 4% of 955
    )
    assert more_losses.state.state is TradingState.ACTIVE and more_losses.events == ()
    assert december.state.state is TradingState.ACTIVE
    assert december.state.month == "2026-12" and december.state.month_start_equity == D("955")
    assert "MONTHLY_LOSS@2026-11" not in december.state.acknowledged
    assert december_loss.state.state is TradingState.HALTED
    assert december_loss.state.hold("MONTHLY_LOSS") is not None


def test_a_new_month_without_further_losses_stays_active() -> None:
    resumed = resume(monthly_halt(), LIMITS, "reviewed", WED).state
    (december,) = run(resumed, LIMITS, (datetime(2026, 12, 1, tzinfo=UTC), at("958")))
    assert december.state.state is TradingState.ACTIVE


def test_monthly_early_warnings_at_2_and_3_percent_are_sent_once_each() -> None:
    updates = run(
        start(D("1000"), WED),
        LIMITS,
        (WED, at("980.1")),  # 1.99%
        (WED, at("980")),  # 2%: first warning
        (WED, at("979")),
        (WED, at("980")),
        (WED, at("970.1")),
        (WED, at("970")),  # 3%: second warning
        (WED, at("965")),
    )
    warnings = [[a for a in u.alerts if a.code == "MONTHLY_LOSS_WARNING"] for u in updates]
    assert [len(w) for w in warnings] == [0, 1, 0, 0, 0, 1, 0]
    for sent in (warnings[1][0], warnings[5][0]):
        assert sent.level == "warning"
        assert "trading halts at 4%" in sent.message
    assert "2%" in warnings[1][0].message and "3%" in warnings[5][0].message
    assert names(updates[1]) == ["RiskAlerted"]
    assert isinstance(warned := updates[1].events[0], RiskAlerted) and warned.code == "MONTHLY_LOSS_WARNING"
    assert all(u.state.state is TradingState.ACTIVE for u in updates)
    assert set(updates[-1].state.alerts_sent) == {"MONTHLY_LOSS>=2@2026-11", "MONTHLY_LOSS>=3@2026-11"}


def test_a_jump_past_both_warnings_sends_both_at_once_and_the_next_month_again() -> None:
    jump, december, december_loss = run(
        start(D("1000"), WED),
        LIMITS,
        (WED, at("969")),
        (datetime(2026, 12, 1, tzinfo=UTC), at("969")),
        (datetime(2026, 12, 1, 1, tzinfo=UTC), at("949.62")),  # 2% of 969
    )
    assert [a.code for a in jump.alerts] == ["MONTHLY_LOSS_WARNING", "MONTHLY_LOSS_WARNING"]
    assert december.alerts == () and december.state.alerts_sent == ()
    assert [a.code for a in december_loss.alerts] == ["MONTHLY_LOSS_WARNING"]


# ---- drawdown and the loss streak -------------------------------------------------------------


def test_drawdown_of_10_percent_from_the_peak_halts_and_resume_rebases_the_peak() -> None:
    state = replace(start(D("905"), WED), peak_equity=D("1000"))  # the periods started after the peak
    below, tripped, still = run(
        state, LIMITS, (WED, at("900.1")), (WED, at("900")), (datetime(2026, 12, 3, tzinfo=UTC), at("900"))
    )
    assert below.state.state is TradingState.ACTIVE
    hold = tripped.state.hold("DRAWDOWN")
    assert tripped.state.state is TradingState.HALTED
    assert hold is not None and hold.until is None
    assert [h.code for h in tripped.state.holds] == ["DRAWDOWN"]
    assert still.state.state is TradingState.HALTED  # a month later: still held
    assert still.state.peak_equity == D("1000")
    resumed = resume(still.state, LIMITS, "new plan", datetime(2026, 12, 3, 1, tzinfo=UTC))
    assert resumed.state.peak_equity == D("900")
    (after,) = run(resumed.state, LIMITS, (datetime(2026, 12, 3, 2, tzinfo=UTC), at("899")))
    assert after.state.state is TradingState.ACTIVE


def test_resume_keeps_the_peak_when_drawdown_was_not_held() -> None:
    state = replace(start(D("960"), WED), peak_equity=D("1000"), month_start_equity=D("1000"))
    (tripped,) = run(state, LIMITS, (WED, at("960")))
    assert [h.code for h in tripped.state.holds] == ["MONTHLY_LOSS"]
    assert resume(tripped.state, LIMITS, "ok", WED).state.peak_equity == D("1000")


def test_a_loss_streak_of_3_halts_and_resume_resets_the_count() -> None:
    two, three = run(start(D("1000"), WED), LIMITS, (WED, at("1000", loss_streak=2)), (WED, at("1000", loss_streak=3)))
    assert two.state.state is TradingState.ACTIVE
    assert three.state.state is TradingState.HALTED
    assert three.state.hold("LOSS_STREAK") is not None
    resumed = resume(three.state, LIMITS, "variance", WED)
    assert resumed.state.streak_base == 3 and resumed.state.effective_streak == 0
    same, five, six = run(
        resumed.state,
        LIMITS,
        (WED, at("1000", loss_streak=3)),
        (WED, at("1000", loss_streak=5)),
        (WED, at("1000", loss_streak=6)),
    )
    assert same.state.state is TradingState.ACTIVE
    assert five.state.state is TradingState.ACTIVE and five.state.effective_streak == 2
    assert six.state.state is TradingState.HALTED and six.state.effective_streak == 3


def test_a_win_after_resume_resets_the_base() -> None:
    resumed = resume(run(start(D("1000"), WED), LIMITS, (WED, at("1000", loss_streak=3)))[0].state, LIMITS, "x", WED)
    win, three = run(resumed.state, LIMITS, (WED, at("1000", loss_streak=0)), (WED, at("1000", loss_streak=3)))
    assert win.state.streak_base == 0
    assert three.state.state is TradingState.HALTED


def test_a_loss_streak_limit_of_zero_is_off() -> None:
    (update,) = run(start(D("1000"), WED), ISOLATED, (WED, at("1000", loss_streak=50)))
    assert update.state.state is TradingState.ACTIVE


# ---- flatten -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flatten_on", "readings", "expected"),
    [
        pytest.param(("MONTHLY_LOSS",), at("960"), ("MONTHLY_LOSS",), id="monthly-set"),
        pytest.param((), at("960"), (), id="monthly-not-set"),
        pytest.param(("DRAWDOWN",), at("960"), (), id="another-tier-set"),
        pytest.param(("LOSS_STREAK",), at("1000", loss_streak=3), ("LOSS_STREAK",), id="streak"),
        pytest.param(("MONTHLY_LOSS", "DAILY_LOSS"), at("940"), ("DAILY_LOSS", "MONTHLY_LOSS"), id="two-at-once"),
    ],
)
def test_flatten_on_returns_the_tier_that_tripped(
    flatten_on: tuple[str, ...], readings: Readings, expected: tuple[str, ...]
) -> None:
    limits = LIMITS.replace(flatten_on=flatten_on)
    first, again = run(start(D("1000"), WED), limits, (WED, readings), (WED + timedelta(minutes=1), readings))
    assert first.state.state is TradingState.HALTED
    assert first.flatten == expected
    assert again.flatten == ()  # only when the tier trips, not while it holds


def test_the_daily_amount_tier_flattens_as_daily_loss() -> None:
    limits = only(max_daily_loss_usd=D("30"), flatten_on=("DAILY_LOSS",))
    (update,) = run(start(D("1000"), WED), limits, (WED, at("970")))
    assert update.flatten == ("DAILY_LOSS",)


# ---- pause and kill ----------------------------------------------------------------------------


def test_pause_needs_a_reason() -> None:
    with pytest.raises(InvalidValue, match="reason"):
        pause(start(D("1000"), WED), "  ", WED)


def test_pause_halts_until_resume() -> None:
    update = pause(start(D("1000"), WED), " news at 14:00 ", WED)
    assert_well_formed(update)
    hold = update.state.hold("PAUSED")
    assert update.state.state is TradingState.HALTED
    assert hold is not None and hold.reason == "paused: news at 14:00" and hold.until is None
    assert names(update) == ["HoldAdded", "TradingStateChanged"]
    assert isinstance(added := update.events[0], HoldAdded) and added.code == "PAUSED"
    (alert,) = update.alerts
    assert (alert.level, alert.code) == ("critical", "PAUSED")
    again = pause(update.state, "twice", WED)
    assert again.state.holds == update.state.holds and again.events == () and again.alerts == ()
    (marked,) = run(update.state, LIMITS, (datetime(2026, 12, 10, tzinfo=UTC), at("1000")))
    assert marked.state.state is TradingState.HALTED  # no period lifts a pause


def test_kill_adds_its_hold_and_resume_lifts_every_hold() -> None:
    paused = pause(start(D("1000"), WED), "news", WED).state
    killed = kill(paused, "", WED + timedelta(minutes=1))
    assert_well_formed(killed)
    hold = killed.state.hold("KILL_SWITCH")
    assert hold is not None and hold.reason == "kill switch: flatten everything"
    assert names(killed) == ["HoldAdded"]  # already HALTED: the state does not move
    assert [a.code for a in killed.alerts] == ["KILL_SWITCH"]
    fresh = kill(start(D("1000"), WED), " venue down ", WED)
    assert [h.reason for h in fresh.state.holds] == ["kill switch: venue down"]
    assert state_changes(fresh) == [("ACTIVE", "HALTED")]
    resumed = resume(killed.state, LIMITS, "all clear", WED + timedelta(minutes=2))
    assert resumed.state.holds == ()
    assert isinstance(lifted := resumed.events[0], TradingResumed) and lifted.holds == ("KILL_SWITCH", "PAUSED")


# ---- unusual activity --------------------------------------------------------------------------


def orders(
    state: PolicyState, count: int, every: timedelta, *, rejected: bool = False, first: datetime = WED
) -> list[Update]:
    updates = []
    for i in range(count):
        update = on_order(state, LIMITS, first + every * i, rejected=rejected)
        assert_well_formed(update)
        updates.append(update)
        state = update.state
    return updates


def test_an_order_rate_spike_reduces_for_15_minutes() -> None:
    updates = orders(start(D("1000"), WED), 31, timedelta(seconds=1))
    assert all(u.state.state is TradingState.ACTIVE for u in updates[:30])
    spike = updates[30]
    hold = spike.state.hold("ORDER_RATE")
    assert spike.state.state is TradingState.REDUCING
    assert hold is not None and hold.until == WED + timedelta(seconds=30) + timedelta(minutes=15)
    assert state_changes(spike) == [("ACTIVE", "REDUCING")]
    (alert,) = spike.alerts
    assert (alert.level, alert.code) == ("warning", "ORDER_RATE") and "31 orders" in alert.message
    assert hold.until is not None
    before, lifted = run(spike.state, LIMITS, (hold.until - timedelta(seconds=1), at("1000")), (hold.until, at("1000")))
    assert before.state.state is TradingState.REDUCING
    assert lifted.state.state is TradingState.ACTIVE
    assert state_changes(lifted) == [("REDUCING", "ACTIVE")]


def test_orders_spread_over_more_than_a_minute_are_no_spike() -> None:
    updates = orders(start(D("1000"), WED), 40, timedelta(seconds=2.1))
    assert all(u.state.state is TradingState.ACTIVE for u in updates)
    assert len(updates[-1].state.order_times) == 29


def test_rejections_in_a_row_halt_and_a_success_resets_the_count() -> None:
    four = orders(start(D("1000"), WED), 4, timedelta(seconds=10), rejected=True)[-1].state
    assert four.rejections_in_row == 4 and four.state is TradingState.ACTIVE
    success = on_order(four, LIMITS, WED + timedelta(minutes=2), rejected=False).state
    assert success.rejections_in_row == 0
    four_again = orders(success, 4, timedelta(seconds=10), rejected=True, first=WED + timedelta(minutes=3))[-1].state
    assert four_again.state is TradingState.ACTIVE
    fifth = on_order(four_again, LIMITS, WED + timedelta(minutes=5), rejected=True)
    assert_well_formed(fifth)
    hold = fifth.state.hold("REJECTIONS")
    assert fifth.state.state is TradingState.HALTED
    assert hold is not None and hold.until is None and "5 orders in a row" in hold.reason
    assert [a.level for a in fifth.alerts] == ["critical"]
    resumed = resume(fifth.state, LIMITS, "venue fixed", WED + timedelta(minutes=6))
    assert resumed.state.rejections_in_row == 0 and resumed.state.state is TradingState.ACTIVE


def test_a_spike_then_rejections_moves_reducing_to_halted() -> None:
    spiked = orders(start(D("1000"), WED), 31, timedelta(seconds=1))[-1].state
    updates = orders(spiked, 5, timedelta(seconds=1), rejected=True, first=WED + timedelta(seconds=31))
    assert updates[-1].state.state is TradingState.HALTED
    assert state_changes(updates[-1]) == [("REDUCING", "HALTED")]


@pytest.mark.parametrize(
    ("sigmas", "reducing"),
    [
        pytest.param("5.9", False, id="below"),
        pytest.param("6", False, id="at"),
        pytest.param("6.1", True, id="above"),
        pytest.param("-6.1", True, id="above-downwards"),
    ],
)
def test_a_price_move_beyond_the_sigma_limit_reduces(sigmas: str, reducing: bool) -> None:
    state = start(D("1000"), WED)
    update = on_price_move(state, LIMITS, "BTC/USDT", D(sigmas), WED)
    assert_well_formed(update)
    if not reducing:
        assert update.state == state and update.events == () and update.alerts == ()
        return
    hold = update.state.hold("PRICE_MOVE")
    assert update.state.state is TradingState.REDUCING
    assert hold is not None and hold.until == WED + timedelta(minutes=15)
    assert hold.reason == "BTC/USDT moved 6.1 sigma in one mark"
    assert state_changes(update) == [("ACTIVE", "REDUCING")]
    assert [(a.level, a.code) for a in update.alerts] == [("warning", "PRICE_MOVE")]


# ---- dynamic risk ------------------------------------------------------------------------------


def with_results(wins: int, total: int = 20) -> PolicyState:
    return replace(start(D("1000"), WED), recent_results=(False,) * (total - wins) + (True,) * wins)


DYNAMIC = LIMITS.replace(dynamic_risk=True)


@pytest.mark.parametrize(
    ("wins", "expected"),
    [
        pytest.param(14, D("1.5"), id="0.70"),
        pytest.param(13, D("1.2"), id="0.65"),
        pytest.param(12, D("1.2"), id="0.60"),
        pytest.param(11, D("1"), id="0.55"),
        pytest.param(10, D("1"), id="0.50"),
        pytest.param(9, D("1"), id="0.45"),
        pytest.param(8, D("0.5"), id="0.40"),
    ],
)
def test_dynamic_risk_follows_the_win_rate(wins: int, expected: D) -> None:
    assert risk_percent(with_results(wins), DYNAMIC) == expected


def test_dynamic_risk_never_exceeds_the_cap() -> None:
    limits = LIMITS.replace(dynamic_risk=True, max_risk_per_trade_percent=D("1.2"), max_risk_cap_percent=D("1.5"))
    assert risk_percent(with_results(14), limits) == D("1.5")
    assert risk_percent(with_results(12), limits) == D("1.44")


def test_dynamic_risk_needs_20_trades_and_uses_only_the_last_20() -> None:
    assert risk_percent(with_results(19, total=19), DYNAMIC) == D("1")
    recent = replace(start(D("1000"), WED), recent_results=(False,) * 10 + (True,) * 20)
    assert risk_percent(recent, DYNAMIC) == D("1.5")
    (marked,) = run(start(D("1000"), WED), DYNAMIC, (WED, at("1000", recent_results=(True,) * 25)))
    assert len(marked.state.recent_results) == policy_state.RECENT_TRADES


def test_without_dynamic_risk_the_configured_risk_applies() -> None:
    assert risk_percent(with_results(14), LIMITS) == D("1")
    assert risk_percent(None, DYNAMIC) == D("1")


# ---- the audit trail ---------------------------------------------------------------------------


def test_every_transition_leaves_policy_events_and_each_state_move_is_recorded() -> None:
    state = start(D("1000"), WED)
    steps: list[tuple[Update, tuple[str, str] | None]] = []
    update = on_price_move(state, LIMITS, "ETH/USDT", D("9"), WED)
    steps.append((update, ("ACTIVE", "REDUCING")))
    update = pause(update.state, "checking", WED)
    steps.append((update, ("REDUCING", "HALTED")))
    update = kill(update.state, "to be safe", WED)
    steps.append((update, None))
    update = resume(update.state, LIMITS, "done", WED)
    steps.append((update, ("HALTED", "ACTIVE")))
    update = mark(update.state, LIMITS, at("960"), WED, "USDT")
    steps.append((update, ("ACTIVE", "HALTED")))
    for update, move in steps:
        assert update.events, "every transition is on the record"
        assert_well_formed(update)
        assert state_changes(update) == ([move] if move else [])
    changed = next(e for e in steps[1][0].events if isinstance(e, TradingStateChanged))
    assert changed.reason == "paused: checking"
    assert changed.at == WED
