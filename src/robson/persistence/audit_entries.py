"""What each domain event writes on the audit trail: one function per event, each the record the trail has always
held for that fact (its action name, its values before and after, as text). Shared by the SQL and the memory
ledgers (no SQLAlchemy here); a unit of work writes these entries in the same transaction as the changes the events
tell of, so the audit trail is the one subscriber that is never told after the fact.

An event with no function here fails its commit (`TypeError`): a new fact is audited, or says it is not (`Alert`).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import singledispatch

from robson.domain.events import (
    Alert,
    Event,
    ExitTriggered,
    FillApplied,
    HoldAdded,
    HoldLifted,
    OperationClosed,
    OperationPlanned,
    OperationResized,
    OperationStatusChanged,
    OperationValidated,
    OrderRecorded,
    OrderRejected,
    OrderStatusChanged,
    RiskAlerted,
    ScaleOutTriggered,
    StopLossTriggered,
    StopMoved,
    StopRebased,
    TradingResumed,
    TradingStateChanged,
    TrancheAdded,
    TrancheDropped,
    TranchePlanned,
)
from robson.domain.states import OperationStatus
from robson.ports import AuditEntry


def audit_entries(events: Iterable[Event]) -> list[AuditEntry]:
    """The entries of the events that are audited, in their order."""
    return [entry for entry in map(audit_entry, events) if entry is not None]


def _entry(event: Event, name: str, before: dict[str, str], after: dict[str, str]) -> AuditEntry:
    return AuditEntry(name, event.entity, event.entity_id, event.at, before, after)


@singledispatch
def audit_entry(event: Event) -> AuditEntry | None:
    """The audit trail's record of one event; None for an event that is not audited."""
    raise TypeError(f"no audit entry for {type(event).__name__}: map it in persistence/audit_entries.py")


@audit_entry.register
def _(event: Alert) -> AuditEntry | None:
    return None  # said to the trader, not audited: what it tells of (a hold, a halt, a fault) is, or is not a change


# ---- operations ------------------------------------------------------------------------------------------------


@audit_entry.register
def _(event: OperationPlanned) -> AuditEntry | None:
    after = {
        "status": OperationStatus.PLANNED.value,
        "symbol": event.symbol,
        "side": event.side.value,
        "entry_price": str(event.entry_price),
        "stop_price": str(event.stop_price),
        "target_price": str(event.target_price),
        "quantity": str(event.quantity),
        "risk_amount": str(event.risk_amount),
    }
    if event.signal_confidence is not None:
        after["signal_confidence"] = str(event.signal_confidence)
    return _entry(event, "OperationPlanned", {}, after)


@audit_entry.register
def _(event: OperationValidated) -> AuditEntry | None:
    after = {"approved": str(event.approved), "failures": event.summary}
    if event.tranche:
        after["tranche"] = "planned add"
    return _entry(event, "OperationValidated", {}, after)


@audit_entry.register
def _(event: OperationResized) -> AuditEntry | None:
    before = {
        "quantity": str(event.previous_quantity),
        "risk_amount": str(event.previous_risk_amount),
        "entry_price": str(event.previous_entry_price),
    }
    after = {
        "quantity": str(event.quantity),
        "risk_amount": str(event.risk_amount),
        "entry_price": str(event.entry_price),
    }
    return _entry(event, "OperationResized", before, after)


def _status_change(event: OperationStatusChanged, after: dict[str, str]) -> AuditEntry:
    """OperationActive, OperationClosed, OperationCancelled, OperationRejected: named by the status moved to."""
    name = "Operation" + event.status.value.title()
    return _entry(event, name, {"status": event.previous.value}, {"status": event.status.value, **after})


@audit_entry.register
def _(event: OperationStatusChanged) -> AuditEntry | None:
    return _status_change(event, {})


@audit_entry.register
def _(event: OperationClosed) -> AuditEntry | None:
    return _status_change(event, {"close_reason": event.reason.value})


@audit_entry.register
def _(event: TranchePlanned) -> AuditEntry | None:
    after = {
        "entry_price": str(event.entry_price),
        "quantity": str(event.quantity),
        "stop_price": str(event.stop_price),
        "risk_amount": str(event.risk_amount),
    }
    return _entry(event, "TranchePlanned", {}, after)


