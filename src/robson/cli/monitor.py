"""The monitor: `robson run` in the foreground until Ctrl-C / SIGTERM, `robson monitor --once` for one pass.

With --json, each outcome and each alert is one JSON object on its own line as it happens (`event`: started,
outcome, alert, stopped), so that another program can follow the monitor."""

from __future__ import annotations

import dataclasses
import math
import signal
from collections.abc import Callable
from types import FrameType
from typing import Annotated

import typer

from robson.bootstrap import App
from robson.cli import render
from robson.cli.errors import guarded
from robson.cli.venue import Builder, ExchangeOption
from robson.domain.errors import InvalidValue
from robson.domain.events import Alert, Event
from robson.monitor.loop import Monitor
from robson.monitor.standby import take_over
from robson.ports import Lease, Notifier
from robson.services.context import Context
from robson.services.errors import Refused
from robson.services.following import IN_FLIGHT_SECONDS
from robson.services.working import Outcome

JsonLinesOption = Annotated[
    bool, typer.Option("--json", help="One JSON object per line: every outcome and alert as it happens.")
]


def _print(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        op = outcome.operation
        reason = f" {op.close_reason}" if op.close_reason else ""
        render.say(f"operation {op.id}: {op.status}{reason}")
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


def _json_lines(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        op = outcome.operation
        render.emit_json_line(
            {
                "event": "outcome",
                "id": op.id,
                "symbol": op.symbol,
                "status": op.status.value,
                "close_reason": op.close_reason.value if op.close_reason else None,
                "changes": outcome.changes,
                "warnings": outcome.warnings,
            }
        )


def _alert_line(event: Event) -> None:
    if isinstance(event, Alert):
        render.emit_json_line(
            {"event": "alert", "level": event.level, "code": event.code, "message": event.message, "at": event.at}
        )


@dataclasses.dataclass(frozen=True, slots=True)
class _AlertLines:
    """Every alert still goes to the usual notifier (when the context has one), and also out as a JSON line."""

    inner: Notifier | None

    def notify(self, alert: Alert) -> None:
        if self.inner is not None:
            self.inner.notify(alert)
        _alert_line(alert)


def _context(robson: App, json_output: bool) -> Context:
    """With --json, every alert is a JSON line too: those committed with a unit of work (the policy's) as the event
    bus delivers them, the monitor's own as it sends them to the notifier."""
    if not json_output:
        return robson.context
    robson.events.subscribe(_alert_line, Alert)
    return dataclasses.replace(robson.context, notifier=_AlertLines(robson.context.notifier))


def register(app: typer.Typer, build: Builder) -> None:
    @app.command()
    @guarded
    def run(
        poll: Annotated[
            float | None, typer.Option(metavar="SECONDS", help="Seconds between polls of the feed.")
        ] = None,
        exchange: ExchangeOption = None,
        standby: Annotated[
            bool, typer.Option("--standby", help="If another robson run acts for this account, wait and take over.")
        ] = False,
        json_output: JsonLinesOption = False,
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
                _context(robson, json_output),
                robson.feed,
                settings.monitor_stale_seconds,
                mark_seconds=settings.monitor_mark_seconds,
                orders=robson.order_stream,  # the venue's pushed order updates, where it has them (Binance)
            )
            if json_output:
                render.emit_json_line({"event": "started", "exchange": settings.exchange, "poll_seconds": interval})
            else:
                render.say(f"robson run: watching {settings.exchange} (poll every {interval} s); Ctrl-C to stop")
            monitor.run(lambda: bool(stopping), interval, report=_json_lines if json_output else _print)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            robson.close()
        watched = len(monitor.index)
        if json_output:
            render.emit_json_line({"event": "stopped", "ticks": monitor.ticks, "watched": watched})
            return
        render.say(
            f"robson run: stopped after {render.plural(monitor.ticks, 'tick')}, "
            f"{render.plural(watched, 'operation')} watched"
        )

    @app.command("monitor")
    @guarded
    def monitor_command(
        once: Annotated[
            bool, typer.Option("--once", help="One pass: recover, evaluate, reconcile, then exit.")
        ] = False,
        exchange: ExchangeOption = None,
        json_output: JsonLinesOption = False,
    ) -> None:
        """One monitor pass (use robson run to keep watching). Beside a live robson run, an order that run
        recorded in the last minute and the venue does not know yet is left to it, not declared never reached."""
        if not once:
            raise InvalidValue("use robson monitor --once for one pass, or robson run to keep watching")
        robson = build(exchange)
        try:
            monitor = Monitor(
                _context(robson, json_output),
                robson.feed,
                robson.settings.monitor_stale_seconds,
                mark_seconds=robson.settings.monitor_mark_seconds,
            )
            alone = robson.lease.acquire()  # a robson run acting meanwhile may be sending an exit this moment
            monitor.owns_queue = alone  # and the paper prices queued are that run's to take
            try:
                outcomes = monitor.recover(0 if alone else IN_FLIGHT_SECONDS)
                outcomes += monitor.poll_once()
            finally:
                if alone:
                    robson.lease.release()
        finally:
            robson.close()
        if json_output:
            _json_lines(outcomes)
            render.emit_json_line({"event": "stopped", "ticks": monitor.ticks, "watched": len(monitor.index)})
            return
        _print(outcomes)
        render.say(f"monitor: {render.plural(len(monitor.index), 'operation')} watched")
