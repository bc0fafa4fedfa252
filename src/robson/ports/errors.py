"""The contract's errors: what a venue said or failed to say (translated once, at the adapter boundary), and
where the ledger itself cannot serve."""

from __future__ import annotations

from robson.domain.errors import InvalidValue


class ExchangeError(Exception):
    """Something the venue said or failed to say."""


class Retryable(ExchangeError):
    """Network error, timeout, 5xx or 429: the outcome may be unknown; query before sending again."""


class RateLimited(Retryable):
    """HTTP 429 (or -1003/-1015): slow down; `retry_after` seconds when the venue said (Retry-After)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Rejected(ExchangeError):
    """A definitive refusal. Never retried."""

    kind = "REJECTED"


class InsufficientFunds(Rejected):
    """Binance -2010 'Account has insufficient balance for requested action.'"""

    kind = "INSUFFICIENT_BALANCE"


class FilterFailure(Rejected):
    """Binance -1013 'Filter failure: <NAME>'."""

    kind = "FILTER_FAILURE"


class WouldTriggerImmediately(Rejected):
    """Binance -2010 'Order would trigger immediately.'"""

    kind = "WOULD_TRIGGER_IMMEDIATELY"


class UnknownOrder(Rejected):
    """Binance -2013 'Order does not exist.' / -2011 'Unknown order sent.'"""

    kind = "UNKNOWN_ORDER"


class UnknownSymbol(Rejected):
    """Binance -1121 'Invalid symbol.'"""

    kind = "UNKNOWN_SYMBOL"


class DuplicateOrder(Rejected):
    """Binance -2010 'Duplicate order sent.': the client order id is already in use."""

    kind = "DUPLICATE_ORDER"


class Fatal(ExchangeError):
    """Bad keys, IP ban, a broken contract: stop and alert a human."""


class Banned(Fatal):
    """HTTP 418: the IP is banned for ignoring 429s. Nothing may be sent until `retry_after` seconds have passed."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LedgerUnavailable(Exception):
    """The ledger's database cannot be opened (unreachable, not a database file): nothing was written."""


class NoLedger(InvalidValue):
    """No ledger where one was looked for: only an init-like command (paper reset, --create) makes one."""
