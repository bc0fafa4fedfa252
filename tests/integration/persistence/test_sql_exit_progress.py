"""An operation's protection mode and exit progress survive a save and a reload: the columns hold what they held
before the domain had types for them ("exchange" / "internal"; best price, trailing, scale-outs, break-even)."""

from __future__ import annotations

from decimal import Decimal as D

from sqlalchemy import select

from robson.domain.operation import Operation
from robson.domain.protection import ExitProgress, ProtectionMode
from robson.persistence.database import Sessions
from robson.persistence.repositories import SqlOperationRepository
from robson.persistence.tables import operations
from tests.integration.persistence.test_sql_operations import at, enter, plan, reload


def add(sessions: Sessions, *added: Operation) -> list[int]:
    with sessions() as session:
        repository = SqlOperationRepository(session)
        for operation in added:
            repository.add(operation)
        session.commit()
    return [operation.id for operation in added if operation.id is not None]


def test_the_protection_mode_is_stored_as_its_old_text_and_read_back_as_the_enum(sessions: Sessions) -> None:
    internal, exchange = plan("rb1"), plan("rb2")
    internal.protection = ProtectionMode.INTERNAL
    internal_id, exchange_id = add(sessions, internal, exchange)
    with sessions() as session:
        stored = {row.id: row.protection for row in session.execute(select(operations.c.id, operations.c.protection))}
    assert stored == {internal_id: "internal", exchange_id: "exchange"}
    assert reload(sessions, internal_id).protection is ProtectionMode.INTERNAL
    assert reload(sessions, exchange_id).protection is ProtectionMode.EXCHANGE


def test_the_exit_progress_is_the_operations_own_and_survives_a_reload(sessions: Sessions) -> None:
    operation = plan()
    enter(operation)
    (operation_id,) = add(sessions, operation)
    with sessions() as session:
        repository = SqlOperationRepository(session)
        loaded = repository.get(operation_id)
        assert loaded is not None and loaded.progress == ExitProgress()
        loaded.progress = ExitProgress(D("95000"), True, 1, True, D("91000"))
        loaded.move_stop(D("91000"), at(10), "TRAILING_STOP")
        repository.save(loaded)
        session.commit()
    assert reload(sessions, operation_id).progress == loaded.progress


def test_a_stored_operation_whose_trailing_is_active_trails_with_its_stop_in_force(sessions: Sessions) -> None:
    """The trailing stop is not a column: read back, the stop in force is the trailing stop while trailing is
    active (as the exit rules were always given it), and there is none while it is not."""
    trailing, still = plan("rb1"), plan("rb2")
    trailing.progress = ExitProgress(best_price=D("94000"), trailing_active=True)
    still.progress = ExitProgress(best_price=D("94000"))
    trailing_id, still_id = add(sessions, trailing, still)
    assert reload(sessions, trailing_id).progress == ExitProgress(D("94000"), True, trailing_stop=trailing.stop_price)
    assert reload(sessions, still_id).progress == ExitProgress(D("94000"))
