"""Rich rendering of views, and the --json output (keys are the domain's names, decimals are strings).

Nothing a user or the ledger wrote is ever read as Rich markup (a close reason "[/] typo" prints as typed): the
console has markup off, and styles are applied to Text, never embedded in strings.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from robson.cli.numbers import cents, human
from robson.cli.tables import Column, fitted


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader went away (`| head -1`): stop printing; the command ends quietly (see cli.errors)."""
        self.quiet = True
        raise BrokenPipeError


# Piped output (CI logs, `| less`) gets a wide page instead of Rich's 80 columns, unless COLUMNS says otherwise.
console = _Console(
    width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160,
    markup=False,
    emoji=False,
    highlight=False,
)

STATUS_STYLE = {"PLANNED": "cyan", "ACTIVE": "yellow", "CLOSED": "green", "CANCELLED": "dim", "REJECTED": "red"}
STATE_STYLE = {"ACTIVE": "green", "REDUCING": "yellow", "HALTED": "bold red"}

__all__ = ["Console", "Text", "cents", "console", "human"]


def styled(text: object, style: str = "") -> Text:
    """Text shown exactly as given, in a style."""
    return Text(str(text), style=style)


def say(*parts: str | Text) -> None:
    """One line of parts; plain strings are shown as they are (never as markup)."""
    console.print(Text.assemble(*parts))


