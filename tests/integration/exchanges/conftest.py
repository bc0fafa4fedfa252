"""The use-case fixtures (a whole Robson over a real database, a manual clock) for tests that drive the fake venues
through the services: the same fixtures as tests/integration/services, shared rather than copied. And the fake Binance
with an API key, and BinanceExchange on it, that the Binance modules share (a module may define its own)."""

from collections.abc import Iterator

import pytest

from robson.execution.adapters.binance import BinanceExchange
from tests.fakes.binance_server import BinanceFake
from tests.integration.services.conftest import clock, make_app  # noqa: F401

KEY = "test-api-key-4b1d0c"
SECRET = "test-secret-9f7e2a"
TIMEOUT_MS = 500  # the fake's delayed answers come after 1 s


@pytest.fixture
def fake() -> Iterator[BinanceFake]:
    with BinanceFake(api_key=KEY) as venue:
        yield venue


@pytest.fixture
def exchange(fake: BinanceFake) -> BinanceExchange:
    """Given only ws_url: its order stream finds the WebSocket API beside it, on the same fake."""
    return BinanceExchange(KEY, SECRET, base_url=fake.url, ws_url=fake.ws_url, timeout_ms=TIMEOUT_MS)
