"""The monitor: `robson run` in the foreground until Ctrl-C / SIGTERM, `robson monitor --once` for one pass."""

from __future__ import annotations

import math
import signal
from types import FrameType
from typing import Annotated

import typer

from robson.cli import render
from robson.cli.errors import guarded
from robson.cli.venue import Builder, ExchangeOption
from robson.domain.errors import InvalidValue
from robson.monitor.loop import Monitor
from robson.services.working import Outcome


def _print(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        op = outcome.operation
        reason = f" {op.close_reason}" if op.close_reason else ""
        render.console.print(f"operation {op.id}: {op.status}{reason}")
        render.notes(outcome.changes, outcome.warnings)


def register(app: typer.Typer, build: Builder) -> None:
    @app.command()
    @guarded
    def run(
        poll: Annotated[float | None, typer.Option(help="Seconds between polls of the feed.")] = None,
        exchange: ExchangeOption = None,
    ) -> None:
        """Watch every open operation until Ctrl-C or SIGTERM: stops, targets, backstop, policy state."""
        robson = build(exchange)
        settings = robson.settings
        stopping: list[int] = []

        def stop_on(signum: int, frame: FrameType | None) -> None:
            stopping.append(signum)

        previous = {sig: signal.signal(sig, stop_on) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            interval = poll if poll is not None else float(settings.monitor_poll_seconds)
            if not math.isfinite(interval) or interval <= 0:
                raise InvalidValue(f"--poll must be a number of seconds above zero, got {interval}")
            monitor = Monitor(
                robson.context,
                robson.feed,
                settings.monitor_stale_seconds,
                mark_seconds=settings.monitor_mark_seconds,
            )
            render.console.print(f"robson run: watching {settings.exchange} (poll every {interval} s); Ctrl-C to stop")
            monitor.run(lambda: bool(stopping), interval, report=_print)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            robson.close()
        render.console.print(
            f"robson run: stopped after {monitor.ticks} ticks, {len(monitor.index)} operations watched"
        )

    @app.command("monitor")
    @guarded
    def monitor_command(
        once: Annotated[
            bool, typer.Option("--once", help="One pass: recover, evaluate, reconcile, then exit.")
        ] = False,
        exchange: ExchangeOption = None,
    ) -> None:
        """One monitor pass (use robson run to keep watching)."""
        if not once:
            raise InvalidValue("use robson monitor --once for one pass, or robson run to keep watching")
        robson = build(exchange)
        try:
            monitor = Monitor(
                robson.context,
                robson.feed,
                robson.settings.monitor_stale_seconds,
                mark_seconds=robson.settings.monitor_mark_seconds,
            )
            outcomes = monitor.recover()
            outcomes += monitor.poll_once()
        finally:
            robson.close()
        _print(outcomes)
        render.console.print(f"monitor: {len(monitor.index)} operations watched")
