"""Every breaker measures the account's net equity: what it holds less what it owes. On spot it owes nothing and
the figure is the balances at their prices, as ever; a loan (and its interest) the venue reports lowers it."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

from robson.bootstrap import App
from robson.domain.account import Balance
from robson.ports import ExchangePort
from robson.risk.policy_state import TradingState
from robson.services import following, policy, portfolio


class Owing:
    """The paper venue, whose account also owes `borrowed` and `interest` of the quote asset."""

    def __init__(self, inner: ExchangePort, borrowed: D, interest: D) -> None:
        self.inner, self.name, self.capabilities = inner, inner.name, inner.capabilities
        self.borrowed, self.interest = borrowed, interest

    def balances(self) -> dict[str, Balance]:
        held = self.inner.balances()
        usdt = held["USDT"]
        return held | {"USDT": dataclasses.replace(usdt, borrowed=self.borrowed, interest=self.interest)}

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_on_spot_the_equity_is_the_balances_at_their_last_prices(app: App) -> None:
    app.market.reset({"USDT": D("9000.50"), "BTC": D("0.01")})
    following.push_price(app.context, app.market, "BTC/USDT", D(90000))
    assert portfolio.equity(app.context.exchange, "USDT") == D("9000.50") + D("0.01") * D(90000)
    assert portfolio.equity_and_free(app.context.exchange, "USDT") == (D("9900.50"), D("9000.50"))


def test_a_loan_and_its_interest_come_off_the_equity_every_breaker_measures(app: App) -> None:
    following.push_price(app.context, app.market, "BTC/USDT", D(90000))
    assert policy.state(app.context).equity == D(10000)  # the peak: 10,000 USDT, nothing owed
    owing = dataclasses.replace(app.context, exchange=Owing(app.context.exchange, D(1500), D("0.75")))  # type: ignore[arg-type]
    assert portfolio.equity(owing.exchange, "USDT") == D(10000) - D("1500.75")
    policy.refresh(owing)
    state = policy.state(app.context)
    assert state.equity == D("8499.25") and state.peak_equity == D(10000)
    assert state.state is TradingState.HALTED  # 15% under the peak: past the 10% drawdown tier
