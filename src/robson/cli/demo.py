"""`robson demo`: the whole loop on the paper exchange, then a summary of every operation and its risk."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Annotated, TypedDict

import typer
from rich.progress import Progress

from robson import bootstrap
from robson.backtest.demo import DemoReport, market_data, run_demo
from robson.cli import parse, render
from robson.cli.errors import guarded
from robson.cli.tables import Column, fitted
from robson.config import Settings
from robson.domain.operation import Operation
from robson.services import views

SYMBOLS = ("BTC/USDT", "ETH/USDT")
PROGRESS_LINES = 10  # without a terminal: a line on stderr every tenth of the bars ...
PROGRESS_SECONDS = 5  # ... or every 5 s, whichever comes first


def register(app: typer.Typer) -> None:
    @app.command()
    @guarded
    def demo(
        db: Annotated[
            str | None,
            typer.Option("--db", metavar="FILE|URL", help="Keep the demo in this database (default: a fresh one)."),
        ] = None,
        bars: Annotated[int, typer.Option(min=100, max=50_000, metavar="N", help="Bars per symbol at most.")] = 20_000,
        seed: Annotated[int, typer.Option(metavar="N", help="Seed of the synthetic markets.")] = 7,
        operations: Annotated[int, typer.Option(min=1, max=20, metavar="N", help="Operations per symbol.")] = 3,
        json_output: Annotated[bool, typer.Option("--json", help="The summary as one JSON object.")] = False,
    ) -> None:
        """Plan, validate and execute a handful of operations on seeded markets, and push prices until they exit."""
        with tempfile.TemporaryDirectory(prefix="robson-demo-") as scratch:
            url = parse.database_url(db or str(Path(scratch) / "demo.db"))
            data = market_data(SYMBOLS, bars, parse.seed(seed), Decimal("0.01"))
            clock = bootstrap.simulated_clock(min(candles[0].time for _, candles in data.values()))
            # seeded markets pushed by hand: the paper venue always, whatever venue the settings name
            robson = bootstrap.build(url, clock=clock, actor="demo", settings=Settings(exchange="paper"))
            try:
                market = robson.paper_market("robson demo")
                total = min(len(c) for _, c in data.values())
                with _progress(total, live=sys.stderr.isatty() and not json_output) as advance:
                    report = run_demo(robson.context, market, clock, data, operations, on_bar=advance)
            finally:
                robson.close()
        if json_output:
            render.emit_json(_summary_view(report))
        else:
            _summary(report)
        if report.over_budget:
            ids = ", ".join(str(op.id) for op in report.over_budget)
            raise typer.Exit(render.fail_line(f"operations {ids} lost more than their risk budget"))


class _progress:
    """A Rich progress bar on a terminal; otherwise a line on stderr every tenth of the way."""

    def __init__(self, total: int, live: bool) -> None:
        self.total, self.live, self.done, self.said = total, live, 0, time.monotonic()
        self.bar = Progress(transient=True, console=render.Console(stderr=True)) if live else None

    def __enter__(self) -> Callable[[], None]:
        if self.bar is None:
            print(f"demo: pushing {self.total} bars per symbol", file=sys.stderr, flush=True)
            return self._line
        self.bar.__enter__()
        task = self.bar.add_task("pushing prices", total=self.total)
        bar = self.bar
        return lambda: bar.advance(task)

    def _line(self) -> None:
        self.done += 1
        every = max(self.total // PROGRESS_LINES, 1)
        now = time.monotonic()
        if (self.done % every == 0 or now - self.said >= PROGRESS_SECONDS) and self.done < self.total:
            self.said = now
            share = self.done * 100 // self.total
            print(f"demo: {self.done}/{self.total} bars ({share}%)", file=sys.stderr, flush=True)

    def __exit__(self, *args: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
        else:
            print(f"demo: stopped after {self.done} of {self.total} bars", file=sys.stderr, flush=True)


class _Row(TypedDict):
    """One operation of the demo, decimals as strings (the --json summary's and the table's)."""

    id: int | None
    symbol: str
    side: str
    entry_price: str | None
    stop_price: str | None
    target_price: str | None
    quantity: str | None
    exit_price: str | None
    reason: str
    realized_pnl: str | None
    r_multiple: str | None
    risk_amount: str | None
    loss_percent_of_capital: str | None


def _r_multiple(op: Operation) -> Decimal:
    return (op.realized_pnl / op.risk_amount).quantize(Decimal("0.01")) if op.risk_amount else Decimal(0)


def _row(report: DemoReport, op: Operation) -> _Row:
    trades = op.position.trades
    return {
        "id": op.id,
        "symbol": op.symbol,
        "side": op.side.value,
        "entry_price": views.money(op.entry_price),
        "stop_price": views.money(op.stop_price),
        "target_price": views.money(op.target_price),
        "quantity": views.number(op.quantity),
        "exit_price": views.money(trades[-1].exit_price) if trades else None,
        "reason": op.close_reason.value if op.close_reason else op.status.value,
        "realized_pnl": views.money(op.realized_pnl),
        "r_multiple": views.number(_r_multiple(op)),
        "risk_amount": views.money(op.risk_amount),
        "loss_percent_of_capital": views.number(report.loss_percent(op).quantize(Decimal("0.0001"))),
    }


def _summary_view(report: DemoReport) -> dict[str, object]:
    worst = max((report.loss_percent(op) for op in report.operations), default=Decimal(0))
    return {
        "sources": report.sources,
        "bars_pushed": report.bars_pushed,
        "capital_start": views.money(report.capital_start),
        "capital_end": views.money(report.capital_end),
        "worst_loss_percent_of_capital": views.number(worst.quantize(Decimal("0.0001"))),
        "operations": [_row(report, op) for op in report.operations],
        "refusals": report.refusals,
        "overrides": report.overrides,
        "over_budget": [op.id for op in report.over_budget],
        "within_budget": not report.over_budget,
    }


COLUMNS = [
    Column("id", 0, "right"),
    Column("symbol", 0),
    Column("side", 3),
    Column("entry", 2, "right"),
    Column("stop", 2, "right"),
    Column("target", 3, "right"),
    Column("qty", 4, "right"),
    Column("exit", 2, "right"),
    Column("reason", 0),
    Column("P&L", 0, "right"),
    Column("R", 1, "right"),
    Column("budget", 1, "right"),
    Column("loss % cap", 1, "right"),
]


def _summary(report: DemoReport) -> None:
    for symbol, source in report.sources.items():
        render.say(f"{symbol}: {source}")
    rows: list[list[str | render.Text]] = []
    for op in report.operations:
        row = _row(report, op)
        rows.append(
            [
                str(row["id"]),
                row["symbol"],
                row["side"],
                render.human("entry_price", row["entry_price"], op.symbol),
                render.human("stop_price", row["stop_price"], op.symbol),
                render.human("target_price", row["target_price"], op.symbol),
                render.human("quantity", row["quantity"], op.symbol),
                render.human("exit_price", row["exit_price"], op.symbol),
                row["reason"],
                render.pnl(op.realized_pnl),
                f"{_r_multiple(op):.2f}",
                render.cents(op.risk_amount),
                f"{report.loss_percent(op):.4f}%",
            ]
        )
    fitted(render.console, "Robson demo: every operation and its exit", COLUMNS, rows)
    worst = max((report.loss_percent(op) for op in report.operations), default=Decimal(0))
    change = report.capital_end - report.capital_start
    render.say(
        f"bars pushed: {report.bars_pushed}   capital {report.capital_start:.2f} -> {report.capital_end:.2f} "
        f"({change:+.2f})   worst loss: {worst:.4f}% of capital (budget 1%)"
    )
    for refusal in report.refusals:
        render.say(render.styled(f"refused: {refusal}", "yellow"))
    for override in report.overrides:
        render.say(render.styled(f"risk engine halted trading ({override})", "cyan"))
    if report.over_budget:
        return
    verdict = "every operation stayed within its risk budget"
    if report.overrides:
        times = "once" if len(report.overrides) == 1 else f"{len(report.overrides)} times"
        verdict += (
            f"; the risk engine halted trading {times}, and each time the demo resumed it with "
            "`robson resume --override` (as a trader who reviewed the hold would): the override lifted every hold "
            "and re-based the drawdown peak, so operations after it were opened despite the tiers that tripped"
        )
    render.say(render.styled(verdict, "green"))
