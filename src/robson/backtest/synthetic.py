"""Deterministic, realistic synthetic OHLCV bars for backtests and demos.

The model is geometric Brownian motion whose per-bar variance follows a GARCH(1,1) process (volatility clustering),
plus rare Bernoulli jumps with normally distributed log sizes. Each bar is simulated in ``SUB_STEPS`` sub-steps, and
the extremes of every sub-step are drawn exactly from the Brownian-bridge maximum/minimum, so highs and lows are
realistic. Jumps happen inside a bar (widening its range); bars never gap: each open is the previous close.

Floats live only inside the vectorised numpy path; they cross into exact ``Decimal`` tick-grid prices at one
boundary (:func:`_to_candles`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from robson.backtest.candles import Candle, quantize_to_tick

FloatArray = NDArray[np.float64]

DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)
SECONDS_PER_YEAR = 365 * 24 * 3600
SUB_STEPS = 8  # intra-bar sub-steps used to shape high/low
GARCH_ALPHA = 0.08  # reaction of the variance to the last shock
GARCH_BETA = 0.90  # persistence of the variance (alpha + beta < 1: stationary around the long-run level)
BASE_VOLUME = 100.0  # mean volume of a bar with a typical range
VOLUME_NOISE = 0.35  # log-normal noise on volume
_MAX_ACTIVITY = 50.0  # caps the volume spike of a jump bar
_EXPECTED_RANGE = math.sqrt(8.0 / math.pi)  # E[max - min] of a unit Brownian motion over one unit of time
_VOLUME_QUANTUM = Decimal("0.00000001")
_BLOCK = 64  # length of the closed-form blocks of the variance recursion


def generate_bars(
    seed: int,
    count: int,
    start_price: Decimal,
    tick: Decimal,
    bar_seconds: int = 300,
    annual_volatility: float = 0.6,
    jump_probability: float = 0.002,
    jump_scale: float = 0.03,
    *,
    start: datetime = DEFAULT_START,
) -> list[Candle]:
    """Generate ``count`` continuous bars of ``bar_seconds`` from ``start``; the same seed gives the same bars.

    ``annual_volatility`` is the long-run annualised volatility of log returns; ``jump_probability`` is the chance
    that a bar contains a jump, whose log size is normal with standard deviation ``jump_scale``. Prices are exact
    multiples of ``tick`` (ROUND_HALF_EVEN), never below ``tick``, with low <= min(open, close) <= max(open,
    close) <= high and each open equal to the previous close.
    """
    _validate(count, start_price, tick, bar_seconds, annual_volatility, jump_probability, jump_scale, start)
    if count == 0:
        return []
    rng = np.random.default_rng(seed)
    sigma = annual_volatility * math.sqrt(bar_seconds / SECONDS_PER_YEAR)  # long-run per-bar volatility

    shocks = rng.standard_normal((count, SUB_STEPS))
    variance = garch_variance(shocks.sum(axis=1) / math.sqrt(SUB_STEPS), sigma**2, GARCH_ALPHA, GARCH_BETA)
    sub_variance = (variance / SUB_STEPS)[:, None]
    diffusion = -0.5 * sub_variance + np.sqrt(sub_variance) * shocks  # log increments of each sub-step

    jumps = np.zeros_like(diffusion)
    has_jump = rng.random(count) < jump_probability
    sizes = rng.normal(0.0, jump_scale, count)
    jumps[np.arange(count), rng.integers(0, SUB_STEPS, count)] = np.where(has_jump, sizes, 0.0)

    # One continuous log-price path through every sub-step of every bar: bars cannot gap.
    start_log = math.log(float(start_price))
    path = start_log + np.cumsum((diffusion + jumps).ravel())
    seg_start = np.concatenate(([start_log], path[:-1])).reshape(count, SUB_STEPS)
    seg_end = seg_start + diffusion  # the diffusive segment ends here; a jump (if any) follows instantly
    close = path[SUB_STEPS - 1 :: SUB_STEPS]

    # Exact Brownian-bridge extremes of each diffusive segment given its endpoints (U in (0, 1]).
    delta2 = (seg_end - seg_start) ** 2
    high_spread = np.sqrt(delta2 - 2.0 * sub_variance * np.log(1.0 - rng.random((count, SUB_STEPS))))
    low_spread = np.sqrt(delta2 - 2.0 * sub_variance * np.log(1.0 - rng.random((count, SUB_STEPS))))
    high = np.maximum(((seg_start + seg_end + high_spread) / 2.0).max(axis=1), close)
    low = np.minimum(((seg_start + seg_end - low_spread) / 2.0).min(axis=1), close)

    volume = _volume(rng, high - low, sigma)
    return _to_candles(start, bar_seconds, start_price, tick, np.exp(high), np.exp(low), np.exp(close), volume)


def garch_variance(shocks: FloatArray, long_run_variance: float, alpha: float, beta: float) -> FloatArray:
    """Per-bar variances ``v[t] = omega + v[t-1] * (beta + alpha * shocks[t-1]**2)`` with ``v[0]`` the long-run level.

    ``shocks`` are standardised (unit-variance) innovations and ``omega = long_run * (1 - alpha - beta)``. The linear
    recursion is solved in closed form per block of ``_BLOCK`` bars (log-space cumulative products), so the Python
    loop runs ``len(shocks) / _BLOCK`` times while staying clear of overflow and underflow.
    """
    if not (alpha >= 0 and beta > 0 and alpha + beta < 1):
        raise ValueError(f"GARCH needs alpha >= 0, beta > 0 and alpha + beta < 1, got {alpha}, {beta}")
    count = len(shocks)
    out = np.empty(count, dtype=np.float64)
    if count == 0:
        return out
    omega = long_run_variance * (1.0 - alpha - beta)
    log_factor = np.log(beta + alpha * np.asarray(shocks[:-1], dtype=np.float64) ** 2)
    out[0] = previous = long_run_variance
    for begin in range(0, count - 1, _BLOCK):
        cumulative = np.cumsum(log_factor[begin : begin + _BLOCK])
        block = np.exp(cumulative) * (previous + omega * np.cumsum(np.exp(-cumulative)))
        out[begin + 1 : begin + 1 + len(block)] = block
        previous = float(block[-1])
    return out


def _volume(rng: np.random.Generator, log_range: FloatArray, sigma: float) -> FloatArray:
    """Volume rises with the bar's range (busy, volatile bars trade more), with log-normal noise."""
    expected = _EXPECTED_RANGE * sigma
    activity = np.minimum(log_range / expected, _MAX_ACTIVITY) if expected > 0 else np.ones_like(log_range)
    noise = np.exp(VOLUME_NOISE * rng.standard_normal(len(log_range)) - 0.5 * VOLUME_NOISE**2)
    result: FloatArray = BASE_VOLUME * (0.3 + 0.7 * activity) * noise
    return result


