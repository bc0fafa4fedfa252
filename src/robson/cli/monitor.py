"""The monitor: `robson run` in the foreground until Ctrl-C / SIGTERM, `robson monitor --once` for one pass."""

from __future__ import annotations

import math
import signal
from collections.abc import Callable
from types import FrameType
from typing import Annotated

import typer

from robson.cli import render
from robson.cli.errors import guarded
from robson.cli.venue import Builder, ExchangeOption
from robson.domain.errors import InvalidValue
from robson.monitor.loop import Monitor
from robson.monitor.standby import take_over
from robson.ports import Lease
from robson.services.errors import Refused
from robson.services.working import Outcome


def _print(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        op = outcome.operation
        reason = f" {op.close_reason}" if op.close_reason else ""
        render.console.print(f"operation {op.id}: {op.status}{reason}")
        render.notes(outcome.changes, outcome.warnings)


def _leased(lease: Lease, standby: bool, stop: Callable[[], bool], wait: Callable[[], None]) -> bool:
    """Hold the account's lease: at once, or (--standby) once the robson run holding it ends. Refused otherwise."""
    if lease.acquire():
        return True
    holder = lease.holder()
    who = f" ({holder})" if holder else ""
    if not standby:
        raise Refused(f"another robson run acts for this account{who}; one at a time (--standby waits to take over)")
    render.console.print(f"robson run: standby: another robson run acts for this account{who}; waiting to take over")
    if not take_over(lease, stop, wait):
        return False
    render.console.print("robson run: took over the watch")
    return True


def register(app: typer.Typer, build: Builder) -> None:
    @app.command()
    @guarded
    def run(
        poll: Annotated[float | None, typer.Option(help="Seconds between polls of the feed.")] = None,
        exchange: ExchangeOption = None,
        standby: Annotated[
            bool, typer.Option("--standby", help="If another robson run acts for this account, wait and take over.")
        ] = False,
    ) -> None:
        """Watch every open operation until Ctrl-C or SIGTERM: stops, targets, backstop, policy state. One robson
        run acts for an account at a time: a second one says who does and exits 3, or waits with --standby."""
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
            if not _leased(robson.lease, standby, lambda: bool(stopping), lambda: robson.context.sleep(interval)):
                render.console.print("robson run: stopped while on standby")
                return
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