def plural(count: int, noun: str) -> str:
    """1 operation, 2 operations."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def fail_line(message: str) -> int:
    """One line on stderr for a command that did not fully succeed; returns the exit code 1."""
    print(f"error: {message}", file=sys.stderr)
    return 1


def emit_json(payload: object) -> None:
    print(json.dumps(payload, indent=2, default=str))


def emit_json_line(payload: object) -> None:
    """One JSON object on one line (the --json output of robson run and monitor), flushed at once."""
    print(json.dumps(payload, default=str), flush=True)


def pnl(value: object) -> Text:
    text = cents(value)
    if text.startswith("-") and text != "-":
        return styled(text, "red")
    return styled(text, "green" if text not in ("-", "0.00") else "")


def key_values(title: str, rows: Iterable[tuple[str, object]]) -> None:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, value in rows:
        table.add_row(key, value if isinstance(value, Text) else styled("-" if value is None else value))
    console.print(table)


def sizing(view: dict[str, object]) -> None:
    key_values("Position size", [(k.replace("_", " "), human(k, v)) for k, v in view.items()])


def status(value: object) -> Text:
    return styled(value, STATUS_STYLE.get(str(value), ""))


OPERATION_COLUMNS = [
    Column("id", 0, "right"),
    Column("symbol", 0),
    Column("side", 1),
    Column("status", 0),
    Column("entry", 2, "right"),
    Column("stop", 2, "right"),
    Column("target", 3, "right"),
    Column("qty", 3, "right"),
    Column("risk", 5, "right"),
    Column("P&L", 4, "right"),
    Column("close reason", 6),
]


def operations(views: list[dict[str, object]], title: str = "Operations") -> None:
    rows: list[list[str | Text]] = []
    for v in views:
        symbol = str(v["symbol"])
        rows.append(
            [
                str(v["id"]),
                symbol,
                str(v["side"]),
                status(v["status"]),
                human("entry_price", v["entry_price"], symbol),
                human("stop_price", v["stop_price"], symbol),
                human("target_price", v["target_price"], symbol),
                human("quantity", v["quantity"], symbol),
                human("risk_amount", v["risk_amount"]),
                pnl(v["realized_pnl"]),
                styled(v["close_reason"] or "-"),
            ]
        )
    fitted(console, title, OPERATION_COLUMNS, rows)


def _cell(key: str, value: object, symbol: str | None) -> str | Text:
    if key == "status":
        return status(value)
    return styled(human(key, value, symbol))


def operation(view: dict[str, object]) -> None:
    skip = {"orders", "tranches", "trades"}
    symbol = str(view.get("symbol"))
    rows: list[tuple[str, str | Text]] = []
    for key, value in view.items():
        if key in skip:
            continue
        if key == "position_status" and value is None:
            rows.append((key, styled("no position")))
        elif key == "pending_add" and isinstance(value, dict):
            rows.append((key, ", ".join(f"{k} {human(k, v, symbol)}" for k, v in value.items())))
        else:
            rows.append((key, _cell(key, value, symbol)))
    key_values(f"Operation {view['id']}", rows)
    for name in ("orders", "tranches", "trades"):
        items = view.get(name)
        if not isinstance(items, list) or not items:
            continue
        keys = list(items[0].keys())
        columns = [Column(k.replace("_", " "), 0 if k in ("client_order_id", "role", "status") else 1) for k in keys]
        cells = [[_cell(k, item[k], symbol) for k in keys] for item in items]
        fitted(console, name.title(), columns, cells)


def decision(view: dict[str, Any], operation_id: int) -> None:
    table = Table(title=f"Checks for operation {operation_id}", title_justify="left")
    for column in ("check", "result", "limit", "measured", "reason"):
        table.add_column(column, no_wrap=column in ("check", "result"))
    checks = view["checks"]
    for check in checks:
        mark = styled("pass", "green") if check["passed"] else styled("FAIL", "red")
        star = "*" if check.get("at_execution") else ""
        table.add_row(check["code"] + star, mark, check["limit"], check["measured"], check["reason"])
    console.print(table)
    if any(check.get("at_execution") for check in checks):
        say("* depends on the market: measured at its price now, judged again at execution")
    verdict = styled("approved", "green") if view["approved"] else styled("refused", "red")
    say(f"Operation {operation_id}: ", verdict)
    notes([], list(view.get("warnings") or []))


def trading_state(state: str) -> None:
    say("Trading state: ", styled(state, STATE_STYLE.get(state, "")))


def risk_status(view: dict[str, Any]) -> None:
    trading_state(view["state"])
    for hold in view["holds"]:
        say(
            "  ",
            styled(hold["code"], "red"),
            f": {hold['reason']} (since {hold['since'][:19]}, lifts {hold['lifts']})",
        )
    quote = view["quote"]
    say(
        f"Equity {cents(view['equity'])} {quote}, peak {cents(view['peak_equity'])}, drawdown "
        f"{view['drawdown_percent']}%; risk per trade {view['risk_per_trade_percent']}%"
    )
    table = Table(title="Tiers", title_justify="left")
    for column in ("tier", "measured", "limit", "state", "lifts"):
        table.add_column(column, no_wrap=column != "lifts")
    for tier in view["tiers"]:
        unit = "%" if tier["unit"] == "%" else f" {tier['unit']}"
        limit = f"{tier['limit']}{unit}" if tier["limit"] is not None else "off"
        mark = styled("TRIPPED", "red") if tier["tripped"] else styled("ok", "green")
        table.add_row(tier["code"], f"{tier['measured']}{unit}", limit, mark, tier["lifts"])
    console.print(table)
    usage = Table(title="Portfolio", title_justify="left")
    for column in ("measure", "value", "limit"):
        usage.add_column(column, no_wrap=column != "measure")
    usage.add_row(
        "heat (risk to the stops)",
        f"{cents(view['heat'])} {quote} = {view['heat_percent']}%",
        f"{view['heat_limit_percent']}%",
    )
    usage.add_row(
        "exposure",
        f"{cents(view['exposure'])} {quote} = {view['exposure_percent']}%",
        f"{view['exposure_limit_percent']}%",
    )
    usage.add_row("active operations", str(view["active_operations"]), str(view["max_operations"]))
    usage.add_row("trades today (UTC)", str(view["trades_today"]), str(view["max_trades_per_day"]))
    usage.add_row("loss streak", str(view["loss_streak"]), "")
    day = view["pnl"]
    usage.add_row(
        "P&L realized day / week / month",
        f"{cents(day['realized_day'])} / {cents(day['realized_week'])} / {cents(day['realized_month'])}",
        "",
    )
    usage.add_row("P&L unrealized", cents(day["unrealized"]), "")
    console.print(usage)


def notes(changes: list[str], warnings: list[str]) -> None:
    for change in changes:
        say(f"  • {change}")
    for warning in warnings:
        say(styled(f"  ! {warning}", "yellow"))


POSITION_COLUMNS = [
    Column("id", 0, "right"),
    Column("symbol", 0),
    Column("side", 2),
    Column("qty", 1, "right"),
    Column("avg entry", 2, "right"),
    Column("last", 1, "right"),
    Column("stop", 1, "right"),
    Column("target", 3, "right"),
    Column("unrealized", 1, "right"),
    Column("protected", 0),
]


def portfolio(view: dict[str, Any]) -> None:
    quote = view["quote"]
    key_values(
        "Portfolio",
        [
            (f"capital ({quote})", cents(view["capital"])),
            ("available", cents(view["available"])),
            ("unrealized P&L", cents(view["unrealized_pnl"])),
            ("realized P&L today", cents(view["realized_pnl_today"])),
            ("active operations", view["active_operations"]),
        ],
    )
    if not view["positions"]:
        return
    rows: list[list[str | Text]] = [
        [
            str(p["id"]),
            p["symbol"],
            p["side"],
            human("position_quantity", p["position_quantity"], p["symbol"]),
            human("average_entry_price", p["average_entry_price"], p["symbol"]),
            human("last_price", p["last_price"], p["symbol"]),
            human("stop_price", p["stop_price"], p["symbol"]),
            human("target_price", p["target_price"], p["symbol"]),
            pnl(p["unrealized_pnl"]),
            styled("yes") if p["protected"] else styled("no", "red"),
        ]
        for p in view["positions"]
    ]
    fitted(console, "Positions", POSITION_COLUMNS, rows)


AUDIT_COLUMNS = [
    Column("id", 0, "right"),
    Column("at", 2),
    Column("actor", 3),
    Column("action", 0),
    Column("entity", 1),
]


def audit_trail(rows: list[list[str]]) -> None:
    """The trail with each record's changes readable ('status PLANNED -> ACTIVE'), wrapped in the last column."""
    table = Table(title="Audit trail", title_justify="left")
    for column in AUDIT_COLUMNS:
        table.add_column(column.header, justify=column.justify, no_wrap=True)
    table.add_column("changes", overflow="fold")
    for row in rows:
        table.add_row(*(styled(cell) for cell in row))
    console.print(table)


