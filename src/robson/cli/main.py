"""`robson`: plan, size, validate, execute and follow trading operations."""

from __future__ import annotations

from decimal import Decimal
from importlib.metadata import version as package_version
from typing import Annotated

import typer

from robson import bootstrap
from robson.cli import demo, execution, help_labels, monitor, numbers, paper, parse, render, risk
from robson.cli.errors import REFUSED, OneLineErrors, fail, guarded
from robson.cli.venue import ExchangeOption, settings_for
from robson.config import Settings
from robson.domain.errors import InvalidValue
from robson.domain.operation import OperationStatus
from robson.domain.values import Side
from robson.monitor.finish import finish
from robson.ports import AuditRecord
from robson.services import audit, commands, following, planning, trading, tranches, views
from robson.services import portfolio as portfolio_service
from robson.services.sizing import METHODS, Costs, LotRules, SizingParams, size
from robson.services.working import Outcome

help_labels.install()
app = typer.Typer(
    cls=OneLineErrors,
    name="robson",
    help="You decide WHEN to trade; Robson decides HOW MUCH and protects the capital.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output; decimals as strings.")]


class _State:
    database_url: str | None = None
    create: bool = False


STATE = _State()


def _version(value: bool) -> None:
    if value:
        print(f"robson {package_version('robson')}")
        raise typer.Exit(0)


