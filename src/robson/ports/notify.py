"""Where alerts go."""

from __future__ import annotations

from typing import Protocol

from robson.domain.events import Alert


class Notifier(Protocol):
    """Where alerts go: a log now; Telegram and webhooks later."""

    def notify(self, alert: Alert) -> None: ...
