"""Alpaca's answers, translated once into the ports' errors (keys never in a message); the market-closed refusal."""

from __future__ import annotations

import json

import requests
from alpaca.common.exceptions import APIError
from pydantic import ValidationError

from robson.ports import (
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
)

_FILTER_WORDS = ("sub-penny", "increment", "fractional", "whole number", "qty must", "min notional")


class MarketClosed(Rejected):
    """A MARKET order while the US equity market is closed: Alpaca would fill it at the open, at an unknown price."""

    kind = "MARKET_CLOSED"


# ---- errors: translated once ------------------------------------------------------------------


def translate(error: Exception) -> ExchangeError:
    """Map anything alpaca-py or requests raised to Robson's Retryable / Rejected / Fatal, in one line."""
    if isinstance(error, ExchangeError):
        return error
    if isinstance(error, APIError):
        return _translate_api_error(error)
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return Retryable("could not connect to Alpaca in time (ConnectTimeout); nothing was sent")
    if isinstance(error, requests.exceptions.Timeout):
        return Retryable(f"Alpaca did not answer in time ({type(error).__name__}); the outcome is unknown")
    bad_url = (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)
    if isinstance(error, bad_url):
        return Fatal(f"the Alpaca base URL is not usable ({type(error).__name__})")
    if isinstance(error, requests.exceptions.RequestException):
        return Retryable(f"network error talking to Alpaca ({type(error).__name__}); the outcome is unknown")
    if isinstance(error, ValidationError):
        if error.title.endswith("Request"):
            return Rejected(f"alpaca-py refused the {error.title}: {_first_error(error)}")
        return Fatal(f"Alpaca answered a {error.title} alpaca-py cannot read: {_first_error(error)}")
    return Fatal(f"unexpected error from alpaca-py ({type(error).__name__}): {_one_line(str(error))}")


def _translate_api_error(error: APIError) -> ExchangeError:
    status = error.status_code
    code, message = _error_body(error)
    text = f"Alpaca HTTP {status}" + (f" code {code}" if code is not None else "") + f": {message}"
    lowered = message.lower()
    if status == 429:
        return RateLimited(text, _retry_after(error))
    if status is None or status >= 500 or status == 408:
        return Retryable(text)
    if status == 401:
        return Fatal(text)
    if status == 403:
        if "insufficient" in lowered:
            return InsufficientFunds(text)
        return Fatal(text) if "forbidden" in lowered else Rejected(text)
    if "client_order_id must be unique" in lowered:
        return DuplicateOrder(text)
    if "asset" in lowered and ("not found" in lowered or "not tradable" in lowered or "not active" in lowered):
        return UnknownSymbol(text)
    if status == 404 or "not cancelable" in lowered or ("already in" in lowered and "state" in lowered):
        return UnknownOrder(text)
    if any(word in lowered for word in _FILTER_WORDS):
        return FilterFailure(text)
    return Rejected(text)


def _error_body(error: APIError) -> tuple[int | None, str]:
    """Alpaca's {"code", "message"} body, or the first line of whatever else came back (a proxy's HTML page)."""
    response = error.response
    raw = response.text if response is not None else str(error)
    try:
        body = json.loads(raw)
    except (TypeError, ValueError):
        body = None
    if isinstance(body, dict):
        code = body.get("code")
        return (code if isinstance(code, int) else None), _one_line(str(body.get("message") or "no message"))
    return None, _one_line(raw) or "no details"


def _retry_after(error: APIError) -> float | None:
    response = error.response
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0] if error.errors() else {"msg": str(error)}
    return _one_line(str(first.get("msg", "")))


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
