"""Errors the use cases raise for the entry points to translate (exit codes, HTTP statuses)."""

from __future__ import annotations

from robson.domain.errors import DomainError, InvalidValue
from robson.risk.sizing import SizingRefused

__all__ = ["NotFound", "Refused", "SizingRefused"]


class NotFound(InvalidValue):
    """An id or symbol that does not exist: bad input."""


class Refused(DomainError):
    """A rule refused the action (a failed check, an exchange minimum, a venue rejection)."""

    def __init__(self, reason: str, details: tuple[object, ...] = ()) -> None:
        super().__init__(reason)
        self.details = details
