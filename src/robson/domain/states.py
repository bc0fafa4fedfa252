"""The states and reasons that the operation, the policy and the events all speak of: an operation's status and
why it closed, the account's trading state and when a hold on it lifts. Their own module so that the events can
name them without importing the operation that records them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class OperationStatus(StrEnum):
    PLANNED = "PLANNED"
    ACTIVE = "ACTIVE"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"

    @property
    def is_final(self) -> bool:
        return self in (OperationStatus.CLOSED, OperationStatus.CANCELLED, OperationStatus.REJECTED)


class CloseReason(StrEnum):
    STOP_LOSS = "STOP_LOSS"
    TAKE_PROFIT = "TAKE_PROFIT"
    TRAILING_STOP = "TRAILING_STOP"
    SCALE_OUT = "SCALE_OUT"
    TIME_EXIT = "TIME_EXIT"
    MANUAL = "MANUAL"
    KILL_SWITCH = "KILL_SWITCH"
    LIQUIDATION = "LIQUIDATION"
    PROTECTION_FAILED = "PROTECTION_FAILED"


class TradingState(StrEnum):
    """The account's trading state: the most severe of the holds in force (risk/policy_state.py)."""

    ACTIVE = "ACTIVE"  # every rule applies, nothing more
    REDUCING = "REDUCING"  # only orders that reduce or close exposure pass
    HALTED = "HALTED"  # no new exposure until the hold lifts; exits and stops still go through

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


def lifts(until: datetime | None) -> str:
    """When a hold lifts, as the trader reads it: at a time, or only on a resume."""
    return f"at {until:%Y-%m-%d %H:%M} UTC" if until else "on robson resume --override"
