"""The trigger index: which stops and targets a tick or a bar's range crossed, and its upkeep."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robson.domain.errors import InvalidValue
from robson.domain.values import Side
from robson.monitor.index import Levels, Trigger, TriggerIndex, TriggerKind

LONG, SHORT = Side.LONG, Side.SHORT


def _one(side: Side, stop: str | None, target: str | None) -> TriggerIndex:
    index = TriggerIndex()
    index.set(1, "BTC/USDT", side, None if stop is None else D(stop), None if target is None else D(target))
    return index


# A single tick (low == high) against a single level at, just above and just below it.
@pytest.mark.parametrize(
    ("side", "stop", "target", "tick", "expected"),
    [
        # long stop at 100 triggers at or below 100
        (LONG, "100", None, "100", [("STOP", "100")]),
        (LONG, "100", None, "99.99", [("STOP", "100")]),
        (LONG, "100", None, "100.01", []),
        # short stop at 100 triggers at or above 100
        (SHORT, "100", None, "100", [("STOP", "100")]),
        (SHORT, "100", None, "100.01", [("STOP", "100")]),
        (SHORT, "100", None, "99.99", []),
        # long target at 100 triggers at or above 100
        (LONG, None, "100", "100", [("TARGET", "100")]),
        (LONG, None, "100", "100.01", [("TARGET", "100")]),
        (LONG, None, "100", "99.99", []),
        # short target at 100 triggers at or below 100
        (SHORT, None, "100", "100", [("TARGET", "100")]),
        (SHORT, None, "100", "99.99", [("TARGET", "100")]),
        (SHORT, None, "100", "100.01", []),
        # both levels, the tick between them, at each, beyond each
        (LONG, "90", "110", "100", []),
        (LONG, "90", "110", "90", [("STOP", "90")]),
        (LONG, "90", "110", "110", [("TARGET", "110")]),
        (LONG, "90", "110", "89", [("STOP", "90")]),
        (LONG, "90", "110", "111", [("TARGET", "110")]),
        (SHORT, "110", "90", "100", []),
        (SHORT, "110", "90", "110", [("STOP", "110")]),
        (SHORT, "110", "90", "90", [("TARGET", "90")]),
        (SHORT, "110", "90", "111", [("STOP", "110")]),
        (SHORT, "110", "90", "89", [("TARGET", "90")]),
        # equal numbers written differently are the same level
        (LONG, "100.00", None, "100", [("STOP", "100.00")]),
    ],
)
def test_a_tick(
    side: Side, stop: str | None, target: str | None, tick: str, expected: list[tuple[TriggerKind, str]]
) -> None:
    index = _one(side, stop, target)
    assert index.crossed("BTC/USDT", D(tick), D(tick)) == [Trigger(1, kind, D(level)) for kind, level in expected]


# A bar's range: a level is crossed when any price in [low, high] meets its condition.
@pytest.mark.parametrize(
    ("side", "stop", "target", "low", "high", "expected"),
    [
        (LONG, "95", None, "94", "99", [("STOP", "95")]),
        (LONG, "95", None, "95", "99", [("STOP", "95")]),
        (LONG, "95", None, "95.01", "99", []),
        (SHORT, "105", None, "101", "106", [("STOP", "105")]),
        (SHORT, "105", None, "101", "105", [("STOP", "105")]),
        (SHORT, "105", None, "101", "104.99", []),
        (LONG, None, "105", "101", "105", [("TARGET", "105")]),
        (LONG, None, "105", "101", "104.99", []),
        (SHORT, None, "95", "95", "99", [("TARGET", "95")]),
        (SHORT, None, "95", "95.01", "99", []),
        # the range holds both levels: the stop wins, the target is not reported
        (LONG, "95", "105", "94", "106", [("STOP", "95")]),
        (LONG, "95", "105", "95", "105", [("STOP", "95")]),
        (SHORT, "105", "95", "94", "106", [("STOP", "105")]),
        # the range reaches only one of the two
        (LONG, "95", "105", "96", "106", [("TARGET", "105")]),
        (SHORT, "105", "95", "94", "104", [("TARGET", "95")]),
    ],
)
def test_a_bar(
    side: Side, stop: str | None, target: str | None, low: str, high: str, expected: list[tuple[TriggerKind, str]]
) -> None:
    index = _one(side, stop, target)
    assert index.crossed("BTC/USDT", D(low), D(high)) == [Trigger(1, kind, D(level)) for kind, level in expected]


def test_stop_wins_only_for_its_own_operation() -> None:
    index = TriggerIndex()
    index.set(1, "X", LONG, D("95"), D("105"))  # both crossed: STOP only
    index.set(2, "X", LONG, None, D("104"))  # only a target: reported
    index.set(3, "X", SHORT, D("106"), D("94"))  # both crossed: STOP only
    index.set(4, "X", SHORT, D("107"), None)  # stop out of range
    assert index.crossed("X", D("93"), D("106")) == [
        Trigger(1, "STOP", D("95")),
        Trigger(3, "STOP", D("106")),
        Trigger(2, "TARGET", D("104")),
    ]


def test_a_stop_and_a_target_at_the_same_tick() -> None:  # an inverted setup: the target is at or below the stop
    index = _one(LONG, "100", "100")
    assert index.crossed("BTC/USDT", D("100"), D("100")) == [Trigger(1, "STOP", D("100"))]


def test_order_stops_first_longs_then_shorts_by_level_then_id() -> None:
    index = TriggerIndex()
    index.set(10, "X", SHORT, D("101"), None)
    index.set(11, "X", LONG, D("100"), None)
    index.set(12, "X", LONG, D("99"), None)
    index.set(5, "X", LONG, D("99"), None)
    index.set(13, "X", SHORT, None, D("99.5"))
    index.set(14, "X", LONG, None, D("100.5"))
    assert index.crossed("X", D("98"), D("102")) == [
        Trigger(5, "STOP", D("99")),
        Trigger(12, "STOP", D("99")),
        Trigger(11, "STOP", D("100")),
        Trigger(10, "STOP", D("101")),
        Trigger(14, "TARGET", D("100.5")),
        Trigger(13, "TARGET", D("99.5")),
    ]


def test_replace_moves_the_levels() -> None:
    index = _one(LONG, "95", "110")
    index.set(1, "BTC/USDT", LONG, D("98"), D("120"))  # a trailed stop, a new target
    assert index.crossed("BTC/USDT", D("97"), D("97")) == [Trigger(1, "STOP", D("98"))]
    assert index.crossed("BTC/USDT", D("115"), D("115")) == []
    assert index.levels(1) == Levels("BTC/USDT", LONG, D("98"), D("120"))
    assert len(index) == 1


def test_replace_with_none_removes_that_level() -> None:
    index = _one(LONG, "95", "110")
    index.set(1, "BTC/USDT", LONG, D("95"), None)
    assert index.crossed("BTC/USDT", D("111"), D("111")) == []
    assert index.crossed("BTC/USDT", D("94"), D("94")) == [Trigger(1, "STOP", D("95"))]
    index.set(1, "BTC/USDT", LONG, None, D("110"))
    assert index.crossed("BTC/USDT", D("94"), D("94")) == []
    assert index.levels(1) == Levels("BTC/USDT", LONG, None, D("110"))


def test_set_with_no_levels_removes_the_operation() -> None:
    index = _one(LONG, "95", "110")
    index.set(1, "BTC/USDT", LONG, None, None)
    assert len(index) == 0
    assert index.levels(1) is None
    assert index.symbols() == frozenset()


def test_replace_can_move_symbol_and_side() -> None:
    index = _one(LONG, "95", "110")
    index.set(1, "ETH/USDT", SHORT, D("2100"), D("1900"))
    assert index.symbols() == {"ETH/USDT"}
    assert index.crossed("BTC/USDT", D("1"), D("1000")) == []
    assert index.crossed("ETH/USDT", D("2100"), D("2100")) == [Trigger(1, "STOP", D("2100"))]


def test_remove() -> None:
    index = TriggerIndex()
    index.set(1, "X", LONG, D("95"), D("105"))
    index.set(2, "X", LONG, D("95"), D("105"))  # same levels, other operation
    index.remove(1)
    index.remove(1)  # twice: ignored
    index.remove(99)  # unknown: ignored
    assert index.crossed("X", D("95"), D("95")) == [Trigger(2, "STOP", D("95"))]
    assert len(index) == 1 and 1 not in index and 2 in index and list(index) == [2]
    index.remove(2)
    assert len(index) == 0 and index.symbols() == frozenset()
    assert index.crossed("X", D("0"), D("1000")) == []


def test_an_unknown_symbol_crosses_nothing() -> None:
    assert TriggerIndex().crossed("NOPE", D("1"), D("2")) == []


def test_refuses_an_inverted_range_and_bad_levels() -> None:
    index = _one(LONG, "95", "105")
    with pytest.raises(InvalidValue):
        index.crossed("BTC/USDT", D("101"), D("100"))
    with pytest.raises(InvalidValue):
        index.set(1, "BTC/USDT", LONG, D("NaN"), None)
    with pytest.raises(InvalidValue):
        index.set(1, "BTC/USDT", LONG, None, D("Infinity"))
    assert index.levels(1) == Levels("BTC/USDT", LONG, D("95"), D("105"))  # a refused set leaves it as it was


def test_many_operations_on_several_symbols() -> None:
    index = TriggerIndex()
    symbols = ["A", "B", "C"]
    for n in range(300):
        symbol = symbols[n % 3]
        side = LONG if n % 2 == 0 else SHORT
        offset = D(n // 6 + 1)  # 1 .. 50
        stop, target = (D(100) - offset, D(100) + offset) if side is LONG else (D(100) + offset, D(100) - offset)
        index.set(n, symbol, side, stop, target)
    assert len(index) == 300
    assert index.symbols() == {"A", "B", "C"}
    assert all(index.crossed(s, D(100), D(100)) == [] for s in symbols)
    # down to 97 on A: longs on A with offset <= 3 stop, shorts on A with offset <= 3 take profit
    hits = index.crossed("A", D("97"), D("97"))
    a_ops = [n for n in range(300) if n % 3 == 0 and n // 6 + 1 <= 3]
    assert sorted(t.operation_id for t in hits) == sorted(a_ops)
    assert all((t.kind == "STOP") == (t.operation_id % 2 == 0) for t in hits)
    assert all((levels := index.levels(t.operation_id)) is not None and levels.symbol == "A" for t in hits)
    for trigger in hits:
        index.remove(trigger.operation_id)
    assert index.crossed("A", D("97"), D("97")) == []
    assert len(index) == 300 - len(a_ops)
    assert index.crossed("B", D("97"), D("97")) != []  # other symbols untouched


def _brute_force(ops: dict[int, tuple[Side, D | None, D | None]], low: D, high: D) -> list[Trigger]:
    stops: dict[int, D] = {}
    targets: dict[int, D] = {}
    for op, (side, stop, target) in ops.items():
        if stop is not None and ((side is LONG and low <= stop) or (side is SHORT and high >= stop)):
            stops[op] = stop
        if target is not None and ((side is LONG and high >= target) or (side is SHORT and low <= target)):
            targets[op] = target

    def key(op: int, levels: dict[int, D]) -> tuple[int, D, int]:
        return (0 if ops[op][0] is LONG else 1, levels[op], op)

    result = [Trigger(op, "STOP", stops[op]) for op in sorted(stops, key=lambda op: key(op, stops))]
    kept = [op for op in targets if op not in stops]
    return result + [Trigger(op, "TARGET", targets[op]) for op in sorted(kept, key=lambda op: key(op, targets))]


_level = st.one_of(st.none(), st.integers(min_value=80, max_value=120).map(lambda n: D(n) / 2))
_op = st.tuples(st.integers(min_value=0, max_value=40), st.sampled_from(["X", "Y"]), st.sampled_from([LONG, SHORT]))


@settings(max_examples=300, deadline=None)
@given(
    updates=st.lists(st.tuples(_op, _level, _level, st.booleans()), max_size=60),
    ranges=st.lists(st.tuples(st.sampled_from(["X", "Y"]), _level, _level), min_size=1, max_size=10),
)
def test_crossed_agrees_with_a_brute_force_scan(
    updates: list[tuple[tuple[int, str, Side], D | None, D | None, bool]],
    ranges: list[tuple[str, D | None, D | None]],
) -> None:
    index = TriggerIndex()
    model: dict[int, tuple[str, Side, D | None, D | None]] = {}
    for (op, symbol, side), stop, target, removing in updates:
        if removing:
            index.remove(op)
            model.pop(op, None)
        else:
            index.set(op, symbol, side, stop, target)
            if stop is None and target is None:
                model.pop(op, None)
            else:
                model[op] = (symbol, side, stop, target)
    assert len(index) == len(model)
    assert index.symbols() == {symbol for symbol, *_ in model.values()}
    for op, (symbol, side, stop, target) in model.items():
        assert index.levels(op) == Levels(symbol, side, stop, target)
    for symbol, a, b in ranges:
        low, high = sorted((a or D(50), b or D(50)))
        on_symbol = {op: (side, stop, target) for op, (s, side, stop, target) in model.items() if s == symbol}
        assert index.crossed(symbol, low, high) == _brute_force(on_symbol, low, high)
