"""The venue settings: which exchange, its URLs and symbols, refused at start with one reason when unsafe."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from robson.config import BINANCE_REST_URL, BINANCE_STREAM_URL, Settings


@pytest.fixture(autouse=True)
def no_machine_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("ROBSON_CONFIG", "ROBSON_EXCHANGE", "ROBSON_QUOTE", "ROBSON_BINANCE", "ROBSON_ALPACA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ROBSON_DATA_DIR", str(tmp_path))


def reason(**values: object) -> str:
    with pytest.raises(ValidationError) as raised:
        Settings(**values)  # type: ignore[arg-type]
    first = raised.value.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"


def test_defaults_are_paper_and_the_real_binance() -> None:
    settings = Settings()
    assert settings.exchange == "paper" and settings.quote == "USDT"
    assert (settings.binance.base_url, settings.binance.ws_url) == (BINANCE_REST_URL, BINANCE_STREAM_URL)
    assert settings.binance.ws_api_url is None  # Binance's own beside Binance's ws_url
    assert settings.binance_symbols == ("BTC/USDT", "ETH/USDT", "SOL/USDT")  # the configured instruments
    assert settings.alpaca.paper is True


def test_binance_symbols_and_a_local_venue() -> None:
    settings = Settings(exchange="binance", binance={"base_url": "http://127.0.0.1:8080/", "symbols": ["eth/usdt"]})  # type: ignore[arg-type]
    assert settings.binance.base_url == "http://127.0.0.1:8080"
    assert settings.binance_symbols == ("ETH/USDT",)


def test_alpaca_accounts_are_in_usd_unless_told() -> None:
    assert Settings(exchange="alpaca").quote == "USD"
    assert Settings(exchange="alpaca", quote="USDC").quote == "USDC"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"exchange": "kraken"}, "exchange: Input should be 'paper', 'binance' or 'alpaca'"),
        (
            {"binance": {"base_url": "api.binance.com"}},
            "binance.base_url: Value error, must be a URL of the form https://host",
        ),
        ({"binance": {"base_url": "http://api.binance.com"}}, "only to 127.0.0.1"),
        (
            {"binance": {"ws_url": "https://stream.binance.com"}},
            "binance.ws_url: Value error, must be a URL of the form wss://host",
        ),
        (
            {"binance": {"ws_api_url": "https://ws-api.binance.com"}},
            "binance.ws_api_url: Value error, must be a URL of the form wss://host",
        ),
        ({"binance": {"ws_api_url": "ws://ws-api.binance.com/ws-api/v3"}}, "only to 127.0.0.1"),
        ({"binance": {"symbols": []}}, "binance.symbols: Value error, is empty"),
        ({"binance": {"symbols": ["BTCUSDT"]}}, "symbol must look like BASE/QUOTE"),
        ({"binance": {"timeout_ms": 0}}, "binance.timeout_ms"),
        ({"alpaca": {"symbols": []}}, "alpaca.symbols: Value error, is empty"),
        ({"alpaca": {"data_url": "ftp://data.alpaca.markets"}}, "alpaca.data_url"),
        ({"binance": {"api_key": "abc"}}, "binance.api_key: Extra inputs are not permitted"),  # keys: never here
    ],
)
def test_unsafe_or_malformed_venue_settings_are_refused(values: dict[str, object], expected: str) -> None:
    assert expected in reason(**values)


def test_keys_in_the_toml_file_are_refused_without_echoing_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "robson.toml"
    config.write_text('exchange = "binance"\n[binance]\napi_secret = "toml-secret-123"\n')
    monkeypatch.setenv("ROBSON_CONFIG", str(config))
    with pytest.raises(ValidationError) as raised:
        Settings()
    first = raised.value.errors()[0]
    assert first["loc"] == ("binance", "api_secret") and "toml-secret-123" not in first["msg"]