@audit_entry.register
def _(event: TrancheDropped) -> AuditEntry | None:
    return _entry(event, "TrancheDropped", {}, {"reason": event.reason})


@audit_entry.register
def _(event: StopRebased) -> AuditEntry | None:
    before = {
        "stop_price": str(event.previous_stop),
        "quantity": str(event.previous_quantity),
        "risk": str(event.previous_risk_amount),
    }
    after = {"stop_price": str(event.stop_price), "quantity": str(event.quantity), "risk": str(event.risk_amount)}
    return _entry(event, "StopRebased", before, after)


@audit_entry.register
def _(event: StopMoved) -> AuditEntry | None:
    after = {"stop_price": str(event.stop_price), "why": event.why.value}
    return _entry(event, "StopMoved", {"stop_price": str(event.previous_stop)}, after)


@audit_entry.register
def _(event: ExitTriggered) -> AuditEntry | None:
    """ExitTriggered, or StopLossTriggered for a stop loss's."""
    after = {"reason": event.reason.value}
    if event.price is not None:
        after["price"] = str(event.price)
    return _entry(event, "StopLossTriggered" if isinstance(event, StopLossTriggered) else "ExitTriggered", {}, after)


@audit_entry.register
def _(event: ScaleOutTriggered) -> AuditEntry | None:
    return _entry(event, "ScaleOutTriggered", {}, {"quantity": str(event.quantity)})


@audit_entry.register
def _(event: FillApplied) -> AuditEntry | None:
    """TrancheAdded (an entry's fill) or PositionReduced (an exit's)."""
    fill = event.fill
    after = {"trade_id": fill.trade_id, "price": str(fill.price), "quantity": str(fill.quantity)}
    return _entry(event, "TrancheAdded" if isinstance(event, TrancheAdded) else "PositionReduced", {}, after)


# ---- orders ----------------------------------------------------------------------------------------------------


@audit_entry.register
def _(event: OrderRecorded) -> AuditEntry | None:
    return _entry(event, "OrderRecorded", {}, {"status": event.status.value, "type": event.order_type.value})


def _order_status(event: OrderStatusChanged) -> AuditEntry:
    """OrderNew, OrderPartiallyFilled, OrderFilled, OrderCanceled, OrderExpired, OrderRejected (as a venue's report
    says): named by the status moved to."""
    name = "Order" + event.status.value.title().replace("_", "")
    after = {"status": event.status.value, "filled_quantity": str(event.filled_quantity)}
    return _entry(event, name, {"status": event.previous.value}, after)


@audit_entry.register
def _(event: OrderStatusChanged) -> AuditEntry | None:
    return _order_status(event)


@audit_entry.register
def _(event: OrderRejected) -> AuditEntry | None:
    if event.reason is None:  # the venue's report said so: as any other status it reports
        return _order_status(event)
    after = {"status": event.status.value, "reason": event.reason}
    return _entry(event, "OrderRejected", {"status": event.previous.value}, after)


# ---- the policy ------------------------------------------------------------------------------------------------


@audit_entry.register
def _(event: TradingStateChanged) -> AuditEntry | None:
    after = {"state": event.state.value, "reason": event.reason}
    return _entry(event, "TradingStateChanged", {"state": event.previous.value}, after)


@audit_entry.register
def _(event: HoldAdded) -> AuditEntry | None:
    after = {"hold": event.code, "state": event.state.value, "reason": event.reason, "lifts": event.lifts}
    return _entry(event, "HoldAdded", {}, after)


@audit_entry.register
def _(event: HoldLifted) -> AuditEntry | None:
    return _entry(event, "HoldLifted", {"hold": event.code, "reason": event.reason}, {"lifted": "on time"})


@audit_entry.register
def _(event: TradingResumed) -> AuditEntry | None:
    return _entry(event, "TradingResumed", {"holds": ", ".join(event.holds)}, {"override": event.override})


@audit_entry.register
def _(event: RiskAlerted) -> AuditEntry | None:
    return _entry(event, "RiskAlerted", {}, {"alert": event.code, "message": event.message})
