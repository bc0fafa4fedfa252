"""Alerts to the process log: one line each, critical alerts at ERROR level."""

from __future__ import annotations

import logging

from robson.domain.events import Alert

_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.ERROR}


class LogNotifier:
    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger("robson.alerts")
        self.sent: list[Alert] = []  # what this process has said, for `robson risk status` and the tests

    def notify(self, alert: Alert) -> None:
        self.sent.append(alert)
        level = _LEVELS.get(alert.level, logging.WARNING)
        self.logger.log(level, "[%s] %s: %s", alert.level, alert.code, alert.message)
