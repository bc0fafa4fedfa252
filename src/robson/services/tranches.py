"""Tranches: add to an ACTIVE operation. The add is planned (sized, its stop re-based so that every tranche
together still fits the per-trade budget, and judged by the gateway), validated, then executed: the entry
fills, the stop moves for the whole position, and the protective orders are replaced for the new quantity."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from robson.domain.errors import InvalidValue
from robson.domain.operation import Operation, OperationStatus, PendingAdd
from robson.domain.orders import OrderRole, OrderType
from robson.domain.values import HUNDRED, ONE, Side, ceil_to_step, is_on_step
from robson.ports import UnitOfWork
from robson.risk import checks, policy_state
from robson.risk.proposal import Intent, Proposal, TrancheContext
from robson.risk.sizing import loss_per_unit
from robson.risk.tranches import rebased_stop
from robson.services import gateway, orders, planning
from robson.services.context import Context
from robson.services.errors import Refused
from robson.services.snapshot import Snapshot
from robson.services.trading import replace_protection
from robson.services.working import Outcome


@dataclass(frozen=True, slots=True)
class PlannedAdd:
    operation: Operation
    decision: checks.Decision


def _check_active(op: Operation) -> None:
    if op.status is not OperationStatus.ACTIVE or op.position.is_flat:
        raise InvalidValue(f"operation {op.id} is {op.status}; tranches are added to ACTIVE operations")
    if op.open_orders(OrderRole.ENTRY):
        raise Refused(f"operation {op.id} already has an entry working; run robson sync")


def _proposal(
    ctx: Context, snap: Snapshot, op: Operation, entry: Decimal, quantity: Decimal, confidence: Decimal | None
) -> Proposal:
    """The add as the gateway judges it: the whole position after the fill, with its stop re-based."""
    instrument = ctx.instrument(op.symbol)
    limits = ctx.limits(op.strategy)
    costs = ctx.costs(op.symbol)
    position = op.position
    total = position.quantity + quantity
    average = (position.cost_basis + entry * quantity) / total
    budget = snap.equity * policy_state.risk_percent(snap.policy, limits) / HUNDRED
    stop = rebased_stop(op.side, average, total, budget, costs, instrument.tick_size, op.stop_price)
    if (entry - stop) * op.side.sign <= 0 or (average - stop) * op.side.sign <= 0:
        raise Refused(
            f"no room for a stop: {quantity} more at {entry} would need the whole position's stop at {stop}, "
            f"at or through the price; add less"
        )
    risk = total * loss_per_unit(op.side, average, stop, costs, instrument.tick_size)
    paid = ceil_to_step(entry * (ONE + costs.slippage_rate), instrument.tick_size)
    return Proposal(
        instrument=instrument,
        side=op.side,
        entry=entry,
        quantity=quantity,
        stop=stop,
        target=op.target_price,
        risk_amount=risk,
        cost=quantity * paid * (ONE + costs.fee_rate),
        intent=Intent.ADD,
        average_entry=average,
        position_quantity=total,
        added_risk=risk - gateway.exposure(ctx, op, snap).risk,
        confidence=confidence,
        group=ctx.groups.get(op.symbol),
        tranche=TrancheContext(len(position.tranches), max(t.time for t in position.tranches)),
    )


def plan_add(
    ctx: Context,
    operation_id: int,
    entry: Decimal,
    quantity: Decimal | None = None,
    *,
    symbol: str | None = None,
    side: Side | None = None,
    confidence: Decimal | None = None,
) -> PlannedAdd:
    """Plan a further tranche of an ACTIVE operation (default size: the first tranche's quantity)."""
    with ctx.unit_of_work() as uow:
        snap, op = planning.decision_on(ctx, uow, operation_id)
        _check_active(op)
        instrument = ctx.instrument(op.symbol)
        if symbol is not None and ctx.instrument(symbol).symbol != op.symbol:
            raise InvalidValue(f"operation {operation_id} trades {op.symbol}, not {symbol}")
        if side is not None and side is not op.side:
            raise InvalidValue(f"operation {operation_id} is {op.side}; a tranche adds to the same side")
        if not entry.is_finite() or entry <= 0 or not is_on_step(entry, instrument.tick_size):
            raise InvalidValue(f"entry {entry} must be a positive multiple of the tick size {instrument.tick_size}")
        quantity = quantity if quantity is not None else op.position.tranches[0].quantity
        if quantity <= 0 or not is_on_step(quantity, instrument.step_size):
            raise InvalidValue(f"quantity {quantity} must be a positive multiple of the step {instrument.step_size}")
        proposal = _proposal(ctx, snap, op, entry, quantity, confidence)
        decision = gateway.decide(ctx, uow, proposal, op.strategy, snap)
        if not decision.approved:
            raise Refused(decision.summary(), decision.failures)
        op.plan_add(PendingAdd(entry, quantity, proposal.stop, proposal.risk_amount, ctx.clock.now()))
        uow.commit()
        return PlannedAdd(op, decision)


def decide_add(
    ctx: Context, uow: UnitOfWork, snap: Snapshot, op: Operation, entry: Decimal | None = None
) -> checks.Decision:
    add = op.pending_add
    if add is None:
        raise InvalidValue(f"operation {op.id} has no tranche planned (robson plan ... --add-to {op.id})")
    proposal = _proposal(ctx, snap, op, entry or add.entry_price, add.quantity, None)
    return gateway.decide(ctx, uow, proposal, op.strategy, snap)


def validate_add(ctx: Context, operation_id: int) -> tuple[Operation, checks.Decision]:
    with ctx.unit_of_work() as uow:
        snap, op = planning.decision_on(ctx, uow, operation_id)
        return op, validated_add(ctx, uow, snap, op)


def validated_add(ctx: Context, uow: UnitOfWork, snap: Snapshot, op: Operation) -> checks.Decision:
    """Validate a planned tranche on the decision's snapshot."""
    _check_active(op)
    add = op.pending_add
    entry = add.entry_price if add is not None else None
    decision = planning.as_execute_would(ctx, snap, op, entry, lambda price: decide_add(ctx, uow, snap, op, price))
    op.record(planning.verdict(op, decision, ctx.clock.now(), tranche=True))
    uow.commit()
    return decision


def execute_add(ctx: Context, operation_id: int) -> Outcome:
    """Send the planned tranche at market; once it fills, re-base the stop and replace the protection."""
    with ctx.unit_of_work() as uow:
        snap, op = planning.decision_on(ctx, uow, operation_id)
        return executed_add(ctx, uow, snap, op)


def executed_add(ctx: Context, uow: UnitOfWork, snap: Snapshot, op: Operation) -> Outcome:
    """Execute a planned tranche on the decision's snapshot (see `execute_add`)."""
    _check_active(op)
    add = op.pending_add
    if add is None:
        raise InvalidValue(f"operation {op.id} has no tranche planned (robson plan ... --add-to)")
    reference = planning.market_price(ctx, snap, op, add.entry_price)  # the checks validate runs too
    decision = decide_add(ctx, uow, snap, op, reference)
    if not decision.approved:
        raise Refused(decision.summary(), decision.failures)
    proposal = _proposal(ctx, snap, op, reference, add.quantity, None)
    outcome = Outcome(op)
    now = ctx.clock.now()
    entered_before = op.position.entered_quantity
    entry = orders.new_order(op, OrderRole.ENTRY, op.side.entry_action, OrderType.MARKET, add.quantity, now)
    uow.commit()
    report, changes = orders.settle(ctx, op, orders.place(ctx, op, entry, reference), uow)  # one commit
    if report is None:
        if entry.reject_reason != orders.NEVER_REACHED:
            op.drop_add(ctx.clock.now(), entry.reject_reason or "rejected")
        uow.commit()
        raise Refused(f"the tranche was not placed: {entry.reject_reason}")
    outcome.changes += changes
    if op.position.entered_quantity == entered_before:
        raise Refused("the tranche has not filled yet; run robson sync")
    op.rebase(proposal.stop, proposal.risk_amount, ctx.clock.now())
    uow.commit()
    replace_protection(ctx, uow, op, outcome)  # for the whole new quantity at the re-based stop
    return outcome
