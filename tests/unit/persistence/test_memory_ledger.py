"""What the memory ledger promises beyond the unit-of-work contract (tests/contract/test_unit_of_work.py): it loads
without SQLAlchemy, and a unit of work that wrote before another committed over the same operation is refused at
its commit (a database's row lock makes that race impossible in SQL; in memory it is the commit that checks)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from robson.domain.errors import ConcurrentChange
from robson.persistence.memory import MemoryLedger, MemoryUnitOfWork
from tests.integration.persistence.test_sql_operations import at, plan


def test_the_memory_ledger_loads_without_sqlalchemy() -> None:
    code = (
        "import sys, robson.persistence.memory; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'alembic', 'psycopg'}))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_a_write_made_before_another_units_commit_is_refused_at_commit_and_stores_nothing() -> None:
    ledger = MemoryLedger()
    with MemoryUnitOfWork(ledger) as uow:
        operation_id = uow.operations.add(plan()).id
        uow.commit()
    assert operation_id is not None
    with MemoryUnitOfWork(ledger) as first, MemoryUnitOfWork(ledger) as second:
        mine, theirs = first.operations.get(operation_id), second.operations.get(operation_id)
        assert mine is not None and theirs is not None
        mine.cancel(at(1), "cancelled here")
        first.operations.save(mine)  # written in the first unit, not committed
        first.marks.add("BTC/USDT", at(1), mine.entry_price)
        theirs.note = "committed by the other unit meanwhile"
        second.commit()
        with pytest.raises(ConcurrentChange, match=f"operation {operation_id} was changed by another process"):
            first.commit()
        assert first.audit.list() == []  # the refused commit's events were not kept for a later one
    with MemoryUnitOfWork(ledger) as uow:
        kept = uow.operations.get(operation_id)
        assert kept is not None and (kept.note, kept.version) == ("committed by the other unit meanwhile", 1)
        assert uow.marks.recent("BTC/USDT", 5) == [] and uow.audit.list() == []
