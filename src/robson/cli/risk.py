"""The circuit breaker: risk status, pause, resume, and the kill switch."""

from __future__ import annotations

from typing import Annotated

import typer

from robson.cli import render
from robson.cli.errors import guarded
from robson.cli.venue import Builder, ExchangeOption
from robson.services import policy, trading, views

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output; decimals as strings.")]


def register(app: typer.Typer, build: Builder) -> None:
    risk_app = typer.Typer(help="The risk engine: its state, tiers and limits.", no_args_is_help=True)
    app.add_typer(risk_app, name="risk")

    @risk_app.command("status")
    @guarded
    def status(json_output: JsonOption = False) -> None:
        """Trading state, every tier with its measured value and limit, heat, exposure, trades today."""
        view = views.risk_status_view(policy.status(build().context))
        render.emit_json(view) if json_output else render.risk_status(view)

    @app.command()
    @guarded
    def pause(
        reason: Annotated[str, typer.Option(metavar="TEXT", help="Why (kept in the record).")],
        json_output: JsonOption = False,
    ) -> None:
        """Halt new exposure now (stops and exits keep working) until robson resume --override."""
        state = policy.pause(build().context, reason)
        _state(state.state.value, [views.hold_view(h) for h in state.holds], json_output)

    @app.command()
    @guarded
    def resume(
        override: Annotated[str, typer.Option(metavar="TEXT", help="Why trading may go on (kept in the record).")],
        json_output: JsonOption = False,
    ) -> None:
        """Lift every hold (pause, kill switch, tiers) with an override reason on the record."""
        state = policy.resume(build().context, override)
        _state(state.state.value, [views.hold_view(h) for h in state.holds], json_output)

    @app.command()
    @guarded
    def kill(
        reason: Annotated[str, typer.Option(metavar="TEXT", help="Why (kept in the record).")] = "",
        exchange: ExchangeOption = None,
        json_output: JsonOption = False,
    ) -> None:
        """Kill switch: halt, cancel every open order, close every position at market (KILL_SWITCH)."""
        context = build(exchange).context
        outcomes = trading.kill(context, reason)
        left = [o for o in outcomes if o.operation.status.value == "ACTIVE"]
        rows = [
            {
                "id": o.operation.id,
                "status": o.operation.status.value,
                "close_reason": o.operation.close_reason.value if o.operation.close_reason else None,
                "changes": o.changes,
                "warnings": o.warnings,
            }
            for o in outcomes
        ]
        if json_output:
            render.emit_json({"state": "HALTED", "operations": rows})
        else:
            for row in rows:
                render.console.print(f"operation {row['id']}: {row['status']} {row['close_reason'] or ''}")
                render.notes(list(row["changes"]), list(row["warnings"]))  # type: ignore[call-overload]
            render.say(
                "Trading state: ",
                render.styled("HALTED", "bold red"),
                f" ({render.plural(len(rows), 'operation')} flattened)",
            )
        if left:
            ids = ", ".join(str(o.operation.id) for o in left)
            raise typer.Exit(render.fail_line(f"operations {ids} still hold a position; see the warnings"))


def _state(state: str, holds: list[dict[str, object]], json_output: bool) -> None:
    if json_output:
        render.emit_json({"state": state, "holds": holds})
        return
    render.trading_state(state)
    for hold in holds:
        render.console.print(f"  {hold['code']}: {hold['reason']} (lifts {hold['lifts']})")
