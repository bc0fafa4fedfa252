"""Fault injection for the crash-recovery drill (never wired unless ROBSON_CRASH_AFTER_EXIT_SENT is set):
the process dies with SIGKILL right after the venue accepted an exit order and before Robson records it."""

from __future__ import annotations

import os
import signal
from typing import Any

from robson.ports import ExchangePort, OrderReport, OrderRequest


class CrashAfterExitSent:
    def __init__(self, exchange: ExchangePort) -> None:
        self._exchange = exchange

    def place_order(self, request: OrderRequest) -> OrderReport:
        report = self._exchange.place_order(request)
        if "-x" in request.client_order_id:  # an exit (rb<operation>-x<n>)
            os.kill(os.getpid(), signal.SIGKILL)
        return report

    def __getattr__(self, name: str) -> Any:
        return getattr(self._exchange, name)
