"""Pure exit rules: stop, target, trailing stop, scale-out, time exit and adaptive brackets.

Imports only `robson.domain`; no I/O and no clock (time is passed in).
"""

from robson.domain.protection import ExitProgress, ProtectionMode
from robson.exits.brackets import Bracket, Regime, adaptive_bracket
from robson.exits.engine import on_bar, on_tick
from robson.exits.policy import (
    HALF_AT_2R_REST_TRAILING,
    THIRDS,
    ExitPolicy,
    ScaleOutStep,
    Trailing,
)
from robson.exits.state import Action, ActionKind, PositionView

__all__ = [
    "HALF_AT_2R_REST_TRAILING",
    "THIRDS",
    "Action",
    "ActionKind",
    "Bracket",
    "ExitPolicy",
    "ExitProgress",
    "PositionView",
    "ProtectionMode",
    "Regime",
    "ScaleOutStep",
    "Trailing",
    "adaptive_bracket",
    "on_bar",
    "on_tick",
]
