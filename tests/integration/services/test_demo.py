"""The demo on synthetic markets: every operation exits by its stop or target, none beyond its budget."""

from __future__ import annotations

from decimal import Decimal as D

from robson.backtest.demo import run_demo
from robson.backtest.synthetic import generate_bars
from robson.clock import ManualClock
from robson.domain.operation import CloseReason, OperationStatus
from tests.integration.services.conftest import AppFactory


def test_demo_on_synthetic_markets_keeps_every_loss_within_budget(make_app: AppFactory, clock: ManualClock) -> None:
    data = {
        "BTC/USDT": ("synthetic", generate_bars(11, 3000, D(90000), D("0.01"), start=clock.now())),
        "ETH/USDT": ("synthetic", generate_bars(12, 3000, D(3000), D("0.01"), start=clock.now())),
    }
    app = make_app()
    report = run_demo(app.context, app.market, clock, data, operations_per_symbol=2)
    assert len(report.operations) == 4
    assert report.over_budget == []
    for op in report.operations:
        assert op.status is OperationStatus.CLOSED
        assert op.close_reason in (CloseReason.STOP_LOSS, CloseReason.TAKE_PROFIT, CloseReason.MANUAL)
        assert report.loss_percent(op) <= D(1)
