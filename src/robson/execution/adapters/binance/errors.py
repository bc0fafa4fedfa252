"""Binance errors, translated once into the ports' errors; API keys never leave in a message or a log line."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import ccxt
import ccxt.pro

from robson.ports import (
    Banned,
    DuplicateOrder,
    ExchangeError,
    Fatal,
    FilterFailure,
    InsufficientFunds,
    RateLimited,
    Rejected,
    Retryable,
    UnknownOrder,
    UnknownSymbol,
    WouldTriggerImmediately,
)

log = logging.getLogger(__name__)

# ---- errors: translated once, here ---------------------------------------------------------------------------

AUTH_CODES = frozenset({-1002, -1022, -2014, -2015})  # unauthorized, bad signature, bad key format, bad key/IP
RATE_CODES = frozenset({-1003, -1015})  # request weight, too many new orders
BUSY_CODES = frozenset({-1000, -1001, -1006, -1007, -1008})  # unknown error, internal, bus, timeout, overloaded
UNKNOWN_ORDER_CODES = frozenset({-2011, -2013})
BAD_TIMESTAMP = -1021


@dataclass(frozen=True, slots=True)
class VenueReply:
    """An HTTP error reply as it came from the venue: what `translate` needs beyond ccxt's exception class."""

    status: int
    headers: Mapping[str, str]  # keys in lower case
    body: str
    method: str = ""
    path: str = ""


def translate(error: Exception, reply: VenueReply | None = None) -> ExchangeError:
    """The ports error for a ccxt exception. Switches on the venue's HTTP status, code and msg first: ccxt's own
    classes depend on the URL (a local test server gets fewer of them) and lump 429 and 418 together."""
    if isinstance(error, ExchangeError):
        return error
    text = str(error)
    status = reply.status if reply is not None else _status_in(text)
    code, msg = _code_and_msg(reply.body if reply is not None else text)
    where = f"{reply.method} {reply.path}" if reply is not None and reply.path else _where(text)
    on = f" on {where}" if where else ""
    said = ", ".join(part for part in (f"HTTP {status}" if status else "", f"code {code}" if code else "") if part)
    said = f" ({said}{_colon(msg)})" if said or msg else ""
    retry_after = _retry_after(reply.headers if reply is not None else {})
    unknown = "" if where.startswith("GET") else "; the outcome is unknown until the order is queried"
    lowered = msg.lower()
    if status == 418:
        return Banned(f"Binance banned this IP for ignoring rate limits{said}{_wait(retry_after)}", retry_after)
    if code in AUTH_CODES or status == 401 or isinstance(error, ccxt.AuthenticationError):
        return Fatal(f"Binance refused the API key{said}; check the key, its permissions and the IP whitelist")
    if status == 429 or code in RATE_CODES or isinstance(error, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
        return RateLimited(f"Binance rate limit hit{on}{said}{_wait(retry_after)}", retry_after)
    if (status or 0) >= 500 or code in BUSY_CODES:
        return Retryable(f"Binance failed{on}{said}{unknown}")
    if code == BAD_TIMESTAMP:
        return Retryable(f"Binance refused the request's timestamp{said}; check this machine's clock")
    if "insufficient balance" in lowered or isinstance(error, ccxt.InsufficientFunds):
        return InsufficientFunds(msg or "Account has insufficient balance for requested action.")
    if code == -1013 or lowered.startswith("filter failure"):
        return FilterFailure(msg or "Filter failure")
    if "would trigger immediately" in lowered:
        return WouldTriggerImmediately(msg)
    if "duplicate order" in lowered or isinstance(error, ccxt.DuplicateOrderId):
        return DuplicateOrder(msg or "Duplicate order sent.")
    if code in UNKNOWN_ORDER_CODES or isinstance(error, ccxt.OrderNotFound):
        return UnknownOrder(msg or "Order does not exist.")
    if code == -1121 or isinstance(error, ccxt.BadSymbol):
        return UnknownSymbol(msg or "Invalid symbol.")
    if isinstance(error, ccxt.RequestTimeout):
        return Retryable(f"Binance did not answer{on} in time{unknown}")
    if isinstance(error, ccxt.OperationFailed):  # network errors, bad responses
        return Retryable(f"Binance could not be reached{on} ({type(error).__name__}){unknown}")
    if code is not None and msg:
        return Rejected(f"{msg} (Binance code {code})")
    if isinstance(error, ccxt.InvalidOrder | ccxt.BadRequest | ccxt.OperationRejected):
        return Rejected(_first_line(text).removeprefix("binance "))
    return Fatal(f"Unexpected answer from Binance{on}: {type(error).__name__}{_colon(_first_line(text))}")


def _code_and_msg(text: str) -> tuple[int | None, str]:
    """Binance's {"code": -2010, "msg": "..."} from a reply body or from ccxt's message around it."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        return None, ""
    try:
        body = json.loads(text[start : end + 1])
    except ValueError:
        return None, ""
    if not isinstance(body, dict):
        return None, ""
    try:
        code = int(body["code"])
    except (KeyError, TypeError, ValueError):
        code = None
    return code, str(body.get("msg") or "")


def _status_in(text: str) -> int | None:
    """ccxt writes 'binance 429 Too Many Requests {...}' for 418 and 429."""
    found = re.match(r"binance (\d{3}) ", text)
    return int(found.group(1)) if found else None


def _where(text: str) -> str:
    """'POST /api/v3/order' from ccxt's 'binance POST http://host/api/v3/order?...' (never the query: signed)."""
    found = re.search(r"\b(GET|POST|PUT|DELETE) (\S+)", text)
    return f"{found.group(1)} {urlsplit(found.group(2)).path}" if found else ""


def _retry_after(headers: Mapping[str, str]) -> float | None:
    try:
        return float(headers["retry-after"])
    except (KeyError, ValueError):
        return None


def _wait(retry_after: float | None) -> str:
    return f"; retry after {retry_after:g} s" if retry_after is not None else ""


def _colon(text: str) -> str:
    return f": {text}" if text else ""


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


class _RedactedLog:
    """ccxt's debug log prints request headers, which carry the API key: this strips key and secret first."""

    def __init__(self, logger: logging.Logger, secrets: Sequence[str]) -> None:
        self._logger, self._secrets = logger, tuple(secrets)

    def _log(self, level: int, msg: object, *args: object) -> None:
        if self._logger.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            self._logger.log(level, "%s", _redact(text, self._secrets))

    def debug(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.DEBUG, msg, *args)

    def info(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.INFO, msg, *args)

    def warning(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.WARNING, msg, *args)

    def error(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.ERROR, msg, *args)
