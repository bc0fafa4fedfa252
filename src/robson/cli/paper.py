"""Paper-mode commands: push a price into the paper venue, start the paper account afresh."""

from __future__ import annotations

from typing import Annotated

import typer

from robson.cli import parse, render
from robson.cli.errors import guarded
from robson.cli.venue import Builder
from robson.services import following, views


def register(app: typer.Typer, build: Builder) -> None:
    paper_app = typer.Typer(help="The paper exchange (paper mode only).", no_args_is_help=True)
    app.add_typer(paper_app, name="paper")

    @app.command(context_settings={"ignore_unknown_options": True})  # `price BTC/USDT -1`: a value, refused
    @guarded
    def price(
        symbol: Annotated[str, typer.Argument(metavar="SYMBOL", help="e.g. BTC/USDT")],
        value: Annotated[str, typer.Argument(metavar="PRICE")],
        json_output: Annotated[
            bool, typer.Option("--json", help="Machine-readable output; decimals as strings.")
        ] = False,
    ) -> None:
        """Paper mode: push a price into the paper exchange (drives fills, stops and targets)."""
        robson = build()
        market = robson.paper_market("robson price")
        fills, outcomes = following.push_price(robson.context, market, symbol, parse.amount(value, "PRICE"))
        if json_output:
            render.emit_json(
                {
                    "symbol": symbol.upper(),
                    "price": views.money(parse.amount(value, "PRICE")),
                    "fills": [
                        {
                            "trade_id": f.trade_id,
                            "client_order_id": f.client_order_id,
                            "side": f.side.value,
                            "price": views.money(f.price),
                            "quantity": views.number(f.quantity),
                            "fee": views.money(f.fee),
                            "fee_asset": f.fee_asset,
                        }
                        for f in fills
                    ],
                    "operations": [views.operation_view(o.operation) | {"changes": o.changes} for o in outcomes],
                }
            )
            return
        render.console.print(f"{symbol.upper()} @ {value}: {len(fills)} fill(s)")
        for outcome in outcomes:
            op = outcome.operation
            reason = f" ({op.close_reason})" if op.close_reason else ""
            render.console.print(f"operation {op.id}: {op.status}{reason}, realized P&L {views.money(op.realized_pnl)}")
            render.notes(outcome.changes, outcome.warnings)

    @paper_app.command()
    @guarded
    def reset(
        balance: Annotated[
            list[str] | None, typer.Option(metavar="ASSET=AMOUNT", help="Repeatable (default USDT=10000).")
        ] = None,
        force: Annotated[bool, typer.Option(help="Reset even while operations are live.")] = False,
        json_output: Annotated[
            bool, typer.Option("--json", help="Machine-readable output; decimals as strings.")
        ] = False,
    ) -> None:
        """Start the paper account afresh: no orders, no fills, no prices, the given balances."""
        balances = parse.balances(balance or ["USDT=10000"])
        robson = build(create=True)
        following.reset_paper(robson.context, robson.paper_market("robson paper reset"), balances, force)
        result = {asset: views.money(amount) for asset, amount in balances.items()}
        if json_output:
            render.emit_json({"balances": result})
        else:
            render.key_values("Paper account reset", list(result.items()))
