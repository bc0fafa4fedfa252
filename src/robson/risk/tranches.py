"""Tranches: one position built from several entries. After an add, the stop of the whole position is
re-based so that the loss of every tranche together, fees and slippage included, still fits the budget."""

from __future__ import annotations

from decimal import Decimal

from robson.domain.values import ONE, Side, ceil_to_step, floor_to_step
from robson.risk.sizing import Costs, loss_per_unit


def rebased_stop(
    side: Side,
    average_entry: Decimal,
    quantity: Decimal,
    budget: Decimal,
    costs: Costs,
    tick: Decimal,
    current_stop: Decimal,
) -> Decimal:
    """The loosest stop on the tick grid at which `quantity` entered at `average_entry` loses at most `budget`;
    never looser than the current stop (a stop only ever moves toward the price)."""
    allowed = budget / quantity  # per unit
    slip, fee = costs.slippage_rate, costs.fee_rate
    step = tick if tick > 0 else Decimal("1e-8")
    if side is Side.LONG:
        paid = ceil_to_step(average_entry * (ONE + slip), tick)
        received = (paid * (ONE + fee) - allowed) / (ONE - fee)
        stop = ceil_to_step(received / (ONE - slip), tick)
        while loss_per_unit(side, average_entry, stop, costs, tick) > allowed:
            stop += step
        return max(stop, current_stop)
    received_entry = floor_to_step(average_entry * (ONE - slip), tick)
    paid_stop = (allowed + received_entry * (ONE - fee)) / (ONE + fee)
    stop = floor_to_step(paid_stop / (ONE + slip), tick)
    while loss_per_unit(side, average_entry, stop, costs, tick) > allowed:
        stop -= step
    return min(stop, current_stop)