def _to_candles(
    start: datetime,
    bar_seconds: int,
    start_price: Decimal,
    tick: Decimal,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
) -> list[Candle]:
    """The single float -> Decimal boundary: tick-grid prices, consistent OHLC, opens chained to closes."""
    if not (np.isfinite(high).all() and np.isfinite(volume).all()):
        raise OverflowError("synthetic prices overflowed; lower count, volatility or jump_scale")
    start_utc = start.astimezone(UTC)
    step = timedelta(seconds=bar_seconds)
    bars: list[Candle] = []
    open_ = max(quantize_to_tick(start_price, tick), tick)
    for index, (h, lo, c, v) in enumerate(
        zip(high.tolist(), low.tolist(), close.tolist(), volume.tolist(), strict=True)
    ):
        close_ = _price(c, tick)
        bars.append(
            Candle(
                time=start_utc + index * step,
                open=open_,
                high=max(_price(h, tick), open_, close_),
                low=min(_price(lo, tick), open_, close_),
                close=close_,
                volume=Decimal(str(round(v, 8))).quantize(_VOLUME_QUANTUM),
            )
        )
        open_ = close_
    return bars


def _price(value: float, tick: Decimal) -> Decimal:
    return max(quantize_to_tick(Decimal(str(round(value, 8))), tick), tick)


def _validate(
    count: int,
    start_price: Decimal,
    tick: Decimal,
    bar_seconds: int,
    annual_volatility: float,
    jump_probability: float,
    jump_scale: float,
    start: datetime,
) -> None:
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if not (tick.is_finite() and tick > 0):
        raise ValueError(f"tick must be a positive Decimal, got {tick}")
    if not (start_price.is_finite() and start_price > 0):
        raise ValueError(f"start_price must be a positive Decimal, got {start_price}")
    if bar_seconds <= 0:
        raise ValueError(f"bar_seconds must be positive, got {bar_seconds}")
    if not (math.isfinite(annual_volatility) and annual_volatility >= 0):
        raise ValueError(f"annual_volatility must be finite and >= 0, got {annual_volatility}")
    if not 0 <= jump_probability <= 1:
        raise ValueError(f"jump_probability must be in [0, 1], got {jump_probability}")
    if not (math.isfinite(jump_scale) and jump_scale >= 0):
        raise ValueError(f"jump_scale must be finite and >= 0, got {jump_scale}")
    if start.utcoffset() is None:
        raise ValueError(f"start must be timezone-aware, got {start!r}")
