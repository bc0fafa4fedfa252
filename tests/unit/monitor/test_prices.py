"""The price guard alone: what it refuses, what it holds as suspect, what confirms a suspect price."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from robson.domain.instrument import Instrument
from robson.monitor.prices import PriceGuard

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
BTC = Instrument("BTC/USDT", "BTC", "USDT", D("0.01"), D("0.00001"), min_price=D("0.01"), max_price=D(1000000))


def _guard() -> PriceGuard:
    guard = PriceGuard(D(10), D(60))
    assert guard.judge("BTC/USDT", D(90000), NOW, BTC).accepted == (D(90000),)
    return guard


@pytest.mark.parametrize("bad", [D("NaN"), D("sNaN"), D("Infinity"), D("-Infinity"), D(0), D(-5), 90000.0, "90000"])
def test_what_is_no_real_price_is_refused(bad: object) -> None:
    judgement = _guard().judge("BTC/USDT", bad, NOW, BTC)
    assert judgement.accepted == () and judgement.refused is not None and "not a real price" in judgement.refused


@pytest.mark.parametrize("bad", [D("1E+30"), D("1000000.01"), D("0.001")])
def test_a_price_outside_the_price_filter_is_refused(bad: D) -> None:
    judgement = _guard().judge("BTC/USDT", bad, NOW, BTC)
    assert judgement.accepted == () and judgement.refused is not None and "price filter" in judgement.refused


def test_a_move_within_the_band_is_accepted_at_once() -> None:
    guard = _guard()
    assert guard.judge("BTC/USDT", D(81000), NOW, BTC).accepted == (D(81000),)  # exactly 10%


def test_a_jump_is_held_until_the_next_price_confirms_it_then_both_are_acted_on_in_order() -> None:
    guard = _guard()
    held = guard.judge("BTC/USDT", D(80000), NOW, BTC)
    assert held.accepted == () and held.suspect is not None and "-11.11%" in held.suspect
    assert guard.judge("BTC/USDT", D(79500), NOW, BTC).accepted == (D(80000), D(79500))
    assert guard.last["BTC/USDT"][0] == D(79500)


def test_a_bad_print_is_dropped_when_the_next_price_agrees_with_the_last_accepted() -> None:
    guard = _guard()
    assert guard.judge("BTC/USDT", D(999999), NOW, BTC).suspect is not None
    assert guard.judge("BTC/USDT", D(90010), NOW, BTC).accepted == (D(90010),)
    assert guard.held == {}


def test_a_second_far_price_replaces_the_suspect_one() -> None:
    guard = _guard()
    guard.judge("BTC/USDT", D(50000), NOW, BTC)
    assert guard.judge("BTC/USDT", D(150000), NOW, BTC).suspect is not None
    assert guard.judge("BTC/USDT", D(149000), NOW, BTC).accepted == (D(150000), D(149000))


def test_after_the_window_the_last_accepted_price_is_too_old_to_judge_a_jump() -> None:
    guard = _guard()
    later = NOW + timedelta(seconds=61)
    assert guard.judge("BTC/USDT", D(70000), later, BTC).accepted == (D(70000),)


def test_symbols_are_judged_apart() -> None:
    guard = _guard()
    assert guard.judge("ETH/USDT", D(3000), NOW, None).accepted == (D(3000),)
    assert guard.judge("BTC/USDT", D(3000), NOW, BTC).suspect is not None
