"""The in-process event bus: each event to every subscriber that wants it, in order; a subscriber that fails is
logged and skipped; the notifier hears the alerts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from robson.domain.events import Alert, AlertLevel, Event, HoldLifted, PolicyEvent, TradingHalted
from robson.domain.states import TradingState
from robson.notify.log import LogNotifier
from robson.services.bus import InProcessBus, TellTheTrader

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HALTED = TradingHalted(at=T0, previous=TradingState.ACTIVE, reason="paused: news")
LIFTED = HoldLifted(at=T0, code="ORDER_RATE", reason="order rate spike")
ALERT = Alert(AlertLevel.CRITICAL, "PAUSED", "HALTED: paused: news", T0)


def test_each_event_goes_to_every_subscriber_that_wants_it_before_the_next_event() -> None:
    bus = InProcessBus()
    heard: list[tuple[str, Event]] = []
    bus.subscribe(lambda event: heard.append(("all", event)))
    bus.subscribe(lambda event: heard.append(("policy", event)), PolicyEvent)
    bus.subscribe(lambda event: heard.append(("alerts", event)), Alert)
    bus.publish([HALTED, ALERT, LIFTED])
    assert heard == [
        ("all", HALTED),
        ("policy", HALTED),
        ("all", ALERT),
        ("alerts", ALERT),
        ("all", LIFTED),
        ("policy", LIFTED),
    ]


def test_a_failing_subscriber_is_logged_and_the_others_still_hear(caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: Event) -> None:
        raise RuntimeError("webhook down")

    bus = InProcessBus()
    heard: list[Event] = []
    bus.subscribe(broken)
    bus.subscribe(heard.append)
    with caplog.at_level(logging.ERROR, logger="robson.services.bus"):
        bus.publish([HALTED, LIFTED])
    assert heard == [HALTED, LIFTED]
    failures = [record for record in caplog.records if record.name == "robson.services.bus"]
    assert len(failures) == 2 and all(record.exc_info is not None for record in failures)
    assert "webhook down" in caplog.text


def test_the_notifier_hears_the_alerts_and_nothing_else() -> None:
    notifier = LogNotifier(logging.getLogger("test.alerts"))
    bus = InProcessBus()
    bus.subscribe(TellTheTrader(notifier))
    bus.publish([HALTED, ALERT, LIFTED])
    assert notifier.sent == [ALERT]


def test_a_subscriber_added_while_publishing_hears_from_the_next_publish() -> None:
    bus = InProcessBus()
    late: list[Event] = []
    bus.subscribe(lambda event: bus.subscribe(late.append) if event is HALTED else None)
    bus.publish([HALTED, LIFTED])
    assert late == []
    bus.publish([LIFTED])
    assert late == [LIFTED]
