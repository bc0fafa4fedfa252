"""Read the append-only audit trail."""

from __future__ import annotations

from robson.ports import AuditRecord
from robson.services.context import Context


def history(ctx: Context, entity: str | None = None, entity_id: str | None = None) -> list[AuditRecord]:
    with ctx.unit_of_work() as uow:
        return uow.audit.list(entity, entity_id)
