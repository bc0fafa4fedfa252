"""Plan an operation, adopt a position already held, and validate a plan against the rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from robson.domain.errors import InvalidValue
from robson.domain.events import OperationValidated
from robson.domain.instrument import Instrument
from robson.domain.operation import Operation, OperationStatus, validate_levels
from robson.domain.values import HUNDRED, ONE, Side, ceil_to_step, is_on_step
from robson.ports import UnitOfWork
from robson.risk import checks, levels, policy_state
from robson.risk.proposal import Proposal
from robson.risk.sizing import LotRules, SizingRefused, SizingResult, loss_per_unit
from robson.services import gateway, policy, portfolio, snapshot
from robson.services.context import Context
from robson.services.errors import NotFound, Refused
from robson.services.sizing import SizingParams, size
from robson.services.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class Planned:
    operation: Operation
    sizing: SizingResult
    decision: checks.Decision


def _on_tick(value: Decimal | None, name: str, instrument: Instrument) -> None:
    if value is not None and not is_on_step(value, instrument.tick_size):
        raise InvalidValue(f"{name} price {value} is not a multiple of the tick size {instrument.tick_size}")


def resolve_levels(
    instrument: Instrument,
    side: Side,
    entry: Decimal,
    stop: Decimal | None,
    target: Decimal | None,
    reward_risk: Decimal | None,
    stop_percent: Decimal,
    target_percent: Decimal,
) -> tuple[Decimal, Decimal]:
    """The trader's stop and target, or derived ones: with no stop, the strategy's stop and target percentages;
    with the trader's stop and no target, the strategy's reward:risk (target % / stop %) on that stop."""
    if target is not None and reward_risk is not None:
        raise InvalidValue("give either a target or a reward:risk ratio, not both")
    for name, value in (("entry", entry), ("stop", stop), ("target", target)):
        _on_tick(value, name, instrument)
    tick = instrument.tick_size
    given_stop = stop is not None
    if stop is None:
        stop = levels.stop_from_percent(entry, side, stop_percent, tick)
    validate_levels(side, entry, stop, target)
    if target is None and reward_risk is None and given_stop:
        reward_risk = target_percent / stop_percent  # the strategy's reward:risk (4% / 2% = 2) on the trader's stop
    if target is None:
        target = (
            levels.target_from_reward_risk(entry, stop, side, reward_risk, tick)
            if reward_risk is not None
            else levels.target_from_percent(entry, side, target_percent, tick)
        )
    validate_levels(side, entry, stop, target)
    return stop, target


def plan(
    ctx: Context,
    symbol: str,
    side: Side,
    entry: Decimal,
    stop: Decimal | None = None,
    target: Decimal | None = None,
    reward_risk: Decimal | None = None,
    strategy: str = "default",
    params: SizingParams | None = None,
    confidence: Decimal | None = None,
) -> Planned:
    """Store a PLANNED operation sized so that the loss at its stop, costs included, fits the risk budget."""
    instrument = ctx.instrument(symbol)
    limits = ctx.limits(strategy)
    protection = ctx.protection(strategy)
    ctx.require_protection(protection)
    stop, target = resolve_levels(
        instrument, side, entry, stop, target, reward_risk, limits.stop_loss_percent, limits.take_profit_percent
    )
    with ctx.unit_of_work() as uow:
        snap = policy.marked(ctx, uow)  # judged against today's state: a hold that expired lifts, a fresh loss counts
        capital = capital_of(ctx, snap, instrument.quote)
        if capital <= 0:
            raise Refused(f"the account has no {instrument.quote} equity to size from")
        risk_percent = policy_state.risk_percent(snap.policy, limits)
        try:
            sizing = size(
                capital,
                entry,
                stop,
                params or SizingParams(),
                side=side,
                risk_percent=risk_percent,
                max_position_percent=limits.max_position_size_percent,
                costs=ctx.costs(instrument.symbol),
                lot=LotRules.of(instrument),
            )
        except SizingRefused as refusal:
            raise Refused(str(refusal)) from refusal
        now = ctx.clock.now()
        operation = Operation(
            symbol=instrument.symbol,
            side=side,
            strategy=strategy,
            entry_price=entry,
            stop_price=stop,
            target_price=target,
            quantity=sizing.quantity,
            risk_amount=sizing.risk_amount,
            quote=instrument.quote,
            created_at=now,
            protection=protection,
        )
        decision = decide(ctx, uow, snap, operation, confidence=confidence)
        if not decision.approved:
            raise Refused(decision.summary(), decision.failures)
        uow.operations.add(operation)
        operation.record_plan(now, confidence)
        uow.commit()
    return Planned(operation, sizing, decision)


def load(ctx: Context, operation_id: int) -> Operation:
    with ctx.unit_of_work() as uow:
        operation = uow.operations.get(operation_id)
    if operation is None:
        raise NotFound(f"unknown operation id {operation_id}")
    return operation


def capital_of(ctx: Context, snap: Snapshot, quote: str) -> Decimal:
    """The equity a plan in `quote` is sized from: the snapshot's, when the account is measured in that quote."""
    return snap.equity if quote == snap.quote else portfolio.equity(ctx.exchange, quote)


