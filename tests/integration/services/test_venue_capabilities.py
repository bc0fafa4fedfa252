"""The use cases ask the venue for the capability they need instead of assuming a spot account with OCO lists:
protection on the venue needs OCO (a stop and a target resting together), a short needs SHORT."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest

from robson.bootstrap import App
from robson.domain.operation import OperationStatus
from robson.domain.values import Side
from robson.domain.venue import Capability
from robson.ports import ExchangePort
from robson.services import commands, following, planning
from robson.services.context import Context
from robson.services.errors import Refused

SPOT_ONLY = frozenset({Capability.SPOT})


class Declaring:
    """The paper venue, declaring the capabilities given (everything else is the paper venue's)."""

    def __init__(self, inner: ExchangePort, capabilities: frozenset[Capability]) -> None:
        self.inner, self.name, self.capabilities = inner, inner.name, capabilities

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def _on(app: App, capabilities: frozenset[Capability]) -> Context:
    return dataclasses.replace(app.context, exchange=Declaring(app.context.exchange, capabilities))  # type: ignore[arg-type]


def _priced(app: App) -> None:
    following.push_price(app.context, app.market, "BTC/USDT", D(90000))


def test_a_plan_protected_on_a_venue_without_oco_is_refused_and_nothing_is_stored(app: App) -> None:
    _priced(app)
    with pytest.raises(Refused, match="VENUE_OCO: paper cannot rest a stop and a target together"):
        planning.plan(_on(app, SPOT_ONLY), "BTC/USDT", Side.LONG, D(90000), D(88200), reward_risk=D(2))
    assert planning.operations(app.context, ()) == []


def test_an_execute_on_a_venue_without_oco_is_refused_before_the_entry_is_sent(app: App) -> None:
    _priced(app)
    planned = planning.plan(app.context, "BTC/USDT", Side.LONG, D(90000), D(88200), reward_risk=D(2))
    assert planned.operation.id is not None
    with pytest.raises(Refused, match="VENUE_OCO"):
        commands.execute(_on(app, SPOT_ONLY), planned.operation.id)
    (op,) = planning.operations(app.context, ())
    assert op.status is OperationStatus.PLANNED and op.orders == []
    assert app.context.exchange.open_orders() == [] and app.context.exchange.balances()["USDT"].total == D(10000)


def test_internal_protection_needs_no_oco(internal: App) -> None:
    _priced(internal)
    context = _on(internal, SPOT_ONLY)
    planned = planning.plan(context, "BTC/USDT", Side.LONG, D(90000), D(88200), reward_risk=D(2))
    assert planned.operation.id is not None
    outcome = commands.execute(context, planned.operation.id)
    assert outcome.operation.status is OperationStatus.ACTIVE and internal.context.exchange.open_orders() == []


def test_an_adopted_position_needs_a_venue_that_can_protect_it(app: App) -> None:
    _priced(app)
    app.market.reset({"USDT": D(10000), "BTC": D("0.01")})
    with pytest.raises(Refused, match="VENUE_OCO"):
        following.adopt(_on(app, SPOT_ONLY), "BTC/USDT", D("0.01"), D(90000), stop=D(88200), target=D(93600))
    assert planning.operations(app.context, ()) == []
