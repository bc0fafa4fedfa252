"""`robson demo`: the whole loop on the paper exchange, then a summary of every operation and its risk."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from robson import bootstrap
from robson.backtest.demo import DemoReport, market_data, run_demo
from robson.cli import parse, render
from robson.cli.errors import guarded
from robson.clock import ManualClock
from robson.config import Settings
from robson.services import views

SYMBOLS = ("BTC/USDT", "ETH/USDT")


def register(app: typer.Typer) -> None:
    @app.command()
    @guarded
    def demo(
        db: Annotated[
            str | None, typer.Option("--db", help="Keep the demo in this database (default: a fresh one).")
        ] = None,
        bars: Annotated[int, typer.Option(min=100, max=50_000, help="Bars per symbol at most.")] = 20_000,
        seed: Annotated[int, typer.Option(help="Seed of the synthetic markets.")] = 7,
        operations: Annotated[int, typer.Option(min=1, max=20, help="Operations per symbol.")] = 3,
    ) -> None:
        """Plan, validate and execute a handful of operations on seeded markets, and push prices until they exit."""
        with tempfile.TemporaryDirectory(prefix="robson-demo-") as scratch:
            url = parse.database_url(db or str(Path(scratch) / "demo.db"))
            data = market_data(SYMBOLS, bars, parse.seed(seed), Decimal("0.01"))
            clock = ManualClock(min(candles[0].time for _, candles in data.values()))
            # seeded markets pushed by hand: the paper venue always, whatever venue the settings name
            robson = bootstrap.build(url, clock=clock, actor="demo", settings=Settings(exchange="paper"))
            try:
                market = robson.paper_market("robson demo")
                with Progress(transient=True, console=render.console) as progress:
                    task = progress.add_task("pushing prices", total=min(len(c) for _, c in data.values()))
                    report = run_demo(
                        robson.context, market, clock, data, operations, on_bar=lambda: progress.advance(task)
                    )
            finally:
                robson.close()
        _summary(report)
        if report.over_budget:
            ids = ", ".join(str(op.id) for op in report.over_budget)
            raise typer.Exit(_fail(f"operations {ids} lost more than their risk budget"))


def _fail(message: str) -> int:
    render.say(render.styled(f"FAIL: {message}", "red"))
    return 1


def _summary(report: DemoReport) -> None:
    for symbol, source in report.sources.items():
        render.console.print(f"{symbol}: {source}")
    table = Table(title="Robson demo: every operation and its exit", title_justify="left")
    for column in (
        "id",
        "symbol",
        "side",
        "entry",
        "stop",
        "target",
        "qty",
        "exit",
        "reason",
        "P&L",
        "R",
        "budget",
        "loss % cap",
    ):
        table.add_column(column, justify="left" if column in ("symbol", "side", "reason") else "right")
    for op in report.operations:
        trades = op.position.trades
        exit_price = trades[-1].exit_price if trades else None
        r = op.realized_pnl / op.risk_amount if op.risk_amount else Decimal(0)
        table.add_row(
            str(op.id),
            op.symbol,
            op.side.value,
            views.money(op.entry_price),
            views.money(op.stop_price),
            views.money(op.target_price),
            views.number(op.quantity),
            views.money(exit_price) or "-",
            op.close_reason.value if op.close_reason else op.status.value,
            render.pnl(op.realized_pnl),
            f"{r:.2f}",
            views.money(op.risk_amount.quantize(Decimal("0.01"))),
            f"{report.loss_percent(op):.4f}%",
        )
    render.console.print(table)
    worst = max((report.loss_percent(op) for op in report.operations), default=Decimal(0))
    change = report.capital_end - report.capital_start
    render.console.print(
        f"bars pushed: {report.bars_pushed}   capital {report.capital_start:.2f} -> {report.capital_end:.2f} "
        f"({change:+.2f})   worst loss: {worst:.4f}% of capital (budget 1%)"
    )
    for refusal in report.refusals:
        render.say(render.styled(f"refused: {refusal}", "yellow"))
    for override in report.overrides:
        render.say(render.styled(f"risk engine halted trading ({override})", "cyan"))
    if not report.over_budget:
        render.say(render.styled("every operation stayed within its risk budget", "green"))