def decision_on(ctx: Context, uow: UnitOfWork, operation_id: int) -> tuple[Snapshot, Operation]:
    """The operation a validate or an execute decides on, and the decision's snapshot with its price, marked to
    market first: one load of the operations (a PLANNED or ACTIVE one is among those the risk rules measure), one
    read of the account."""
    operations = snapshot.measured(uow, ctx.clock.now())
    operation = uow.operations.get(operation_id)
    snap = policy.marked(ctx, uow, [operation.symbol] if operation is not None else [], operations)
    if operation is None:
        raise NotFound(f"unknown operation id {operation_id}")
    return snap, operation


def fitted_quantity(ctx: Context, snap: Snapshot, operation: Operation, entry: Decimal) -> Decimal:
    """The quantity an execution at `entry` sends: the plan's, shrunk when entering there would risk more than
    the plan did or more than today's budget (the equity may have fallen since the plan: fees, other losses)."""
    instrument = ctx.instrument(operation.symbol)
    limits = ctx.limits(operation.strategy)
    costs = ctx.costs(operation.symbol)
    per_unit = loss_per_unit(operation.side, entry, operation.stop_price, costs, instrument.tick_size)
    capital = capital_of(ctx, snap, operation.quote)
    risk_percent = policy_state.risk_percent(snap.policy, limits)
    if operation.quantity * per_unit <= min(operation.risk_amount, capital * risk_percent / HUNDRED):
        return operation.quantity
    try:
        resized = size(
            capital,
            entry,
            operation.stop_price,
            SizingParams(),
            side=operation.side,
            risk_percent=risk_percent,
            max_position_percent=limits.max_position_size_percent,
            costs=costs,
            lot=LotRules.of(instrument),
        )
    except SizingRefused as refusal:
        raise Refused(str(refusal)) from refusal
    return min(resized.quantity, operation.quantity)


def proposal(ctx: Context, snap: Snapshot, operation: Operation, entry: Decimal | None = None) -> Proposal:
    """A PLANNED operation as an order that opens exposure, priced at `entry` (the plan's, or the market's), at
    the quantity an execution there would send."""
    instrument = ctx.instrument(operation.symbol)
    entry = entry or operation.entry_price
    costs = ctx.costs(operation.symbol)
    quantity = fitted_quantity(ctx, snap, operation, entry)
    risk = quantity * loss_per_unit(operation.side, entry, operation.stop_price, costs, instrument.tick_size)
    paid = ceil_to_step(entry * (ONE + costs.slippage_rate), instrument.tick_size)
    return Proposal(
        instrument=instrument,
        side=operation.side,
        entry=entry,
        quantity=quantity,
        stop=operation.stop_price,
        target=operation.target_price,
        risk_amount=risk,
        cost=quantity * paid * (ONE + costs.fee_rate),
        group=ctx.groups.get(operation.symbol),
    )


