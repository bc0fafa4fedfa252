"""Read the append-only audit trail."""

from __future__ import annotations

from robson.ports import AuditRecord
from robson.services.context import Context


def history(ctx: Context, entity: str | None = None, entity_id: str | None = None) -> list[AuditRecord]:
    with ctx.unit_of_work() as uow:
        return uow.audit.list(entity, entity_id)


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """What a record changed, readable: 'status PLANNED -> ACTIVE', 'reason x' for a value set, 'note -' for one
    removed. Values are shown exactly as stored."""
    lines = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old is not None and new is not None:
            lines.append(f"{key} {old} -> {new}" if old != new else f"{key} {new}")
        elif new is not None:
            lines.append(f"{key} {new}")
        else:
            lines.append(f"{key} {old} -> -")
    return lines
