"""Immutable, past-tense domain events. The services drain them into the audit trail."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class DomainEvent:
    name: str  # past tense: OperationPlanned, OrderFilled, TrancheAdded, ...
    entity: str  # "operation", "order", "position"
    entity_id: str
    at: datetime
    before: dict[str, str] = field(default_factory=dict)
    after: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Alert:
    """Something the trader must hear about now: a tier tripped, trading halted, unusual activity."""

    level: str  # "info", "warning" or "critical"
    code: str  # stable: MONTHLY_LOSS, KILL_SWITCH, ORDER_RATE, ...
    message: str
    at: datetime