@app.callback()
@guarded
def main(
    db: Annotated[
        str | None,
        typer.Option("--db", metavar="FILE|URL", help="Database URL or SQLite file (default: the data dir)."),
    ] = None,
    create: Annotated[
        bool, typer.Option("--create", help="Start a new, empty ledger if there is none where --db points.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    STATE.database_url = parse.database_url(db)
    STATE.create = create


def _app(exchange: str | None = None, *, offline: bool = False, create: bool = False) -> bootstrap.App:
    """Only init-like commands (paper reset, demo) and --create start a new ledger; the others say where they
    looked. `offline`: no live venue (what must work while it is unreachable)."""
    return _rounded(
        bootstrap.build(
            STATE.database_url,
            actor="cli",
            settings=settings_for(exchange),
            offline=offline,
            create=create or STATE.create,
        )
    )


def _ledger() -> bootstrap.App:
    """For the commands that only read the ledger (operations, show, audit): no live venue is built, so no keys
    are needed."""
    return _rounded(bootstrap.build(STATE.database_url, actor="cli", offline=True, create=STATE.create))


def _rounded(robson: bootstrap.App) -> bootstrap.App:
    """The human output rounds prices and quantities to the configured instruments' tick and step."""
    numbers.use_instruments(robson.settings.paper.all_instruments())
    return robson


@app.command("size")
@guarded
def size_command(
    capital: Annotated[str, typer.Option(metavar="AMOUNT", help="Capital to size from.")],
    entry: Annotated[str, typer.Option(metavar="PRICE", help="Entry price.")],
    stop: Annotated[str | None, typer.Option(metavar="PRICE", help="Stop price (optional with --method atr).")] = None,
    risk: Annotated[str, typer.Option(metavar="PERCENT", help="Risk per trade, % of capital.")] = "1",
    method: Annotated[str, typer.Option(metavar="METHOD", help=f"One of: {', '.join(METHODS)}.")] = "fixed_risk",
    step: Annotated[str, typer.Option(metavar="QTY", help="Lot step; the quantity rounds down onto it.")] = "0",
    tick: Annotated[str, typer.Option(metavar="PRICE", help="Price tick.")] = "0",
    min_qty: Annotated[str, typer.Option(metavar="QTY", help="Exchange minimum quantity.")] = "0",
    min_notional: Annotated[str, typer.Option(metavar="AMOUNT", help="Exchange minimum notional.")] = "0",
    fees: Annotated[
        str,
        typer.Option(
            metavar="none|taker|RATE", help="none | taker (the paper venue's) | a rate per side, 0.001 = 0.1%."
        ),
    ] = "taker",
    slippage_bps: Annotated[
        str, typer.Option(metavar="BPS", help="Slippage allowance per fill, in basis points.")
    ] = "0",
    max_position: Annotated[str, typer.Option(metavar="PERCENT", help="Max position, % of capital.")] = "50",
    side: Annotated[
        str | None, typer.Option(metavar="long|short", help="long | short (needed with --method atr and no stop).")
    ] = None,
    fraction: Annotated[
        str | None, typer.Option(metavar="PERCENT", help="fixed_fractional: % of capital in the position.")
    ] = None,
    amount: Annotated[
        str | None, typer.Option(metavar="AMOUNT", help="fixed_amount: quote amount in the position.")
    ] = None,
    win_rate: Annotated[
        str | None, typer.Option(metavar="PROBABILITY", help="kelly: probability of a win, 0..1.")
    ] = None,
    payoff: Annotated[str | None, typer.Option(metavar="RATIO", help="kelly: average win / average loss.")] = None,
    kelly_multiplier: Annotated[str, typer.Option(metavar="FRACTION", help="kelly: fraction of full Kelly.")] = "0.5",
    atr: Annotated[str | None, typer.Option(metavar="PRICE", help="atr: average true range.")] = None,
    atr_multiplier: Annotated[str, typer.Option(metavar="MULTIPLE", help="atr: stop distance in ATRs.")] = "2",
    asset_vol: Annotated[
        str | None, typer.Option(metavar="PERCENT", help="target_volatility: the asset's volatility, %.")
    ] = None,
    target_vol: Annotated[
        str | None, typer.Option(metavar="PERCENT", help="target_volatility: the position's target, % of capital.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Size a position (pure calculation; nothing is stored)."""
    opt = parse.optional_amount
    params = SizingParams(
        method=method,
        fraction_percent=opt(fraction, "--fraction"),
        amount=opt(amount, "--amount"),
        win_probability=opt(win_rate, "--win-rate"),
        payoff_ratio=opt(payoff, "--payoff"),
        kelly_multiplier=parse.amount(kelly_multiplier, "--kelly-multiplier"),
        atr=opt(atr, "--atr"),
        atr_multiplier=parse.amount(atr_multiplier, "--atr-multiplier"),
        asset_volatility_percent=opt(asset_vol, "--asset-vol"),
        target_volatility_percent=opt(target_vol, "--target-vol"),
    )
    taker = Settings().paper.taker_fee if fees.strip().lower() == "taker" else Decimal(0)
    costs = Costs(parse.fee_rate(fees, taker), parse.zero_or_more(slippage_bps, "--slippage-bps") / 10000)
    lot = LotRules(
        parse.zero_or_more(step, "--step"),
        parse.zero_or_more(tick, "--tick"),
        parse.zero_or_more(min_qty, "--min-qty"),
        parse.zero_or_more(min_notional, "--min-notional"),
    )
    result = size(
        parse.amount(capital, "--capital"),
        parse.amount(entry, "--entry"),
        opt(stop, "--stop"),
        params,
        side=Side.parse(side) if side else None,
        risk_percent=parse.amount(risk, "--risk"),
        max_position_percent=parse.amount(max_position, "--max-position"),
        costs=costs,
        lot=lot,
    )
    view = views.sizing_view(result)
    render.emit_json(view) if json_output else render.sizing(view)


@app.command()
@guarded
def plan(
    symbol: Annotated[str, typer.Argument(metavar="SYMBOL", help="e.g. BTC/USDT")],
    side: Annotated[str, typer.Option(metavar="long|short", help="long | short")],
    entry: Annotated[str, typer.Option(metavar="PRICE", help="Planned entry price.")],
    stop: Annotated[
        str | None, typer.Option(metavar="PRICE", help="Technical stop (default: the strategy's stop %).")
    ] = None,
    target: Annotated[str | None, typer.Option(metavar="PRICE", help="Target price.")] = None,
    rr: Annotated[
        str | None, typer.Option("--rr", metavar="MULTIPLE", help="Target as a reward:risk multiple instead.")
    ] = None,
    strategy: Annotated[str, typer.Option(metavar="NAME", help="Strategy whose risk limits apply.")] = "default",
    add_to: Annotated[
        str | None, typer.Option("--add-to", metavar="ID", help="Plan a further tranche of this ACTIVE operation.")
    ] = None,
    quantity: Annotated[
        str | None, typer.Option(metavar="QTY", help="--add-to: the tranche's quantity (default: the first tranche's).")
    ] = None,
    confidence: Annotated[
        str | None,
        typer.Option(metavar="PROBABILITY", help="Set when an automated signal proposes it: its confidence, 0..1."),
    ] = None,
    exchange: ExchangeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Store a PLANNED operation (or, with --add-to, a tranche) once every risk rule passes; print its sizing."""
    opt = parse.optional_amount
    robson = _app(exchange)
    signal = parse.fraction(confidence, "--confidence") if confidence is not None else None
    if add_to is not None:
        if stop or target or rr:
            raise InvalidValue("--add-to re-bases the whole position's stop itself: leave out --stop, --target, --rr")
        added = tranches.plan_add(
            robson.context,
            parse.identifier(add_to),
            parse.amount(entry, "--entry"),
            opt(quantity, "--quantity"),
            symbol=symbol,
            side=Side.parse(side),
            confidence=signal,
        )
        add_view = views.operation_view(added.operation, detail=True)
        if json_output:
            render.emit_json({**add_view, "decision": views.decision_view(added.decision)})
            return
        render.operation(add_view)
        render.notes([], list(added.decision.warnings))
        return
    if quantity is not None:
        raise InvalidValue("--quantity is for --add-to; Robson sizes a new operation from the risk budget")
    planned = planning.plan(
        robson.context,
        symbol,
        Side.parse(side),
        parse.amount(entry, "--entry"),
        opt(stop, "--stop"),
        opt(target, "--target"),
        opt(rr, "--rr"),
        strategy,
        confidence=signal,
    )
    view = views.operation_view(planned.operation)
    if json_output:
        render.emit_json(
            {**view, "sizing": views.sizing_view(planned.sizing), "decision": views.decision_view(planned.decision)}
        )
        return
    render.operations([view], title="Planned")
    render.sizing(views.sizing_view(planned.sizing))
    render.notes([], list(planned.decision.warnings))


@app.command()
@guarded
def validate(
    operation_id: Annotated[str, typer.Argument(metavar="ID")],
    exchange: ExchangeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Run the pre-trade checks (of the plan, or of a planned tranche); exit 3 if any fails."""
    operation, decision = commands.validate(_app(exchange).context, parse.identifier(operation_id))
    view = views.decision_view(decision)
    render.emit_json({"id": operation.id, **view}) if json_output else render.decision(view, operation.id or 0)
    if not decision.approved:
        raise fail(f"refused: {decision.summary()}", REFUSED)


def _outcome(outcome: Outcome, json_output: bool, title: str, protection: bool = False) -> None:
    view = views.operation_view(outcome.operation, detail=True)
    guard = views.protection_view(outcome.operation) if protection else None
    if json_output:
        extra = {"protection": guard} if guard is not None else {}
        render.emit_json({**view, **extra, "changes": outcome.changes, "warnings": outcome.warnings})
        return
    render.operations([view], title=title)
    render.notes(outcome.changes, outcome.warnings)
    if guard is not None and outcome.operation.status is OperationStatus.ACTIVE:
        render.protection(guard, outcome.operation.symbol)


@app.command()
@guarded
def execute(
    operation_id: Annotated[str, typer.Argument(metavar="ID")],
    exchange: ExchangeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Place the entry (or the planned tranche) and its protective stop and target on the exchange. An entry that
    does not fill at once is followed until it fills or its time is up (fill_timeout_seconds): the rest is then
    cancelled, and the position and its protection are what filled."""
    context = _app(exchange).context
    outcome = finish(context, commands.execute(context, parse.identifier(operation_id)), context.sleep)
    _outcome(outcome, json_output, "Executed", protection=True)


@app.command()
@guarded
def adopt(
    symbol: Annotated[str, typer.Argument(metavar="SYMBOL", help="e.g. BTC/USDT")],
    qty: Annotated[str, typer.Option(metavar="QTY", help="Quantity held.")],
    entry: Annotated[str, typer.Option(metavar="PRICE", help="Price it was bought at.")],
    side: Annotated[str, typer.Option(metavar="long|short", help="long | short")] = "long",
    stop: Annotated[str | None, typer.Option(metavar="PRICE", help="Stop price (default from --stop-percent).")] = None,
    target: Annotated[
        str | None, typer.Option(metavar="PRICE", help="Target price (default from --target-percent).")
    ] = None,
    stop_percent: Annotated[
        str | None, typer.Option(metavar="PERCENT", help="Stop distance, % (default: the strategy's).")
    ] = None,
    target_percent: Annotated[
        str | None, typer.Option(metavar="PERCENT", help="Target distance, % (default: the strategy's).")
    ] = None,
    strategy: Annotated[str, typer.Option(metavar="NAME", help="Strategy whose risk limits apply.")] = "default",
    exchange: ExchangeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create an ACTIVE operation for a position already held."""
    opt = parse.optional_amount
    outcome = following.adopt(
        _app(exchange).context,
        symbol,
        parse.amount(qty, "--qty"),
        parse.amount(entry, "--entry"),
        side=Side.parse(side),
        stop=opt(stop, "--stop"),
        target=opt(target, "--target"),
        stop_percent=opt(stop_percent, "--stop-percent"),
        target_percent=opt(target_percent, "--target-percent"),
        strategy=strategy,
    )
    _outcome(outcome, json_output, "Adopted", protection=True)


@app.command()
@guarded
def operations(
    status: Annotated[
        str | None, typer.Option(metavar="STATUS", help="PLANNED, ACTIVE, CLOSED, CANCELLED or REJECTED.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """List operations."""
    statuses: tuple[OperationStatus, ...] = ()
    if status is not None:
        try:
            statuses = (OperationStatus(status.strip().upper()),)
        except ValueError:
            raise InvalidValue(f"unknown status {status!r}") from None
    listed = [views.operation_view(op) for op in planning.operations(_ledger().context, statuses)]
    render.emit_json(listed) if json_output else render.operations(listed)


@app.command()
@guarded
def show(operation_id: Annotated[str, typer.Argument(metavar="ID")], json_output: JsonOption = False) -> None:
    """One operation with its orders, tranches and trades."""
    view = views.operation_view(planning.load(_ledger().context, parse.identifier(operation_id)), detail=True)
    render.emit_json(view) if json_output else render.operation(view)


@app.command()
@guarded
def close(
    operation_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option(metavar="TEXT", help="Why you close it (kept in the record).")],
    exchange: ExchangeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Cancel a PLANNED operation or exit an ACTIVE one: a marketable limit 0.1% through the price, and what it has
    not filled after close_fallback_seconds at market (close reason MANUAL)."""
    context = _app(exchange).context
    outcome = finish(context, trading.close(context, parse.identifier(operation_id), reason), context.sleep)
    _outcome(outcome, json_output, "Closed")


@app.command()
@guarded
def portfolio(exchange: ExchangeOption = None, json_output: JsonOption = False) -> None:
    """Capital, available cash, positions, unrealized and today's realized P&L."""
    context = _app(exchange).context
    view = views.portfolio_view(portfolio_service.portfolio(context, context.quote))
    render.emit_json(view) if json_output else render.portfolio(view)


@app.command()
@guarded
def sync(exchange: ExchangeOption = None, json_output: JsonOption = False) -> None:
    """Ask the venue about every working order and apply fills, exits and cancels."""
    outcomes = following.sync(_app(exchange).context)
    if json_output:
        render.emit_json([{"id": o.operation.id, "changes": o.changes, "warnings": o.warnings} for o in outcomes])
        return
    changed = [o for o in outcomes if o.changes or o.warnings]
    if not changed:
        render.say("nothing changed: the ledger already matches what the venue reports")
    for outcome in changed:
        render.say(f"operation {outcome.operation.id}: {outcome.operation.status}")
        render.notes(outcome.changes, outcome.warnings)


@app.command("audit")
@guarded
def audit_command(
    operation_id: Annotated[str | None, typer.Argument(metavar="[ID]")] = None, json_output: JsonOption = False
) -> None:
    """The audit trail: every state change and order event, oldest first."""
    context = _ledger().context
    records = audit.history(context, None, None)
    if operation_id is not None:
        wanted = str(planning.load(context, parse.identifier(operation_id)).id)  # an unknown id: exit 2
        records = [r for r in records if r.entity_id == wanted or r.entity_id.startswith(f"rb{wanted}-")]
    rows = [
        {
            "id": r.id,
            "at": r.at.isoformat(),
            "actor": r.actor,
            "action": r.action,
            "entity": r.entity,
            "entity_id": r.entity_id,
            "before": r.before,
            "after": r.after,
        }
        for r in records
    ]
    if json_output:
        render.emit_json(rows)
        return
    render.audit_trail(
        [
            [str(r.id), r.at.isoformat()[:19], r.actor, r.action, f"{r.entity} {r.entity_id}", _changes(r)]
            for r in records
        ]
    )


def _changes(record: AuditRecord) -> str:
    return "; ".join(audit.changes(record.before, record.after))


paper.register(app, _app)
risk.register(app, _app)
monitor.register(app, _app)
execution.register(app, _app)
demo.register(app)


def run() -> None:
    app()
