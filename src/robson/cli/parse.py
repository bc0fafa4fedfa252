"""Parse command-line text into exact values, with one-line reasons for anything malformed."""

from __future__ import annotations

from decimal import Decimal

from robson.domain.errors import InvalidValue
from robson.domain.values import non_negative, positive


def amount(text: str, name: str) -> Decimal:
    """A positive, finite decimal (prices, quantities, capital)."""
    return positive(text, name)


def optional_amount(text: str | None, name: str) -> Decimal | None:
    return None if text is None else positive(text, name)


def zero_or_more(text: str, name: str) -> Decimal:
    return non_negative(text, name)


def identifier(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise InvalidValue(f"operation id must be a whole number, got {text!r}") from None
    if value <= 0:
        raise InvalidValue(f"operation id must be positive, got {text!r}")
    return value


def fee_rate(text: str, taker: Decimal) -> Decimal:
    """--fees none | taker | RATE (a fraction per side: 0.001 is 0.1%)."""
    normal = text.strip().lower()
    if normal == "none":
        return Decimal(0)
    if normal == "taker":
        return taker
    rate = non_negative(text, "fee rate")
    if rate >= Decimal("0.1"):
        raise InvalidValue(f"fee rate {text} is 10% or more per side; give a fraction (0.001 = 0.1%)")
    return rate


def balances(items: list[str]) -> dict[str, Decimal]:
    """ASSET=AMOUNT pairs."""
    result: dict[str, Decimal] = {}
    for item in items:
        asset, sep, value = item.partition("=")
        if not sep or not asset.strip():
            raise InvalidValue(f"balance must look like ASSET=AMOUNT, got {item!r}")
        result[asset.strip().upper()] = non_negative(value, f"balance of {asset.strip().upper()}")
    return result


def database_url(text: str | None) -> str | None:
    """--db takes a URL (sqlite:///..., postgresql+psycopg://...) or a plain SQLite file path."""
    if text is None or "://" in text:
        return text
    return f"sqlite:///{text}"


def fraction(text: str, name: str) -> Decimal:
    """A number between 0 and 1 inclusive (a probability, a confidence)."""
    value = zero_or_more(text, name)
    if value > 1:
        raise InvalidValue(f"{name} must be between 0 and 1, got {text}")
    return value
