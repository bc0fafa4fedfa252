"""The trigger index: which open operations' stop or target levels a tick (or a bar's range) crossed.

Pure: no I/O, no clock. One index holds every symbol; per symbol it keeps four lists sorted by
(level, operation_id), one per way a level can trigger:

    long stops      trigger when price <= level   crossed by [low, high] when level >= low
    short stops     trigger when price >= level   crossed by [low, high] when level <= high
    long targets    trigger when price >= level   crossed by [low, high] when level <= high
    short targets   trigger when price <= level   crossed by [low, high] when level >= low

A range [low, high] crosses a level when some price in it meets the trigger condition, so a tick is low == high
and a bar passes its low and high.

Why ticks stay flat as operations grow: in every list the crossed levels form one contiguous run at one end (a
suffix for "level >= low", a prefix for "level <= high"), so no level that is not crossed is ever visited. The
level nearest the price sits at that end, so one comparison with it tells whether anything in the list is
crossed; only then a binary search (`bisect`, O(log n)) finds where the run starts and the run is copied (O(k)
for k crossed levels). Most ticks cross nothing and cost four comparisons whatever the number of operations; a
tick that crosses something costs O(log n + k): log2(100,000) is about 17 comparisons against 7 for 100, small
next to the fixed cost of a call. Keeping it flat needs the caller to take out what triggered (it closes those
operations); otherwise the crossed runs, and k, keep growing tick after tick.

Updates are O(n) per symbol and side: `set` and `remove` find the entry by binary search but `list.insert` and
`del` shift the tail of a Python list (a memmove, fast in practice). That is acceptable: levels change when an
operation opens, closes or moves its stop, orders of magnitude less often than ticks arrive. Plain `bisect` on
lists is used rather than `sortedcontainers` (O(log n) updates) because that package is not a dependency of
Robson; it only comes with the test tools.

Order of `crossed`: every STOP before every TARGET; within a kind, longs before shorts; within those, by
(level, operation_id). An operation whose stop and target are both crossed in one range reports only its STOP
(conservative: a range does not tell which came first, so assume the loss).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Literal

from robson.domain.errors import InvalidValue
from robson.domain.values import Side

TriggerKind = Literal["STOP", "TARGET"]

_Entry = tuple[Decimal, int]  # (level, operation_id): sorted by level, ties by operation id
_level = itemgetter(0)


@dataclass(frozen=True, slots=True)
class Trigger:
    """One level crossed: the operation, whether its STOP or its TARGET, and the level itself."""

    operation_id: int
    kind: TriggerKind
    level: Decimal


@dataclass(frozen=True, slots=True)
class Levels:
    """What the index watches for one operation."""

    symbol: str
    side: Side
    stop: Decimal | None
    target: Decimal | None


class _Book:
    """The four sorted lists of one symbol."""

    __slots__ = ("long_stops", "long_targets", "short_stops", "short_targets")

    def __init__(self) -> None:
        self.long_stops: list[_Entry] = []
        self.short_stops: list[_Entry] = []
        self.long_targets: list[_Entry] = []
        self.short_targets: list[_Entry] = []

    def stops(self, side: Side) -> list[_Entry]:
        return self.long_stops if side is Side.LONG else self.short_stops

    def targets(self, side: Side) -> list[_Entry]:
        return self.long_targets if side is Side.LONG else self.short_targets

    def is_empty(self) -> bool:
        return not (self.long_stops or self.short_stops or self.long_targets or self.short_targets)


def _insert(entries: list[_Entry], entry: _Entry) -> None:
    entries.insert(bisect_left(entries, entry), entry)


def _delete(entries: list[_Entry], entry: _Entry) -> None:
    at = bisect_left(entries, entry)
    if at == len(entries) or entries[at] != entry:  # pragma: no cover - the index keeps its lists consistent
        raise AssertionError(f"trigger index out of step: {entry} is missing")
    del entries[at]


def _at_or_above(entries: list[_Entry], low: Decimal) -> list[_Entry]:
    """The suffix with level >= low. The last entry is the highest level: below low, nothing is crossed."""
    if not entries or entries[-1][0] < low:
        return []
    return entries[bisect_left(entries, low, key=_level) :]


def _at_or_below(entries: list[_Entry], high: Decimal) -> list[_Entry]:
    """The prefix with level <= high. The first entry is the lowest level: above high, nothing is crossed."""
    if not entries or entries[0][0] > high:
        return []
    return entries[: bisect_right(entries, high, key=_level)]


def _finite(value: Decimal | None, name: str) -> Decimal | None:
    if value is not None and (not isinstance(value, Decimal) or not value.is_finite()):
        raise InvalidValue(f"{name} must be a finite Decimal or None, got {value!r}")
    return value


class TriggerIndex:
    """Stop and target levels of open operations, by symbol, searchable by price range in O(log n + k)."""

    def __init__(self) -> None:
        self._books: dict[str, _Book] = {}
        self._levels: dict[int, Levels] = {}

    def set(self, operation_id: int, symbol: str, side: Side, stop: Decimal | None, target: Decimal | None) -> None:
        """Insert or replace the operation's levels. None removes that level; with neither, the operation goes."""
        _finite(stop, "stop")
        _finite(target, "target")
        side = Side(side)
        self.remove(operation_id)
        if stop is None and target is None:
            return
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = _Book()
        if stop is not None:
            _insert(book.stops(side), (stop, operation_id))
        if target is not None:
            _insert(book.targets(side), (target, operation_id))
        self._levels[operation_id] = Levels(symbol, side, stop, target)

    def remove(self, operation_id: int) -> None:
        """Stop watching the operation. Unknown operations are ignored."""
        levels = self._levels.pop(operation_id, None)
        if levels is None:
            return
        book = self._books[levels.symbol]
        if levels.stop is not None:
            _delete(book.stops(levels.side), (levels.stop, operation_id))
        if levels.target is not None:
            _delete(book.targets(levels.side), (levels.target, operation_id))
        if book.is_empty():
            del self._books[levels.symbol]

    def crossed(self, symbol: str, low: Decimal, high: Decimal) -> list[Trigger]:
        """Every level the prices in [low, high] cross: STOPs first; a STOP hides the same operation's TARGET."""
        if low > high:
            raise InvalidValue(f"low {low} is above high {high}")
        book = self._books.get(symbol)
        if book is None:
            return []
        stops = _at_or_above(book.long_stops, low) + _at_or_below(book.short_stops, high)
        targets = _at_or_below(book.long_targets, high) + _at_or_above(book.short_targets, low)
        if not stops and not targets:
            return []
        triggers = [Trigger(operation_id, "STOP", level) for level, operation_id in stops]
        if stops and targets:
            stopped = {operation_id for _, operation_id in stops}
            targets = [entry for entry in targets if entry[1] not in stopped]
        triggers.extend(Trigger(operation_id, "TARGET", level) for level, operation_id in targets)
        return triggers

    def levels(self, operation_id: int) -> Levels | None:
        """The operation's symbol, side and levels, or None when the index does not watch it."""
        return self._levels.get(operation_id)

    def symbols(self) -> frozenset[str]:
        """The symbols with at least one watched level."""
        return frozenset(self._books)

    def __len__(self) -> int:
        return len(self._levels)

    def __contains__(self, operation_id: object) -> bool:
        return operation_id in self._levels

    def __iter__(self) -> Iterator[int]:
        return iter(self._levels)