def decide(
    ctx: Context,
    uow: UnitOfWork,
    snap: Snapshot,
    operation: Operation,
    entry: Decimal | None = None,
    confidence: Decimal | None = None,
) -> checks.Decision:
    """Run the pre-trade checks for a planned operation against the portfolio in the decision's snapshot, through
    the gateway."""
    candidate = proposal(ctx, snap, operation, entry)
    if confidence is not None:
        candidate = replace(candidate, confidence=confidence)
    return gateway.decide(ctx, uow, candidate, operation.strategy, snap)


def market_checks(
    snap: Snapshot, operation: Operation, max_deviation_percent: Decimal, entry: Decimal | None = None
) -> tuple[Decimal | None, tuple[checks.CheckResult, ...]]:
    """The market's price in the snapshot, and whether it still fits the plan entering at `entry` (the plan's, or
    a planned tranche's) (`checks.market`): what execute refuses on before the rules, and validate shows."""
    reference = snap.price(operation.symbol)
    held = checks.Plan(
        operation.symbol, operation.side, entry or operation.entry_price, operation.stop_price, operation.target_price
    )
    return reference, checks.market(held, reference, max_deviation_percent)


def market_price(ctx: Context, snap: Snapshot, operation: Operation, entry: Decimal | None = None) -> Decimal:
    """The price an execution enters at; refused (with the failing checks) when the market no longer fits."""
    reference, market = market_checks(snap, operation, ctx.max_entry_deviation_percent, entry)
    failed = tuple(c for c in market if not c.passed)
    if failed or reference is None:
        raise Refused("; ".join(f"{c.code}: {c.reason}" for c in failed), failed)
    return reference


def as_execute_would(
    ctx: Context,
    snap: Snapshot,
    operation: Operation,
    entry: Decimal | None,
    rules: Callable[[Decimal | None], checks.Decision],
) -> checks.Decision:
    """Every check execute will run, on its inputs: the market checks, then the rules at the market's price
    (marked as depending on it), or at the planned entry when there is no price or it is through a level."""
    reference, market = market_checks(snap, operation, ctx.max_entry_deviation_percent, entry)
    if reference is not None and all(c.passed for c in market if c.code != "ENTRY_DEVIATION"):
        judged = checks.at_execution(rules(reference))
    else:
        judged = rules(None)
    return checks.Decision((*market, *judged.checks))


def validate(ctx: Context, operation_id: int) -> tuple[Operation, checks.Decision]:
    """Run every check execute will, on the same inputs (the market's price now, the quantity an execution there
    would send), marking those that depend on the market at execution; put the verdict on the audit trail."""
    with ctx.unit_of_work() as uow:
        snap, operation = decision_on(ctx, uow, operation_id)
        return operation, validated(ctx, uow, snap, operation)


def validated(ctx: Context, uow: UnitOfWork, snap: Snapshot, operation: Operation) -> checks.Decision:
    """Validate a plan on the decision's snapshot (see `validate`)."""
    if operation.status is not OperationStatus.PLANNED:
        raise InvalidValue(f"operation {operation.id} is {operation.status}; only PLANNED operations are validated")
    decision = as_execute_would(ctx, snap, operation, None, lambda entry: decide(ctx, uow, snap, operation, entry))
    operation.record(verdict(operation, decision, ctx.clock.now()))
    uow.commit()
    return decision


def verdict(operation: Operation, decision: checks.Decision, at: datetime, tranche: bool = False) -> OperationValidated:
    """The verdict on the audit trail: a plan's (or, `tranche`, a further tranche's) checks, nothing sent."""
    return OperationValidated(
        operation_id=operation.id, at=at, approved=decision.approved, summary=decision.summary(), tranche=tranche
    )


def operations(ctx: Context, statuses: tuple[OperationStatus, ...] = ()) -> list[Operation]:
    with ctx.unit_of_work() as uow:
        return uow.operations.list(statuses)
