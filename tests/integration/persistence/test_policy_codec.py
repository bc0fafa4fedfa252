"""The PolicyState JSON codec: every field, exactly, and nothing it cannot read back."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robson.persistence.policy_codec import FIELDS, PolicyDataError, decode_policy_state, encode_policy_state
from robson.risk.policy_state import Hold, PolicyState, TradingState

T0 = datetime(2026, 11, 3, 14, 5, 6, 789012, tzinfo=UTC)

OFFSETS = [UTC, timezone(timedelta(hours=-3)), timezone(timedelta(hours=5, minutes=30))]
decimals = st.decimals(allow_nan=False, allow_infinity=False)
moments = st.datetimes(timezones=st.sampled_from(OFFSETS))
holds = st.builds(
    Hold,
    code=st.text(max_size=20),
    state=st.sampled_from(list(TradingState)),
    reason=st.text(max_size=60),
    since=moments,
    until=st.none() | moments,
)
states = st.builds(
    PolicyState,
    equity=decimals,
    peak_equity=decimals,
    day=st.dates(),
    day_start_equity=decimals,
    week=st.text(max_size=10),
    week_start_equity=decimals,
    month=st.text(max_size=10),
    month_start_equity=decimals,
    updated_at=moments,
    holds=st.lists(holds, max_size=4).map(tuple),
    acknowledged=st.lists(st.text(max_size=30), max_size=4).map(tuple),
    alerts_sent=st.lists(st.text(max_size=30), max_size=4).map(tuple),
    unrealized=decimals,
    realized_day=decimals,
    realized_week=decimals,
    realized_month=decimals,
    loss_streak=st.integers(min_value=0, max_value=10**6),
    streak_base=st.integers(min_value=0, max_value=10**6),
    recent_results=st.lists(st.booleans(), max_size=25).map(tuple),
    order_times=st.lists(moments, max_size=6).map(tuple),
    rejections_in_row=st.integers(min_value=0, max_value=10**6),
)


def rich_state() -> PolicyState:
    return PolicyState(
        equity=D("9412.50000000"),
        peak_equity=D("10250.1"),
        day=date(2026, 11, 3),
        day_start_equity=D("9500.00"),
        week="2026-W45",
        week_start_equity=D("9700"),
        month="2026-11",
        month_start_equity=D("1.03E+4"),
        updated_at=T0,
        holds=(
            Hold("DAILY_LOSS", TradingState.HALTED, "DAILY_LOSS: 3.1% against 3%", T0, T0 + timedelta(hours=10)),
            Hold("ORDER_RATE", TradingState.REDUCING, "order rate spike", T0, T0 + timedelta(minutes=15)),
            Hold("PAUSED", TradingState.HALTED, 'paused: café ☕ "quoted"', T0 - timedelta(days=1)),
        ),
        acknowledged=("MONTHLY_LOSS@2026-11", "WEEKLY_LOSS@2026-W45"),
        alerts_sent=("MONTHLY_LOSS>=2@2026-11",),
        unrealized=D("-12.345678901234567890"),
        realized_day=D("-87.5"),
        realized_week=D("0E-8"),
        realized_month=D("-837.60"),
        loss_streak=4,
        streak_base=1,
        recent_results=(True, False, False, True, False),
        order_times=(T0 - timedelta(seconds=50), T0 - timedelta(seconds=2), T0),
        rejections_in_row=2,
    )


def test_every_field_of_the_policy_state_has_a_codec() -> None:
    assert set(FIELDS) == {field.name for field in dataclasses.fields(PolicyState)}


def test_a_rich_state_round_trips_exactly() -> None:
    state = rich_state()
    text = encode_policy_state(state)
    decoded = decode_policy_state(text)
    assert decoded == state
    assert encode_policy_state(decoded) == text
    assert decoded.state is TradingState.HALTED
    assert [str(v) for v in (decoded.equity, decoded.month_start_equity, decoded.realized_week)] == [
        "9412.50000000",
        "1.03E+4",
        "0E-8",
    ]


def test_the_json_is_readable_by_people() -> None:
    data = json.loads(encode_policy_state(rich_state()))
    assert data["version"] == 1
    assert data["equity"] == "9412.50000000"
    assert data["day"] == "2026-11-03"
    assert data["updated_at"] == "2026-11-03T14:05:06.789012+00:00"
    assert data["holds"][2] == {
        "code": "PAUSED",
        "state": "HALTED",
        "reason": 'paused: café ☕ "quoted"',
        "since": "2026-11-02T14:05:06.789012+00:00",
        "until": None,
    }
    assert data["recent_results"] == [True, False, False, True, False]


def test_the_first_state_of_an_account_round_trips() -> None:
    state = PolicyState(
        D("1000"), D("1000"), date(2026, 1, 1), D("1000"), "2026-W01", D("1000"), "2026-01", D("1000"), T0
    )
    assert decode_policy_state(encode_policy_state(state)) == state


@settings(max_examples=300, deadline=None)
@given(state=states)
def test_any_state_round_trips_exactly(state: PolicyState) -> None:
    text = encode_policy_state(state)
    decoded = decode_policy_state(text)
    assert decoded == state
    assert encode_policy_state(decoded) == text  # the same digits, exponents and offsets, not only equal values
    for got, want in zip(
        (decoded.updated_at, *decoded.order_times), (state.updated_at, *state.order_times), strict=True
    ):
        assert got.utcoffset() == want.utcoffset()


def test_naive_datetimes_are_refused_on_the_way_in() -> None:
    with pytest.raises(ValueError, match="aware"):
        encode_policy_state(dataclasses.replace(rich_state(), updated_at=datetime(2026, 11, 3, 14, 5)))


def test_floats_are_refused_on_the_way_in() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        encode_policy_state(dataclasses.replace(rich_state(), equity=9412.5))  # type: ignore[arg-type]


def test_an_older_state_without_the_defaulted_fields_reads_with_their_defaults() -> None:
    data = json.loads(encode_policy_state(rich_state()))
    for name in ("holds", "order_times", "rejections_in_row"):
        del data[name]
    decoded = decode_policy_state(json.dumps(data))
    assert (decoded.holds, decoded.order_times, decoded.rejections_in_row) == ((), (), 0)


def edit(**changes: object) -> str:
    data = json.loads(encode_policy_state(rich_state()))
    for name, value in changes.items():
        if value is ...:
            del data[name]
        else:
            data[name] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ("[]", "expected dict"),
        (edit(version=2), "version 2"),
        (edit(version=...), "version None"),
        (edit(surprise=1), "unknown keys"),
        (edit(equity=...), "equity is missing"),
        (edit(equity=9412.5), "equity: expected str"),
        (edit(equity="lots"), "not a decimal"),
        (edit(updated_at="2026-11-03T14:05:06"), "without an offset"),
        (edit(updated_at="yesterday"), "not an ISO 8601"),
        (edit(day="03/11/2026"), "not an ISO date"),
        (edit(loss_streak=True), "loss_streak: expected int"),
        (edit(loss_streak="4"), "loss_streak: expected int"),
        (edit(recent_results=[1, 0]), r"recent_results\[0\]: expected bool"),
        (edit(acknowledged="MONTHLY_LOSS@2026-11"), "acknowledged: expected list"),
        (edit(holds=[{"code": "X"}]), "unexpected keys"),
        (
            edit(holds=[{"code": "X", "state": "PANIC", "reason": "", "since": T0.isoformat(), "until": None}]),
            "not a trading state",
        ),
    ],
)
def test_what_it_cannot_read_exactly_it_refuses(text: str, message: str) -> None:
    with pytest.raises(PolicyDataError, match=message):
        decode_policy_state(text)
