"""OHLCV candles: the ``Candle`` value type, the freqtrade JSON loader and gap handling.

Prices are exact ``Decimal`` values. Real exchange data may gap between bars (a bar's open differs from the
previous close); the loader keeps such gaps, and :func:`continuous` removes them for demos that must not gap.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

SHARED_DATA_ENV = "ROBSON_SHARED_DATA"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Candle:
    """One OHLCV bar opening at ``time`` (timezone-aware, UTC)."""

    time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    def __post_init__(self) -> None:
        if self.time.utcoffset() != timedelta(0):
            raise ValueError(f"candle time must be a timezone-aware UTC datetime, got {self.time!r}")


def quantize_to_tick(value: Decimal, tick: Decimal) -> Decimal:
    """Round ``value`` to the nearest multiple of ``tick`` (ROUND_HALF_EVEN), written with ``tick``'s decimal places.

    Unlike ``value.quantize(tick)`` this also works for ticks that are not powers of ten (e.g. ``Decimal("0.5")``).
    """
    if tick <= 0:
        raise ValueError(f"tick must be positive, got {tick}")
    return ((value / tick).to_integral_value(rounding=ROUND_HALF_EVEN) * tick).quantize(tick)


# --- freqtrade JSON -------------------------------------------------------------------------------------------


def load_freqtrade_json(path: Path, limit: int | None = None) -> list[Candle]:
    """Read a freqtrade candle file: a JSON array of ``[open_time_ms, open, high, low, close, volume]`` rows.

    Numbers become ``Decimal(str(value))``, so ``19695.87`` is exactly ``Decimal("19695.87")``. ``limit`` keeps
    the first ``limit`` rows. Gaps between bars are kept as they are.
    """
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    with Path(path).open(encoding="utf-8") as fh:
        rows = json.load(fh)
    if not isinstance(rows, list):
        raise ValueError(f"{path}: expected a JSON array of candle rows")
    if limit is not None:
        rows = rows[:limit]
    return [_row_to_candle(row, index, path) for index, row in enumerate(rows)]


def _row_to_candle(row: object, index: int, path: Path) -> Candle:
    if not isinstance(row, list) or len(row) < 6:
        raise ValueError(f"{path}: row {index} is not [time_ms, open, high, low, close, volume]: {row!r}")
    time_ms, o, h, low, c, v = (_exact(value, index, path) for value in row[:6])
    if time_ms != time_ms.to_integral_value():
        raise ValueError(f"{path}: row {index} has a fractional millisecond timestamp {time_ms}")
    return Candle(
        time=_EPOCH + timedelta(milliseconds=int(time_ms)),
        open=o,
        high=h,
        low=low,
        close=c,
        volume=v,
    )


def _exact(value: object, index: int, path: Path) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{path}: row {index} holds a non-number {value!r}")
    exact = Decimal(str(value))
    if not exact.is_finite():
        raise ValueError(f"{path}: row {index} holds a non-finite number {value!r}")
    return exact


# --- locating shared data -------------------------------------------------------------------------------------


def find_shared_candles(symbol: str, shared_dir: Path | None = None, *, timeframe: str = "5m") -> Path | None:
    """Path of ``<shared_dir>/crypto/nfi_binance_{BASE}_{QUOTE}-{timeframe}.json`` for ``symbol`` ("BTC/USDT").

    Without ``shared_dir``: the ``ROBSON_SHARED_DATA`` environment variable if set, otherwise the first existing of
    ``Path.cwd()/"../shared/data"`` and ``<repository root>/../shared/data``. Returns None when the file is absent,
    so callers can fall back to generated data.
    """
    base, quote = _split_symbol(symbol)
    directory = shared_dir if shared_dir is not None else _default_shared_dir()
    if directory is None:
        return None
    candidate = Path(directory) / "crypto" / f"nfi_binance_{base}_{quote}-{timeframe}.json"
    return candidate.resolve() if candidate.is_file() else None


def _split_symbol(symbol: str) -> tuple[str, str]:
    pair = symbol.split(":", 1)[0]  # "BTC/USDT:USDT" (a ccxt perpetual) -> "BTC/USDT"
    base, sep, quote = pair.partition("/")
    base, quote = base.strip().upper(), quote.strip().upper()
    if not sep or not base or not quote or "/" in quote:
        raise ValueError(f"expected a symbol like 'BTC/USDT', got {symbol!r}")
    return base, quote


def _default_shared_dir() -> Path | None:
    configured = os.environ.get(SHARED_DATA_ENV)
    if configured:
        return Path(configured)
    candidates = [Path.cwd() / ".." / "shared" / "data"]
    root = _repository_root()
    if root is not None:
        candidates.append(root.parent / "shared" / "data")
    return next((candidate for candidate in candidates if candidate.is_dir()), None)


def _repository_root() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").is_file():
            return parent
    return None


# --- gap removal ----------------------------------------------------------------------------------------------


def continuous(candles: Iterable[Candle], tick: Decimal | None = None) -> list[Candle]:
    """Rebase bars so each open equals the previous close, for demos that must not gap.

    Each gapped bar's open/high/low/close are shifted by the (cumulative) gap, which keeps the bar's shape exactly.
    Results are quantized to ``tick`` when given, otherwise to the finest decimal place of the prices involved. If
    a shift would take a price below one quantum, that bar is rescaled by ``previous close / open`` instead, so
    prices stay positive. The first bar, times and volumes are unchanged.
    """
    rebased: list[Candle] = []
    previous_close: Decimal | None = None
    for candle in candles:
        if candle.low <= 0:
            raise ValueError(f"continuous() needs positive prices, got low={candle.low} at {candle.time}")
        if previous_close is not None and candle.open != previous_close:
            candle = _rebase(candle, previous_close, tick)
        rebased.append(candle)
        previous_close = candle.close
    return rebased


def _rebase(candle: Candle, new_open: Decimal, tick: Decimal | None) -> Candle:
    prices = (candle.open, candle.high, candle.low, candle.close)
    quantum = tick if tick is not None else _finest_quantum((*prices, new_open))
    gap = new_open - candle.open
    high, low, close = (quantize_to_tick(price + gap, quantum) for price in prices[1:])
    if low < quantum:  # a downward shift would reach zero: scale the bar instead of shifting it
        ratio = new_open / candle.open
        high, low, close = (max(quantize_to_tick(price * ratio, quantum), quantum) for price in prices[1:])
    return Candle(
        time=candle.time,
        open=new_open,
        high=max(high, new_open, close),
        low=min(low, new_open, close),
        close=close,
        volume=candle.volume,
    )


def _finest_quantum(prices: Iterable[Decimal]) -> Decimal:
    exponent = min(int(price.as_tuple().exponent) for price in prices)
    return Decimal(1).scaleb(exponent)
