"""The event bus as the composition root wires it: what a commit records reaches the notifier once, after the
commit; any other subscriber hears every event in order; `robson run --json` prints each alert once, whether the
bus or the monitor itself sent it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from robson import bootstrap
from robson.cli.monitor import _context
from robson.clock import ManualClock
from robson.config import Settings
from robson.domain.events import Alert, AlertLevel, Event, HoldAdded, TradingHalted
from robson.notify.log import LogNotifier
from robson.services import policy

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[bootstrap.App]:
    monkeypatch.delenv("ROBSON_CONFIG", raising=False)
    monkeypatch.delenv("ROBSON_DATABASE_URL", raising=False)
    monkeypatch.setenv("ROBSON_DATA_DIR", str(tmp_path))
    built = bootstrap.build(
        f"sqlite:///{tmp_path / 'robson.db'}", settings=Settings(), clock=ManualClock(START), actor="test"
    )
    yield built
    built.close()


def sent(app: bootstrap.App) -> list[str]:
    notifier = app.context.notifier
    assert isinstance(notifier, LogNotifier)
    return [alert.code for alert in notifier.sent]


def test_a_pause_is_audited_in_its_commit_and_then_told_once(app: bootstrap.App) -> None:
    heard: list[Event] = []
    audited_then: list[list[str]] = []

    def analytics(event: Event) -> None:
        heard.append(event)
        with app.context.unit_of_work() as uow:
            audited_then.append([record.action for record in uow.audit.list()])

    app.events.subscribe(analytics)
    policy.pause(app.context, "news at 14:00")
    assert [type(event) for event in heard] == [HoldAdded, TradingHalted, Alert]
    assert audited_then[0] == ["HoldAdded", "TradingStateChanged"]  # on record before anyone is told
    assert sent(app) == ["PAUSED"]


def test_json_lines_carry_every_alert_once_from_the_bus_and_from_the_monitor(
    app: bootstrap.App, capsys: pytest.CaptureFixture[str]
) -> None:
    context = _context(app, json_output=True)
    policy.pause(context, "news at 14:00")  # committed, then told through the bus
    assert context.notifier is not None
    context.notifier.notify(Alert(AlertLevel.WARNING, "FEED_STALE", "no prices for 30 s", START))  # the monitor's
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["event"], line["level"], line["code"]) for line in lines] == [
        ("alert", "critical", "PAUSED"),
        ("alert", "warning", "FEED_STALE"),
    ]
    assert sent(app) == ["PAUSED", "FEED_STALE"]
