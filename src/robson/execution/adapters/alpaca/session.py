"""alpaca-py's HTTP session, made to fail fast: a bounded wait and no retries of its own (Robson's execution
service decides what is retried, by client order id)."""

from __future__ import annotations

from typing import Any

import requests
from alpaca.common.rest import RESTClient


class _TimeoutSession(requests.Session):
    """A requests session with a default timeout: alpaca-py's own session waits forever."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)


def quiet(client: RESTClient, timeout: float) -> None:
    """No retries of its own and a bounded wait: alpaca-py exposes neither on TradingClient, so set them here."""
    client._retry = 0
    client._retry_codes = []
    client._session = _TimeoutSession(timeout)
