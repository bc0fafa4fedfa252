"""The event bus: what a committed unit of work's events are delivered through, and who is told."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from robson.domain.events import Event


class Subscriber(Protocol):
    """Told of each event the bus dispatches to it, after the commit that recorded the event. What it does is its
    own: a subscriber that fails is logged and never fails the use case (nor the other subscribers)."""

    def __call__(self, event: Event, /) -> None: ...


class EventBus(Protocol):
    """Delivers committed events to their subscribers, in order: the units of work publish what each commit
    recorded once it is committed (never for a rollback, nor a commit refused by ConcurrentChange)."""

    def subscribe(self, subscriber: Subscriber, *kinds: type[Event]) -> None:
        """`subscriber` is told of every event that is one of `kinds` (of every event, when none are named)."""
        ...

    def publish(self, events: Sequence[Event]) -> None: ...
