"""Synthetic bar generator: determinism, OHLC invariants, continuity, tick grid, clustering and jumps."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest

from robson.backtest.candles import Candle
from robson.backtest.synthetic import DEFAULT_START, garch_variance, generate_bars

PRICE = Decimal("30000")
TICK = Decimal("0.01")


def _abs_log_return_autocorrelation(bars: list[Candle], lag: int = 1) -> float:
    closes = np.array([float(bar.close) for bar in bars])
    moves = np.abs(np.diff(np.log(closes)))
    moves -= moves.mean()
    return float((moves[lag:] * moves[:-lag]).mean() / (moves * moves).mean())


def test_same_seed_gives_same_bars_and_other_seed_differs() -> None:
    first = generate_bars(7, 500, PRICE, TICK)
    assert first == generate_bars(7, 500, PRICE, TICK)
    assert first != generate_bars(8, 500, PRICE, TICK)


def test_every_bar_is_ohlc_consistent_and_at_least_one_tick() -> None:
    bars = generate_bars(1, 3000, PRICE, TICK, jump_probability=0.01)
    assert len(bars) == 3000
    for bar in bars:
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
        assert bar.low >= TICK
        assert bar.volume >= 0
        assert all(isinstance(value, Decimal) for value in (bar.open, bar.high, bar.low, bar.close, bar.volume))


def test_prices_stay_positive_near_the_floor() -> None:
    bars = generate_bars(3, 2000, Decimal("0.05"), TICK, annual_volatility=5.0, jump_probability=0.05, jump_scale=0.5)
    for bar in bars:
        assert bar.low >= TICK
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high


def test_bars_are_continuous() -> None:
    bars = generate_bars(2, 2000, PRICE, TICK, jump_probability=0.05, jump_scale=0.05)
    assert bars[0].open == PRICE
    for previous, bar in itertools.pairwise(bars):
        assert bar.open == previous.close


@pytest.mark.parametrize("tick", [Decimal("0.01"), Decimal("0.5"), Decimal("0.00001"), Decimal("5")])
def test_prices_lie_on_the_tick_grid(tick: Decimal) -> None:
    start = Decimal("2.5") if tick < 1 else Decimal("3000")
    for bar in generate_bars(4, 1000, start, tick):
        for price in (bar.open, bar.high, bar.low, bar.close):
            assert price % tick == 0
            assert price.as_tuple().exponent == tick.as_tuple().exponent


def test_times_are_utc_and_spaced_by_the_bar_length() -> None:
    bars = generate_bars(5, 10, PRICE, TICK, bar_seconds=60)
    assert [bar.time for bar in bars] == [DEFAULT_START + timedelta(minutes=i) for i in range(10)]
    assert datetime(2024, 1, 1, tzinfo=UTC) == DEFAULT_START

    paris = timezone(timedelta(hours=1))
    moved = generate_bars(5, 3, PRICE, TICK, start=datetime(2024, 6, 1, 1, 0, tzinfo=paris))
    assert moved[0].time == datetime(2024, 6, 1, tzinfo=UTC)
    assert moved[0].time.utcoffset() == timedelta(0)


def test_volatility_clusters() -> None:
    bars = generate_bars(11, 5000, PRICE, TICK, jump_probability=0.0)
    assert _abs_log_return_autocorrelation(bars) > 0.05


def test_long_series_with_high_jump_probability_contains_jumps() -> None:
    # A 5% range inside one 5-minute bar is ~27 long-run sigmas: only a jump produces it.
    jumpy = generate_bars(6, 2000, PRICE, TICK, jump_probability=0.05, jump_scale=0.1)
    calm = generate_bars(6, 2000, PRICE, TICK, jump_probability=0.0)
    assert sum(bar.high / bar.low > Decimal("1.05") for bar in jumpy) >= 10
    assert not any(bar.high / bar.low > Decimal("1.05") for bar in calm)


def test_typical_bar_moves_match_the_requested_volatility() -> None:
    bars = generate_bars(9, 5000, PRICE, TICK, jump_probability=0.0)
    closes = np.array([float(bar.close) for bar in bars])
    realised = float(np.std(np.diff(np.log(closes)))) * math.sqrt(365 * 24 * 12)
    assert 0.4 < realised < 0.9  # requested long-run 0.6; GARCH makes any single sample noisy


def test_garch_variance_matches_the_plain_recursion() -> None:
    shocks = np.random.default_rng(0).standard_normal(1000)
    alpha, beta, long_run = 0.08, 0.9, 4e-6
    expected = np.empty(1000)
    expected[0] = long_run
    for t in range(1, 1000):
        expected[t] = long_run * (1 - alpha - beta) + expected[t - 1] * (beta + alpha * shocks[t - 1] ** 2)
    np.testing.assert_allclose(garch_variance(shocks, long_run, alpha, beta), expected, rtol=1e-9)


def test_zero_count_and_zero_volatility() -> None:
    assert generate_bars(1, 0, PRICE, TICK) == []
    flat = generate_bars(1, 50, PRICE, TICK, annual_volatility=0.0, jump_probability=0.0)
    assert {(bar.open, bar.high, bar.low, bar.close) for bar in flat} == {(PRICE, PRICE, PRICE, PRICE)}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"count": -1},
        {"start_price": Decimal("0")},
        {"tick": Decimal("0")},
        {"bar_seconds": 0},
        {"annual_volatility": -0.1},
        {"jump_probability": 1.5},
        {"jump_scale": -1.0},
        {"start": datetime(2024, 1, 1)},  # naive
    ],
)
def test_invalid_arguments_are_rejected(kwargs: dict[str, object]) -> None:
    arguments: dict[str, object] = {"seed": 1, "count": 10, "start_price": PRICE, "tick": TICK, **kwargs}
    with pytest.raises(ValueError):
        generate_bars(**arguments)  # type: ignore[arg-type]
