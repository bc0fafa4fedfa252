"""Money as exact value types: Decimal-backed, built from strings or integers, never from floats."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from enum import StrEnum

from robson.domain.errors import InvalidValue

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)


def to_decimal(value: object, name: str = "value") -> Decimal:
    """Parse a finite Decimal from a string, int or Decimal. Floats are refused: they are not exact."""
    if isinstance(value, (bool, float)):
        raise InvalidValue(f"{name} must be given as a string or Decimal, not {type(value).__name__}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str):
        try:
            result = Decimal(str(value).strip().replace("_", ""))
        except InvalidOperation:
            raise InvalidValue(f"{name} is not a number: {value!r}") from None
    else:
        raise InvalidValue(f"{name} must be a number, not {type(value).__name__}")
    if not result.is_finite():
        raise InvalidValue(f"{name} must be a finite number, got {value}")
    return result


def positive(value: object, name: str = "value") -> Decimal:
    """A finite Decimal strictly greater than zero."""
    result = to_decimal(value, name)
    if result <= 0:
        raise InvalidValue(f"{name} must be greater than zero, got {value}")
    return result


def non_negative(value: object, name: str = "value") -> Decimal:
    """A finite Decimal greater than or equal to zero."""
    result = to_decimal(value, name)
    if result < 0:
        raise InvalidValue(f"{name} must not be negative, got {value}")
    return result


def percent(value: object, name: str = "percent", maximum: Decimal = HUNDRED) -> Decimal:
    """A percentage in (0, maximum]."""
    result = positive(value, name)
    if result > maximum:
        raise InvalidValue(f"{name} must be at most {maximum}, got {value}")
    return result


class Price(Decimal):
    """A positive, finite price."""

    def __new__(cls, value: object = "0") -> Price:
        return super().__new__(cls, positive(value, "price"))


class Quantity(Decimal):
    """A non-negative, finite quantity of an asset."""

    def __new__(cls, value: object = "0") -> Quantity:
        return super().__new__(cls, non_negative(value, "quantity"))


class Money(Decimal):
    """A finite amount of money; may be negative (a loss, a debit)."""

    def __new__(cls, value: object = "0") -> Money:
        return super().__new__(cls, to_decimal(value, "amount"))


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Round down onto the grid of `step` (step 0 means no grid)."""
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def ceil_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Round up onto the grid of `step` (step 0 means no grid)."""
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def is_on_step(value: Decimal, step: Decimal) -> bool:
    return step <= 0 or value % step == 0


class Side(StrEnum):
    """The side of an operation: long profits when the price rises, short when it falls."""

    LONG = "long"
    SHORT = "short"

    @property
    def sign(self) -> int:
        return 1 if self is Side.LONG else -1

    @property
    def entry_action(self) -> OrderSide:
        return OrderSide.BUY if self is Side.LONG else OrderSide.SELL

    @property
    def exit_action(self) -> OrderSide:
        return OrderSide.SELL if self is Side.LONG else OrderSide.BUY

    @classmethod
    def parse(cls, text: str) -> Side:
        normal = text.strip().lower()
        aliases = {"long": cls.LONG, "buy": cls.LONG, "short": cls.SHORT, "sell": cls.SHORT}
        if normal not in aliases:
            raise InvalidValue(f"side must be long or short, got {text!r}")
        return aliases[normal]


class OrderSide(StrEnum):
    """The side of one order on the venue."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        return 1 if self is OrderSide.BUY else -1
