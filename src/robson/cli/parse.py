"""Parse command-line text into exact values, with one-line reasons for anything malformed.

Every number the user types passes `decimal`: finite, at most MAXIMUM in size and at most PLACES decimals (so
that no later sum or product overflows the Decimal context or the ledger's columns), and positive or not
negative as the option requires. Each message names the option and shows what was typed, verbatim.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from robson.domain.errors import InvalidValue

MAXIMUM = Decimal("1e15")  # a quadrillion: beyond any price, quantity or capital; products stay exact
PLACES = 12  # the ledger's finest grid (cost basis is allocated on 1e-12)
LARGEST_ID = 2**63 - 1  # the ledger's integer keys are 64-bit


def decimal(text: str, name: str, *, minimum: str = "positive") -> Decimal:
    """A finite decimal within MAXIMUM and PLACES; `minimum` is "positive" (above zero) or "zero" (zero or
    more)."""
    try:
        value = Decimal(text.strip().replace("_", ""))
    except InvalidOperation:
        raise InvalidValue(f"{name}: {text!r} is not a number") from None
    if not value.is_finite():
        raise InvalidValue(f"{name}: {text!r} is not a finite number")
    if value.copy_abs() >= MAXIMUM:  # no arithmetic: 1E+1000000 would overflow the context itself
        raise InvalidValue(f"{name}: {text!r} is too large (the most Robson takes is {MAXIMUM:,.0f})")
    exponent = value.as_tuple().exponent  # an int: the value is finite
    fine = isinstance(exponent, int) and exponent < -PLACES
    if value != 0 and fine and value != value.quantize(Decimal(1).scaleb(-PLACES)):
        raise InvalidValue(f"{name}: {text!r} has more than {PLACES} decimal places")
    if minimum == "positive" and value <= 0:
        raise InvalidValue(f"{name}: {text!r} must be greater than zero")
    if value < 0:
        raise InvalidValue(f"{name}: {text!r} must not be negative")
    return value


def amount(text: str, name: str) -> Decimal:
    """A positive, finite decimal (prices, quantities, capital)."""
    return decimal(text, name)


def optional_amount(text: str | None, name: str) -> Decimal | None:
    return None if text is None else decimal(text, name)


def zero_or_more(text: str, name: str) -> Decimal:
    return decimal(text, name, minimum="zero")


def identifier(text: str) -> int:
    """An operation id: a whole number from 1 to the ledger's largest key."""
    try:
        value = int(text.strip())
    except ValueError:
        raise InvalidValue(f"operation id must be a whole number, got {text!r}") from None
    if value <= 0:
        raise InvalidValue(f"operation id must be positive, got {text!r}")
    if value > LARGEST_ID:
        raise InvalidValue(f"unknown operation id {text.strip()}: not a valid id (ids go up to {LARGEST_ID})")
    return value


def seed(value: int) -> int:
    if value < 0:
        raise InvalidValue(f"--seed: '{value}' must be zero or more")
    return value


def fee_rate(text: str, taker: Decimal) -> Decimal:
    """--fees none | taker | RATE (a fraction per side: 0.001 is 0.1%)."""
    normal = text.strip().lower()
    if normal == "none":
        return Decimal(0)
    if normal == "taker":
        return taker
    rate = zero_or_more(text, "--fees")
    if rate >= Decimal("0.1"):
        raise InvalidValue(f"--fees: {text!r} is 10% or more per side; give a fraction (0.001 = 0.1%)")
    return rate


def balances(items: list[str]) -> dict[str, Decimal]:
    """ASSET=AMOUNT pairs."""
    result: dict[str, Decimal] = {}
    for item in items:
        asset, sep, value = item.partition("=")
        if not sep or not asset.strip():
            raise InvalidValue(f"--balance: must look like ASSET=AMOUNT, got {item!r}")
        result[asset.strip().upper()] = zero_or_more(value, f"--balance {asset.strip().upper()}")
    return result


def database_url(text: str | None) -> str | None:
    """--db takes a URL (sqlite:///..., postgresql+psycopg://...) or a plain SQLite file path."""
    if text is None:
        return None
    if not text.strip():
        raise InvalidValue("--db: '' is empty; give a SQLite file or a database URL")
    if "://" in text:
        url = text.strip().lower()
        memory = url.startswith("memory:") or (url.startswith("sqlite") and (":memory:" in url or url == "sqlite://"))
        if memory:
            raise InvalidValue(f"--db: {text!r} is an in-memory database: nothing would be kept; give a file")
        return text
    return f"sqlite:///{text}"


def fraction(text: str, name: str) -> Decimal:
    """A number between 0 and 1 inclusive (a probability, a confidence)."""
    value = zero_or_more(text, name)
    if value > 1:
        raise InvalidValue(f"{name}: {text!r} must be between 0 and 1")
    return value
