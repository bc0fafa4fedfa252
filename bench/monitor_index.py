"""Bench: the live monitor's trigger lookup, per tick, with 100 and with 100,000 open operations on one symbol.

Prints ticks per second of `TriggerIndex.crossed` (median of several runs) for a random-walk tick stream, and the
ratio of the two. Each operation has a stop and a target up to 10% from the price (stops on the losing side,
targets on the winning side), so few levels are crossed per tick. As the monitor would, every operation that
triggers is removed and replaced by a fresh one around the current price, so the book keeps its size; that upkeep
is not timed, only the `crossed` calls (and the loop around them) are. Each book is built once; the runs
alternate between the two sizes after a warm-up, so both see the same machine. Target: ticks/s with 100,000
operations is at least 0.5 x ticks/s with 100.

    .venv/bin/python bench/monitor_index.py [--ticks 100000] [--runs 7]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from dataclasses import dataclass
from decimal import Decimal

from robson.domain.values import Side
from robson.monitor.index import TriggerIndex

SYMBOL = "BTC/USDT"
START = Decimal("100.0000")
SPREAD_BP = 1_000  # levels up to 10% (1,000 bp) from the price
QUANT = Decimal("0.0001")
STEP = Decimal("0.0010")  # one tick moves 0, 1 or 2 steps of 0.1 bp either way
SIZES = (100, 100_000)


@dataclass
class _Book:
    index: TriggerIndex
    rng: random.Random
    operations: int
    next_id: int
    price: Decimal = START


def _open(book: _Book, price: Decimal) -> None:
    side = Side.LONG if book.rng.random() < 0.5 else Side.SHORT
    stop_away = price * book.rng.randint(1, SPREAD_BP) / 10_000
    target_away = price * book.rng.randint(1, SPREAD_BP) / 10_000
    stop = (price - side.sign * stop_away).quantize(QUANT)
    target = (price + side.sign * target_away).quantize(QUANT)
    book.index.set(book.next_id, SYMBOL, side, stop, target)
    book.next_id += 1


def _build(operations: int, seed: int) -> _Book:
    book = _Book(TriggerIndex(), random.Random(seed), operations, 0)
    for _ in range(operations):
        _open(book, START)
    return book


def _stream(book: _Book, ticks: int) -> tuple[float, int]:
    """Run `ticks` random-walk ticks on the book: ticks per second of `crossed` and the levels crossed in all."""
    prices = []
    price = book.price
    for _ in range(ticks):
        price += STEP * book.rng.randint(-2, 2)
        prices.append(price)
    book.price = price
    index = book.index
    crossed_levels = 0
    upkeep = 0.0
    gc.collect()
    started = time.perf_counter()
    for price in prices:
        hits = index.crossed(SYMBOL, price, price)
        if hits:  # untimed: close what triggered, open as many fresh operations around the price
            paused = time.perf_counter()
            crossed_levels += len(hits)
            for hit in hits:
                index.remove(hit.operation_id)
                _open(book, price)
            upkeep += time.perf_counter() - paused
    elapsed = time.perf_counter() - started - upkeep
    assert len(index) == book.operations
    return ticks / elapsed, crossed_levels


def measure_ticks_per_second(operations: int, ticks: int, seed: int) -> float:
    """Ticks per second of `TriggerIndex.crossed` on one symbol with `operations` open operations (one run)."""
    return _stream(_build(operations, seed), ticks)[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ticks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    books = {operations: _build(operations, seed=operations) for operations in SIZES}
    for book in books.values():  # warm-up, not counted
        _stream(book, args.ticks // 10)
    rates: dict[int, list[float]] = {operations: [] for operations in SIZES}
    levels = dict.fromkeys(SIZES, 0)
    for run in range(args.runs):
        for operations in SIZES if run % 2 == 0 else SIZES[::-1]:
            rate, crossed = _stream(books[operations], args.ticks)
            rates[operations].append(rate)
            levels[operations] += crossed
    medians = {operations: statistics.median(rates[operations]) for operations in SIZES}
    for operations in SIZES:
        print(
            f"{operations:>7,} open operations: {medians[operations]:>10,.0f} ticks/s "
            f"(median of {args.runs} runs of {args.ticks:,} ticks; "
            f"{levels[operations] / (args.runs * args.ticks):.4f} levels crossed per tick)"
        )
    ratio = medians[SIZES[1]] / medians[SIZES[0]]
    print(f"ratio 100,000 / 100: {ratio:.2f} (target ratio >= 0.5: {'met' if ratio >= 0.5 else 'MISSED'})")


if __name__ == "__main__":
    main()
