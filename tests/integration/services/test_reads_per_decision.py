"""One snapshot per decision (issue 13, item 5): a use case reads the account, and the price of each symbol it
needs, once, and hands that snapshot to everything that decides (the sizing, the gateway's checks, the policy's
mark to market, the market checks and the routing); it commits only where one transaction would not do (an
order's intent before it is sent). Counted against the paper venue and the ledger's engine (tests/reads.py; the
same scenarios print their figures in bench/reads.py).

Before the snapshot (measured on SQLite, the same on PostgreSQL): plan read the balances 5 times (4 with a
position open, and the price 6 times), validate 3, execute 5 with 3 last prices and 3 quotes (51 ledger statements,
8 commits); a close read its price twice (5 commits), the monitor's stop exit committed 3 times."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal as D

import pytest

from robson import bootstrap
from robson.clock import ManualClock
from robson.domain.values import Side
from robson.services import commands, planning, policy
from tests import reads
from tests.conftest import DatabaseTarget


@dataclass(frozen=True)
class Most:
    """The most one use case may ask: balance reads, reads of each symbol's last price and quote, the ledger's SQL
    statements and commits (the figures after the snapshot); and what it must send (place_order, place_oco,
    cancel_order), so that each scenario is known to have done its work."""

    balances: int
    statements: int
    commits: int
    sent: tuple[int, int, int]
    prices_per_symbol: int = 1
    quotes_per_symbol: int = 1


MOST = {  # before the snapshot, as (balances, last prices, quotes, statements, commits), in the comments
    "plan": Most(balances=1, statements=5, commits=2, sent=(0, 0, 0)),  # 5, 0, 0, 10, 2
    "plan (a position open)": Most(balances=1, statements=8, commits=2, sent=(0, 0, 0)),  # 4, 6, 0, 15, 2
    "validate": Most(balances=1, statements=7, commits=2, sent=(0, 0, 0)),  # 3, 1, 0, 21, 2
    "execute (OCO on the venue)": Most(balances=1, statements=29, commits=5, sent=(1, 1, 0)),  # 5, 3, 3, 51, 8
    "execute (internal protection)": Most(balances=1, statements=19, commits=4, sent=(1, 0, 0)),  # 5, 3, 1, 38, 5
    "close": Most(balances=1, statements=24, commits=4, sent=(1, 0, 1)),  # 1, 2, 1, 24, 5
    "internal stop exit": Most(balances=0, statements=15, commits=2, sent=(1, 0, 0)),  # 0, 0, 1, 15, 3
}


@pytest.mark.parametrize("use_case", list(reads.SCENARIOS))
def test_each_decision_reads_the_account_and_each_price_once(
    use_case: str, database_target: DatabaseTarget, clock: ManualClock
) -> None:
    scenario, internal = reads.SCENARIOS[use_case]
    app = reads.robson_on(database_target.url, database_target.schema, clock)(internal)
    try:
        figures = scenario(app)
    finally:
        app.close()
    most = MOST[use_case]
    assert tuple(figures.calls[method] for method in reads.SENT) == most.sent
    assert figures.calls["balances"] <= most.balances
    assert figures.most_per_symbol("last_price") <= most.prices_per_symbol
    assert figures.most_per_symbol("quote") <= most.quotes_per_symbol
    assert figures.sql.statements <= most.statements, figures.sql
    assert figures.sql.commits <= most.commits, figures.sql


def test_the_mark_after_an_execute_measures_what_a_fresh_read_of_the_account_would(app: bootstrap.App) -> None:
    """The mark after the fill takes the decision's snapshot moved by the execution's own fills: the same equity,
    exactly, as asking the venue for the account again."""
    app.market.push_price(reads.SYMBOL, reads.ENTRY)
    planned = planning.plan(app.context, reads.SYMBOL, Side.LONG, reads.ENTRY, reads.STOP)
    assert planned.operation.id is not None
    commands.execute(app.context, planned.operation.id)
    marked = policy.state(app.context)

    again = policy.refresh(app.context).state  # a snapshot of its own: the balances read from the venue

    assert marked.equity == again.equity < D(10000)  # the fee and the slippage paid
    assert marked.peak_equity == again.peak_equity and marked.state is again.state
