"""SqlPolicyRepository: the account's policy state, one row, read back exactly on every dialect."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine, func, select, update

from robson.persistence.database import Sessions
from robson.persistence.policy import SqlPolicyRepository
from robson.persistence.policy_codec import encode_policy_state
from robson.persistence.tables import policy_state
from robson.persistence.unit_of_work import SqlUnitOfWork
from robson.risk.policy_state import PolicyState, TradingState

from .test_policy_codec import T0, rich_state, states


def save(sessions: Sessions, state: PolicyState) -> None:
    with sessions() as session:
        SqlPolicyRepository(session).save(state)
        session.commit()


def load(sessions: Sessions) -> PolicyState | None:
    """The state as another process would read it: decoded from the stored text, not the last one this process
    saw (see test_the_last_state_is_reused_only_while_its_text_is_the_stored_one)."""
    SqlPolicyRepository._last = None
    with sessions() as session:
        return SqlPolicyRepository(session).get()


def test_the_last_state_is_reused_only_while_its_text_is_the_stored_one(sessions: Sessions) -> None:
    first = rich_state()
    save(sessions, first)
    with sessions() as session:
        assert SqlPolicyRepository(session).get() is first  # the same text: not decoded again
    other = dataclasses.replace(first, loss_streak=first.loss_streak + 1)
    with sessions() as session:  # another process writes the row
        session.execute(update(policy_state).values(data=encode_policy_state(other)))
        session.commit()
    with sessions() as session:
        read = SqlPolicyRepository(session).get()
    assert read == other and read is not first
    with sessions() as session:  # a save whose transaction rolls back
        SqlPolicyRepository(session).save(dataclasses.replace(other, loss_streak=99))
        session.rollback()
    with sessions() as session:
        assert SqlPolicyRepository(session).get() == other


def rows(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as connection:
        return [(row.id, row.trading_state) for row in connection.execute(select(policy_state))]


def test_an_account_without_a_state_reads_none(sessions: Sessions) -> None:
    assert load(sessions) is None


def test_a_state_survives_a_new_session_exactly(sessions: Sessions, engine: Engine) -> None:
    state = rich_state()
    save(sessions, state)
    loaded = load(sessions)
    assert loaded == state
    assert loaded is not None and loaded.state is TradingState.HALTED
    assert [h.until for h in loaded.holds] == [h.until for h in state.holds]
    assert loaded.acknowledged == ("MONTHLY_LOSS@2026-11", "WEEKLY_LOSS@2026-W45")
    assert loaded.order_times == state.order_times
    assert [str(v) for v in (loaded.equity, loaded.unrealized, loaded.realized_week, loaded.month_start_equity)] == [
        "9412.50000000",
        "-12.345678901234567890",
        "0E-8",
        "1.03E+4",
    ]
    assert rows(engine) == [(1, "HALTED")]


def test_saving_twice_keeps_one_row_with_the_latest_state(sessions: Sessions, engine: Engine) -> None:
    save(sessions, rich_state())
    resumed = dataclasses.replace(rich_state(), holds=(), equity=D("9500.10"), updated_at=T0 + timedelta(hours=1))
    save(sessions, resumed)
    assert load(sessions) == resumed
    assert rows(engine) == [(1, "ACTIVE")]
    with engine.connect() as connection:
        assert connection.scalar(select(policy_state.c.updated_at)) == T0 + timedelta(hours=1)
        assert connection.scalar(select(func.count()).select_from(policy_state)) == 1


def test_the_unit_of_work_commits_the_policy_state_with_everything_else(sessions: Sessions) -> None:
    with SqlUnitOfWork(sessions) as uow:
        uow.policy.save(rich_state())
        assert uow.policy.get() == rich_state()  # the same session sees it before the commit
    assert load(sessions) is None  # not committed: rolled back
    with SqlUnitOfWork(sessions) as uow:
        uow.policy.save(rich_state())
        uow.commit()
    with SqlUnitOfWork(sessions) as uow:
        assert uow.policy.get() == rich_state()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=states)
def test_any_state_survives_the_database(sessions: Sessions, state: PolicyState) -> None:
    save(sessions, state)
    assert load(sessions) == state
