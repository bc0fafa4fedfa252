"""Rich rendering of views, and the --json output (keys are the domain's names, decimals are strings)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

# Piped output (CI logs, `| less`) gets a wide page instead of Rich's 80 columns.
console = Console(width=None if sys.stdout.isatty() else 160)

STATUS_STYLE = {"PLANNED": "cyan", "ACTIVE": "yellow", "CLOSED": "green", "CANCELLED": "dim", "REJECTED": "red"}


def fail_line(message: str) -> int:
    """One line on stderr for a command that did not fully succeed; returns the exit code 1."""
    print(f"error: {message}", file=sys.stderr)
    return 1


def emit_json(payload: object) -> None:
    print(json.dumps(payload, indent=2, default=str))


def cents(value: object) -> str:
    """Money for a table cell, to the cent (the --json output keeps every digit)."""
    if value is None:
        return "-"
    return f"{Decimal(str(value)).quantize(Decimal('0.01'))}"


def _pnl(value: object) -> str:
    text = cents(value)
    if text.startswith("-") and text != "-":
        return f"[red]{text}[/red]"
    return f"[green]{text}[/green]" if text not in ("-", "0.00") else text


def key_values(title: str, rows: Iterable[tuple[str, object]]) -> None:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(key, "-" if value is None else str(value))
    console.print(table)


def sizing(view: dict[str, object]) -> None:
    rows = [(k.replace("_", " "), v) for k, v in view.items()]
    key_values("Position size", rows)


def operations(views: list[dict[str, object]], title: str = "Operations") -> None:
    table = Table(title=title, title_justify="left")
    for column in ("id", "symbol", "side", "status", "entry", "stop", "target", "qty", "risk", "P&L", "close reason"):
        table.add_column(column, justify="right" if column in ("id", "entry", "stop", "target", "qty") else "left")
    for v in views:
        status = str(v["status"])
        table.add_row(
            str(v["id"]),
            str(v["symbol"]),
            str(v["side"]),
            f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]",
            str(v["entry_price"]),
            str(v["stop_price"]),
            str(v["target_price"] or "-"),
            str(v["quantity"]),
            str(v["risk_amount"]),
            _pnl(v["realized_pnl"]),
            str(v["close_reason"] or "-"),
        )
    console.print(table)


def operation(view: dict[str, object]) -> None:
    skip = {"orders", "tranches", "trades"}
    key_values(f"Operation {view['id']}", [(k, v) for k, v in view.items() if k not in skip])
    for name in ("orders", "tranches", "trades"):
        items = view.get(name)
        if not isinstance(items, list) or not items:
            continue
        table = Table(title=name.title(), title_justify="left")
        columns = list(items[0].keys())
        for column in columns:
            table.add_column(column.replace("_", " "))
        for item in items:
            table.add_row(*("-" if item[c] is None else str(item[c]) for c in columns))
        console.print(table)


def decision(view: dict[str, object], operation_id: int) -> None:
    table = Table(title=f"Checks for operation {operation_id}", title_justify="left")
    for column in ("check", "result", "limit", "measured", "reason"):
        table.add_column(column)
    checks = view["checks"]
    assert isinstance(checks, list)
    for check in checks:
        mark = "[green]pass[/green]" if check["passed"] else "[red]FAIL[/red]"
        star = "*" if check.get("at_execution") else ""
        table.add_row(check["code"] + star, mark, check["limit"], check["measured"], check["reason"])
    console.print(table)
    if any(check.get("at_execution") for check in checks):
        console.print("* depends on the market: measured at its price now, judged again at execution")
    verdict = "[green]approved[/green]" if view["approved"] else "[red]refused[/red]"
    console.print(f"Operation {operation_id}: {verdict}")
    for warning in view.get("warnings") or []:  # type: ignore[attr-defined]
        console.print(f"  [yellow]! {warning}[/yellow]")


STATE_STYLE = {"ACTIVE": "green", "REDUCING": "yellow", "HALTED": "bold red"}


def risk_status(view: dict[str, Any]) -> None:
    state = view["state"]
    console.print(f"Trading state: [{STATE_STYLE.get(state, '')}]{state}[/]")
    for hold in view["holds"]:
        console.print(
            f"  [red]{hold['code']}[/red]: {hold['reason']} (since {hold['since'][:19]}, lifts {hold['lifts']})"
        )
    quote = view["quote"]
    console.print(
        f"Equity {view['equity']} {quote}, peak {view['peak_equity']}, drawdown {view['drawdown_percent']}%; "
        f"risk per trade {view['risk_per_trade_percent']}%"
    )
    table = Table(title="Tiers", title_justify="left")
    for column in ("tier", "measured", "limit", "state", "lifts"):
        table.add_column(column)
    for tier in view["tiers"]:
        unit = "%" if tier["unit"] == "%" else f" {tier['unit']}"
        limit = f"{tier['limit']}{unit}" if tier["limit"] is not None else "off"
        mark = "[red]TRIPPED[/red]" if tier["tripped"] else "[green]ok[/green]"
        table.add_row(tier["code"], f"{tier['measured']}{unit}", limit, mark, tier["lifts"])
    console.print(table)
    usage = Table(title="Portfolio", title_justify="left")
    for column in ("measure", "value", "limit"):
        usage.add_column(column)
    usage.add_row(
        "heat (risk to the stops)",
        f"{view['heat']} {quote} = {view['heat_percent']}%",
        f"{view['heat_limit_percent']}%",
    )
    usage.add_row(
        "exposure", f"{view['exposure']} {quote} = {view['exposure_percent']}%", f"{view['exposure_limit_percent']}%"
    )
    usage.add_row("active operations", str(view["active_operations"]), str(view["max_operations"]))
    usage.add_row("trades today (UTC)", str(view["trades_today"]), str(view["max_trades_per_day"]))
    usage.add_row("loss streak", str(view["loss_streak"]), "")
    pnl = view["pnl"]
    usage.add_row(
        "P&L realized day / week / month",
        f"{pnl['realized_day']} / {pnl['realized_week']} / {pnl['realized_month']}",
        "",
    )
    usage.add_row("P&L unrealized", str(pnl["unrealized"]), "")
    console.print(usage)


def notes(changes: list[str], warnings: list[str]) -> None:
    for change in changes:
        console.print(f"  • {change}")
    for warning in warnings:
        console.print(f"  [yellow]! {warning}[/yellow]")


def portfolio(view: dict[str, object]) -> None:
    quote = view["quote"]
    key_values(
        "Portfolio",
        [
            (f"capital ({quote})", view["capital"]),
            ("available", view["available"]),
            ("unrealized P&L", view["unrealized_pnl"]),
            ("realized P&L today", view["realized_pnl_today"]),
            ("active operations", view["active_operations"]),
        ],
    )
    positions = view["positions"]
    assert isinstance(positions, list)
    if not positions:
        return
    table = Table(title="Positions", title_justify="left")
    for column in ("id", "symbol", "side", "qty", "avg entry", "last", "stop", "target", "unrealized", "protected"):
        table.add_column(column)
    for p in positions:
        table.add_row(
            str(p["id"]),
            p["symbol"],
            p["side"],
            p["position_quantity"],
            p["average_entry_price"],
            str(p["last_price"] or "-"),
            p["stop_price"],
            str(p["target_price"]),
            _pnl(p["unrealized_pnl"]),
            "yes" if p["protected"] else "[red]no[/red]",
        )
    console.print(table)
