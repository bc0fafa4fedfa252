"""The execution log: every attempt to execute an order, and per-symbol statistics of slippage, latency, fees."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer
from rich.table import Table

from robson.cli import render
from robson.cli.errors import guarded
from robson.cli.venue import Builder, ExchangeOption
from robson.ports import ExecutionRecord
from robson.services import execution
from robson.services import reconcile as reconciliation

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output; decimals as strings.")]
SymbolOption = Annotated[str | None, typer.Option(metavar="SYMBOL", help="Only this symbol, e.g. BTC/USDT.")]


def _row(record: ExecutionRecord) -> dict[str, object]:
    row: dict[str, object] = {field.name: getattr(record, field.name) for field in dataclasses.fields(record)}
    row["side"], row["type"] = record.side.value, record.type.value
    row["at"] = record.at.isoformat()
    row["fill_percent"] = record.fill_percent
    return {
        key: (str(value) if value is not None and not isinstance(value, int | str) else value)
        for key, value in row.items()
    }


def register(app: typer.Typer, build: Builder) -> None:
    execution_app = typer.Typer(help="The execution log: slippage, fees, latency, retries.", no_args_is_help=True)
    app.add_typer(execution_app, name="execution")

    @execution_app.command("log")
    @guarded
    def log(
        symbol: SymbolOption = None,
        limit: Annotated[int, typer.Option(metavar="N", help="The newest N attempts.")] = 50,
        json_output: JsonOption = False,
    ) -> None:
        """Each attempt to execute an order: requested vs executed price, slippage, fill, fees, latency, retries."""
        records = execution.history(build().context, symbol, limit)
        if json_output:
            render.emit_json([_row(r) for r in records])
            return
        table = Table(title="Execution log", title_justify="left")
        for column in ("at", "order", "symbol", "side", "type", "requested", "executed", "slip bps", "fill %",
                       "fees", "ms", "retries", "status", "error"):  # fmt: skip
            table.add_column(column)
        for r in records:
            table.add_row(
                r.at.isoformat()[:19], r.client_order_id, r.symbol, r.side.value, r.type.value,
                str(r.requested_price or "-"), str(r.executed_price or "-"), str(r.slippage_bps or "-"),
                f"{r.fill_percent:.1f}", render.cents(r.fees), f"{r.latency_ms:.1f}", str(r.retries), r.status,
                r.error or "",
            )  # fmt: skip
        render.console.print(table)

    @app.command()
    @guarded
    def reconcile(exchange: ExchangeOption = None, json_output: JsonOption = False) -> None:
        """Compare the ledger with the venue: repair what is safe (fills while away, finished, vanished or never
        sent orders), flag the rest for you. Exit 4 when something needs your attention."""
        result = reconciliation.reconcile(build(exchange).context)
        if json_output:
            render.emit_json([dataclasses.asdict(d) for d in result.differences])
        elif not result.differences:
            render.console.print("the ledger and the venue agree")
        for difference in [] if json_output else result.differences:
            style = "yellow" if difference.kind == "FLAGGED" else "green"
            render.say(render.styled(difference.kind, style), f" {difference.subject}: {difference.detail}")
        if result.flagged:
            raise typer.Exit(4)

    @execution_app.command("stats")
    @guarded
    def stats(symbol: SymbolOption = None, json_output: JsonOption = False) -> None:
        """Per symbol: average and p95 slippage and latency, fees paid, retries and errors."""
        rows = execution.stats(execution.history(build().context, symbol))
        if json_output:
            render.emit_json(
                [{k: str(v) if v is not None else None for k, v in dataclasses.asdict(s).items()} for s in rows]
            )
            return
        table = Table(title="Execution statistics", title_justify="left")
        for column in ("symbol", "executions", "filled", "avg slip bps", "p95 slip bps", "avg ms", "p95 ms",
                       "fees", "retries", "errors"):  # fmt: skip
            table.add_column(column)
        for s in rows:
            table.add_row(
                s.symbol, str(s.executions), str(s.filled), str(s.average_slippage_bps or "-"),
                str(s.p95_slippage_bps or "-"), str(s.average_latency_ms), str(s.p95_latency_ms),
                render.cents(s.fees), str(s.retries), str(s.errors),
            )  # fmt: skip
        render.console.print(table)
