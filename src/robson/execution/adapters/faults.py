"""Fault injection for the crash-recovery drill (never wired unless ROBSON_CRASH_AFTER_EXIT_SENT is set):
the process dies with SIGKILL right after the venue accepted an exit order and before Robson records it."""

from __future__ import annotations

import os
import signal
from decimal import Decimal

from robson.domain.instrument import Instrument
from robson.domain.venue import Capability
from robson.ports import Balance, ExchangePort, FeeRates, OcoRequest, OrderReport, OrderRequest, Quote


class CrashAfterExitSent:
    """ExchangePort: the venue it wraps, but for a SIGKILL once an exit order was accepted."""

    def __init__(self, exchange: ExchangePort) -> None:
        self._exchange = exchange

    def place_order(self, request: OrderRequest) -> OrderReport:
        report = self._exchange.place_order(request)
        if "-x" in request.client_order_id:  # an exit (rb<operation>-x<n>)
            os.kill(os.getpid(), signal.SIGKILL)
        return report

    # ---- everything else: the venue's own ----------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._exchange.name

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self._exchange.capabilities

    def instruments(self) -> dict[str, Instrument]:
        return self._exchange.instruments()

    def fee_rates(self, symbol: str) -> FeeRates:
        return self._exchange.fee_rates(symbol)

    def last_price(self, symbol: str) -> Decimal | None:
        return self._exchange.last_price(symbol)

    def quote(self, symbol: str) -> Quote | None:
        return self._exchange.quote(symbol)

    def balances(self) -> dict[str, Balance]:
        return self._exchange.balances()

    def place_oco(self, request: OcoRequest) -> tuple[OrderReport, OrderReport]:
        return self._exchange.place_oco(request)

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        return self._exchange.cancel_order(symbol, client_order_id)

    def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        return self._exchange.get_order(symbol, client_order_id)

    def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        return self._exchange.open_orders(symbol)