def protection(view: dict[str, Any], symbol: str) -> None:
    """After execute or adopt: how the entry filled against the plan, and what protects the position now."""
    average = view["average_entry"]
    if average is not None and view["tranches"] > 1:
        say(
            f"  last tranche filled {human('quantity', view['last_fill_quantity'], symbol)} at "
            f"{human('price', view['last_fill_price'], symbol)}; the position is now "
            f"{human('quantity', view['filled_quantity'], symbol)} at an average "
            f"{human('price', average, symbol)} over {view['tranches']} tranches"
        )
    elif average is not None:
        slip = view["slippage_bps"]
        against = f"; {slip} bps {'worse' if not str(slip).startswith('-') else 'better'} than planned" if slip else ""
        say(
            f"  filled {human('quantity', view['filled_quantity'], symbol)} at {human('price', average, symbol)} "
            f"(planned {human('price', view['planned_entry'], symbol)}{against})"
        )
    stop, target = view["stop_price"], view["target_price"]
    if view["mode"] == "internal":
        say(
            styled(
                f"  protected by robson run (internal mode): stop {human('price', stop, symbol)}, target "
                f"{human('price', target, symbol)}; nothing rests on the venue, so keep robson run going",
                "green",
            )
        )
        return
    legs = []
    for name, order in (("stop", view["stop_order"]), ("target", view["target_order"])):
        if order is not None:
            venue = f", venue id {order['exchange_order_id']}" if order["exchange_order_id"] else ""
            legs.append(f"{name} {human('price', order['price'], symbol)} (order {order['client_order_id']}{venue})")
    if view["stop_order"] is None:
        say(styled(f"  NOT protected: no stop rests on the venue (planned stop {human('price', stop, symbol)})", "red"))
    else:
        say(styled(f"  protected on the venue: {', '.join(legs)}", "green"))
