"""The event bus, in process: the units of work publish the events of each commit once it is committed, and the
bus tells each subscriber of those it asked for, one event after the other in the order they were recorded.

The audit trail is not a subscriber here: it is written inside the commit itself (the same transaction as the
changes it records), so no audit row is ever lost between a commit and its dispatch. What the bus feeds comes
after: the notifier (`TellTheTrader`), and next analytics and live streams. A subscriber that raises is logged and
skipped; the use case that committed never sees it fail.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from robson.domain.events import Alert, Event
from robson.ports import EventBus, Notifier, Subscriber

log = logging.getLogger(__name__)


class InProcessBus:
    """Subscribers in the order they subscribed; each event goes to every one that wants it before the next event
    goes anywhere. Not a queue: `publish` returns when every subscriber has been told."""

    def __init__(self) -> None:
        self._subscriptions: list[tuple[Subscriber, tuple[type[Event], ...]]] = []

    def subscribe(self, subscriber: Subscriber, *kinds: type[Event]) -> None:
        self._subscriptions.append((subscriber, kinds))

    def publish(self, events: Sequence[Event]) -> None:
        subscriptions = list(self._subscriptions)  # one subscribing meanwhile hears from the next publish on
        for event in events:
            for subscriber, kinds in subscriptions:
                if kinds and not isinstance(event, kinds):
                    continue
                try:
                    subscriber(event)
                except Exception:
                    log.exception("event subscriber %r failed on %r; the use case goes on", subscriber, event)


class TellTheTrader:
    """The notifier as a subscriber: every alert a commit recorded (the policy's: a tier tripped, trading halted or
    resumed, unusual activity) is said, as the use cases said it before they committed through the bus."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    def __call__(self, event: Event) -> None:
        if isinstance(event, Alert):
            self.notifier.notify(event)


_: tuple[type[EventBus], type[Subscriber]] = (InProcessBus, TellTheTrader)  # mypy holds them to the ports
