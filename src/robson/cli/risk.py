"""The circuit breaker: risk status, pause, resume, and the kill switch."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from robson.cli import render
from robson.cli.errors import NOT_FLAT, fail, guarded
from robson.cli.venue import Builder, ExchangeOption
from robson.credentials import MissingKeys
from robson.monitor.finish import finish_flatten
from robson.ports import ExchangeError
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
        """Halt new exposure now (stops and exits keep working) until robson resume --override. Needs no venue."""
        state = policy.pause(build(offline=True).context, reason)
        _state(state.state.value, [views.hold_view(h) for h in state.holds], json_output)

    @app.command()
    @guarded
    def resume(
        override: Annotated[str, typer.Option(metavar="TEXT", help="Why trading may go on (kept in the record).")],
        json_output: JsonOption = False,
    ) -> None:
        """Lift every hold (pause, kill switch, tiers) with an override reason on the record. Measures the account
        first when the venue answers; goes through without it."""
        try:
            context = build().context
        except MissingKeys:  # no keys here: the resume goes through on the last measured state
            context = build(offline=True).context
        state = policy.resume(context, override)
        _state(state.state.value, [views.hold_view(h) for h in state.holds], json_output)

    @app.command(epilog=f"Exit {NOT_FLAT}: halted, not yet flat (what could not be done is listed).")
    @guarded
    def kill(
        reason: Annotated[str, typer.Option(metavar="TEXT", help="Why (kept in the record).")] = "",
        exchange: ExchangeOption = None,
        json_output: JsonOption = False,
    ) -> None:
        """Kill switch: halt (on record first, whatever the venue says), then cancel every open order and close
        every position at market (KILL_SWITCH). Exit 0 when flat; exit 4 when halted but not yet flat: each thing
        not done is listed, and robson run goes on flattening until flat."""
        policy.halt_for_kill(build(exchange, offline=True).context, reason)  # before any venue is built or asked
        try:
            context = build(exchange).context
            flattened = trading.kill(context, reason)
            flattened = finish_flatten(context, flattened, f"kill switch: {reason}".rstrip(": "), context.sleep)
        except (MissingKeys, ExchangeError) as error:  # no venue to flatten on: the halt stands
            flattened = trading.Flattened(undone=[f"nothing was cancelled or closed: {error}"])
        rows = [
            {
                "id": o.operation.id,
                "status": o.operation.status.value,
                "close_reason": o.operation.close_reason.value if o.operation.close_reason else None,
                "changes": o.changes,
                "warnings": o.warnings,
            }
            for o in flattened.outcomes
        ]
        if json_output:
            render.emit_json(
                {"state": "HALTED", "flat": flattened.flat, "operations": rows, "undone": flattened.undone}
            )
        else:
            for row, outcome in zip(rows, flattened.outcomes, strict=True):
                render.console.print(f"operation {row['id']}: {row['status']} {row['close_reason'] or ''}")
                render.notes(outcome.changes, outcome.warnings)
            done = "flat" if flattened.flat else "not yet flat"
            render.say(
                "Trading state: ",
                render.styled("HALTED", "bold red"),
                f" ({render.plural(len(rows), 'operation')} taken out; {done})",
            )
        if not flattened.flat:
            for line in flattened.undone:
                print(f"not done: {line}", file=sys.stderr)
            raise fail("halted, not yet flat: robson run goes on flattening until flat", NOT_FLAT)


def _state(state: str, holds: list[dict[str, object]], json_output: bool) -> None:
    if json_output:
        render.emit_json({"state": state, "holds": holds})
        return
    render.trading_state(state)
    for hold in holds:
        render.console.print(f"  {hold['code']}: {hold['reason']} (lifts {hold['lifts']})")
