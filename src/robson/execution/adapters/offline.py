"""The venue of a command that only reads the ledger (list, show, audit): no keys are asked for and nothing is
sent. A use case that would ask the venue anything is refused, in one line, before any request."""

from __future__ import annotations

from decimal import Decimal
from typing import NoReturn

from robson.domain.instrument import Instrument
from robson.domain.venue import Capability
from robson.ports import Balance, Fatal, FeeRates, OcoRequest, OrderReport, OrderRequest, Quote


class OfflineVenue:
    """ExchangePort that refuses every call: `name` is the configured venue's, for messages and the ledger."""

    capabilities: frozenset[Capability] = frozenset()  # it does nothing

    def __init__(self, name: str) -> None:
        self.name = name

    def _refuse(self) -> NoReturn:
        raise Fatal(f"this command reads the ledger only and does not talk to {self.name}")

    def instruments(self) -> dict[str, Instrument]:
        self._refuse()

    def fee_rates(self, symbol: str) -> FeeRates:
        self._refuse()

    def last_price(self, symbol: str) -> Decimal | None:
        self._refuse()

    def quote(self, symbol: str) -> Quote | None:
        self._refuse()

    def balances(self) -> dict[str, Balance]:
        self._refuse()

    def place_order(self, request: OrderRequest) -> OrderReport:
        self._refuse()

    def place_oco(self, request: OcoRequest) -> tuple[OrderReport, OrderReport]:
        self._refuse()

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        self._refuse()

    def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        self._refuse()

    def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        self._refuse()
