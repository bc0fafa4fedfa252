"""Candle loading (freqtrade JSON), shared-data discovery and gap removal; no network, no real data needed."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from robson.backtest.candles import (
    SHARED_DATA_ENV,
    Candle,
    continuous,
    find_shared_candles,
    load_freqtrade_json,
    quantize_to_tick,
)

ROWS_TEXT = (
    "[[1606780800000,19695.87,19720.0,19578.96,19607.03,794.500517],"
    "[1606781100000,19607.02,19607.02,19505.9,19537.95,710.941254],"
    "[1606781400000,19539.64,19601.0,19530.03,19567.99,251.34441]]"
)
T0 = datetime(2020, 12, 1, tzinfo=UTC)


def _candle(minute: int, o: str, h: str, low: str, c: str, v: str = "1") -> Candle:
    return Candle(T0 + timedelta(minutes=minute), Decimal(o), Decimal(h), Decimal(low), Decimal(c), Decimal(v))


@pytest.fixture
def candle_file(tmp_path: Path) -> Path:
    path = tmp_path / "candles.json"
    path.write_text(ROWS_TEXT, encoding="utf-8")
    return path


def test_loader_converts_prices_exactly(candle_file: Path) -> None:
    candles = load_freqtrade_json(candle_file)
    assert len(candles) == 3
    first = candles[0]
    assert first == Candle(
        time=T0,
        open=Decimal("19695.87"),
        high=Decimal("19720.0"),
        low=Decimal("19578.96"),
        close=Decimal("19607.03"),
        volume=Decimal("794.500517"),
    )
    assert str(candles[1].low) == "19505.9"
    assert candles[2].time == T0 + timedelta(minutes=10)


def test_loader_keeps_gaps_and_honours_limit(candle_file: Path) -> None:
    candles = load_freqtrade_json(candle_file)
    assert candles[1].open != candles[0].close  # real data gaps; the loader does not touch them
    assert load_freqtrade_json(candle_file, limit=2) == candles[:2]
    assert load_freqtrade_json(candle_file, limit=0) == []
    with pytest.raises(ValueError):
        load_freqtrade_json(candle_file, limit=-1)


@pytest.mark.parametrize("text", ['{"a": 1}', "[[1606780800000, 1.0, 2.0]]", '[[1606780800000, 1, 2, 0.5, "x", 3]]'])
def test_loader_rejects_malformed_files(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError):
        load_freqtrade_json(path)


def _shared_file(shared_dir: Path, name: str = "nfi_binance_BTC_USDT-5m.json") -> Path:
    path = shared_dir / "crypto" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[]", encoding="utf-8")
    return path


def test_find_shared_candles_in_an_explicit_directory(tmp_path: Path) -> None:
    expected = _shared_file(tmp_path)
    assert find_shared_candles("BTC/USDT", tmp_path) == expected
    assert find_shared_candles("btc/usdt:USDT", tmp_path) == expected
    assert find_shared_candles("ETH/USDT", tmp_path) is None
    assert find_shared_candles("BTC/USDT", tmp_path / "missing") is None


def test_find_shared_candles_uses_the_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _shared_file(tmp_path / "configured")
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path / "configured"))
    assert find_shared_candles("BTC/USDT") == expected
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path / "empty"))
    assert find_shared_candles("BTC/USDT") is None


def test_find_shared_candles_falls_back_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SHARED_DATA_ENV, raising=False)
    expected = _shared_file(tmp_path / "shared" / "data", "nfi_binance_SOL_USDT-5m.json")
    (tmp_path / "main").mkdir()
    monkeypatch.chdir(tmp_path / "main")
    found = find_shared_candles("SOL/USDT")
    assert found is not None
    assert found.resolve() == expected.resolve()


def test_find_shared_candles_rejects_malformed_symbols() -> None:
    with pytest.raises(ValueError):
        find_shared_candles("BTCUSDT")


def test_continuous_removes_gaps_and_keeps_bar_shapes() -> None:
    bars = [
        _candle(0, "100.00", "101.00", "99.00", "100.50"),
        _candle(5, "100.70", "101.20", "100.10", "100.90"),  # gaps up by 0.20
        _candle(10, "100.60", "100.80", "100.00", "100.40"),  # gaps down by 0.30 (cumulative shift -0.10)
    ]
    rebased = continuous(bars)
    assert rebased[0] == bars[0]
    for previous, bar in itertools.pairwise(rebased):
        assert bar.open == previous.close
    assert rebased[1] == _candle(5, "100.50", "101.00", "99.90", "100.70")
    assert rebased[2] == _candle(10, "100.70", "100.90", "100.10", "100.50")
    for original, bar in zip(bars, rebased, strict=True):
        assert bar.high - bar.low == original.high - original.low
        assert (bar.time, bar.volume) == (original.time, original.volume)


def test_continuous_leaves_gapless_series_untouched(candle_file: Path) -> None:
    rebased = continuous(load_freqtrade_json(candle_file))
    assert continuous(rebased) == rebased
    assert continuous([]) == []


def test_continuous_keeps_prices_positive_by_rescaling() -> None:
    bars = [
        _candle(0, "10.00", "10.00", "1.00", "1.00"),
        _candle(5, "9.00", "9.50", "8.00", "8.50"),  # shifting by -8.00 would put the low at 0.00
    ]
    rebased = continuous(bars)
    bar = rebased[1]
    assert bar.open == Decimal("1.00")
    assert Decimal("0") < bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
    assert (bar.high, bar.low, bar.close) == (Decimal("1.06"), Decimal("0.89"), Decimal("0.94"))


def test_continuous_quantizes_to_a_given_tick() -> None:
    bars = [_candle(0, "100.0", "101.0", "99.0", "100.5"), _candle(5, "100.7", "101.2", "100.1", "100.9")]
    rebased = continuous(bars, tick=Decimal("0.5"))
    assert rebased[1].open == Decimal("100.5")
    assert all(price % Decimal("0.5") == 0 for price in (rebased[1].high, rebased[1].low, rebased[1].close))


def test_quantize_to_tick_rounds_half_even_on_any_grid() -> None:
    assert quantize_to_tick(Decimal("123.25"), Decimal("0.5")) == Decimal("123.0")
    assert quantize_to_tick(Decimal("0.125"), Decimal("0.01")) == Decimal("0.12")
    assert str(quantize_to_tick(Decimal("30000"), Decimal("0.01"))) == "30000.00"


def test_candle_requires_utc_time() -> None:
    with pytest.raises(ValueError):
        Candle(datetime(2024, 1, 1), Decimal(1), Decimal(1), Decimal(1), Decimal(1), Decimal(0))
