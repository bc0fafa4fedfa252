"""Exit policies: how an open position is protected and taken off. Frozen, validated, pure data.

Distances are in R (the risk per unit at entry: |average entry - initial stop|), in percent of a price, or in
ATR multiples. Every number is a Decimal; floats are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from robson.domain.errors import InvalidValue
from robson.domain.protection import ProtectionMode
from robson.domain.values import HUNDRED, ONE, ZERO, percent, positive


def _optional_positive(value: Decimal | None, name: str) -> Decimal | None:
    return None if value is None else positive(value, name)


def _optional_percent(value: Decimal | None, name: str) -> Decimal | None:
    return None if value is None else percent(value, name)


def _exactly_one(names: tuple[str, ...], values: tuple[Decimal | None, ...], what: str) -> None:
    given = [name for name, value in zip(names, values, strict=True) if value is not None]
    if len(given) != 1:
        found = ", ".join(given) or "none"
        raise InvalidValue(f"trailing {what} needs exactly one of {', '.join(names)}; got {found}")


@dataclass(frozen=True, slots=True)
class Trailing:
    """A trailing stop: when it activates (one of `activate_r`, `activate_percent`) and how far it trails the best
    price seen (one of `trail_percent` of that price, `trail_r` in R, `trail_atr` in multiples of the ATR)."""

    activate_r: Decimal | None = None
    activate_percent: Decimal | None = None
    trail_percent: Decimal | None = None
    trail_r: Decimal | None = None
    trail_atr: Decimal | None = None

    def __post_init__(self) -> None:
        _exactly_one(("activate_r", "activate_percent"), (self.activate_r, self.activate_percent), "activation")
        _exactly_one(
            ("trail_percent", "trail_r", "trail_atr"), (self.trail_percent, self.trail_r, self.trail_atr), "distance"
        )
        _optional_positive(self.activate_r, "activate_r")
        _optional_percent(self.activate_percent, "activate_percent")
        _optional_percent(self.trail_percent, "trail_percent")
        if self.trail_percent is not None and self.trail_percent >= HUNDRED:
            raise InvalidValue(f"trail_percent must be below 100, got {self.trail_percent}")
        _optional_positive(self.trail_r, "trail_r")
        _optional_positive(self.trail_atr, "trail_atr")


@dataclass(frozen=True, slots=True)
class ScaleOutStep:
    """Take `fraction` of the ORIGINAL quantity off when the price reaches entry ± `at_r` R."""

    at_r: Decimal
    fraction: Decimal

    def __post_init__(self) -> None:
        positive(self.at_r, "scale-out at_r")
        fraction = positive(self.fraction, "scale-out fraction")
        if fraction > ONE:
            raise InvalidValue(f"a scale-out fraction is of the original quantity, at most 1; got {fraction}")


@dataclass(frozen=True, slots=True)
class ExitPolicy:
    """The exit rules of one operation (the initial stop and target come from its plan)."""

    mode: ProtectionMode = ProtectionMode.EXCHANGE
    trailing: Trailing | None = None
    scale_out: tuple[ScaleOutStep, ...] = ()
    break_even_after_first: bool = False
    time_exit_hours: Decimal | None = None
    time_exit_min_move_percent: Decimal = Decimal("0.5")

    def __post_init__(self) -> None:
        if not isinstance(self.mode, ProtectionMode):
            object.__setattr__(self, "mode", ProtectionMode.parse(str(self.mode)))
        if self.trailing is not None and not isinstance(self.trailing, Trailing):
            raise InvalidValue(f"trailing must be a Trailing or None, got {type(self.trailing).__name__}")
        object.__setattr__(self, "scale_out", tuple(self.scale_out))
        self._check_scale_out()
        if self.break_even_after_first and not self.scale_out:
            raise InvalidValue("break_even_after_first needs at least one scale-out step")
        _optional_positive(self.time_exit_hours, "time_exit_hours")
        percent(self.time_exit_min_move_percent, "time_exit_min_move_percent")

    def _check_scale_out(self) -> None:
        total = ZERO
        previous = ZERO
        for step in self.scale_out:
            if not isinstance(step, ScaleOutStep):
                raise InvalidValue(f"scale_out must hold ScaleOutStep values, got {type(step).__name__}")
            if step.at_r <= previous:
                raise InvalidValue(f"scale-out levels must rise strictly; {step.at_r} R comes after {previous} R")
            previous = step.at_r
            total += step.fraction
        if total > ONE:
            raise InvalidValue(f"scale-out fractions add up to {total}, more than the whole position")


_THIRD = ONE / 3

THIRDS = ExitPolicy(
    scale_out=(
        ScaleOutStep(Decimal(1), _THIRD),
        ScaleOutStep(Decimal(2), _THIRD),
        ScaleOutStep(Decimal(3), ONE - 2 * _THIRD),  # the three add up to exactly 1: the last takes the rest
    )
)
"""A third off at 1 R, 2 R and 3 R."""

HALF_AT_2R_REST_TRAILING = ExitPolicy(
    trailing=Trailing(activate_r=Decimal(2), trail_r=Decimal(1)),
    scale_out=(ScaleOutStep(Decimal(2), Decimal("0.5")),),
)
"""Half off at 2 R; the rest trails 1 R behind the best price, from 2 R on."""
