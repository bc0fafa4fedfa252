"""What a venue can do. Each adapter declares its own; the use cases and the risk checks ask for the one they need
instead of assuming a spot account."""

from __future__ import annotations

from enum import StrEnum


class Capability(StrEnum):
    SPOT = "SPOT"  # buys with what the account holds, sells what it holds: no borrowing
    ISOLATED_MARGIN = "ISOLATED_MARGIN"  # borrows against one pair's own collateral (its loans, interest, level)
    SHORT = "SHORT"  # sells what the account does not hold: a short position
    OCO = "OCO"  # a stop and a target resting together for one quantity: when one fills, the venue cancels the other
    BRACKET = "BRACKET"  # an entry sent with its stop and target attached
    TRAILING_STOP = "TRAILING_STOP"  # a stop the venue itself moves behind the best price


SPOT_WITH_OCO = frozenset({Capability.SPOT, Capability.OCO})
"""A spot account whose venue rests a stop and a target as one OCO list (the paper venue, Binance spot)."""
