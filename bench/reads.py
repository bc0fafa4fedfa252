"""Bench: what one decision asks of the venue and the ledger, per use case (issue 13, item 5: one snapshot per
decision).

Each use case runs on a fresh Robson (a SQLite ledger in a temporary directory, the paper venue in it, a manual
clock; nothing from the network), its paper account funded and BTC/USDT priced at 90,000. Only the use case itself
is counted (tests/reads.py): the venue's calls by method (on Binance a balance read is a signed request of weight
20, a last price or a quote weight 2 each), and the SQL statements and commits the engine ran, by SQLAlchemy's
events: the ledger's apart from the paper venue's own (its account lives in the same database; a live venue has
none of those). Each cell reads `before>now`: before, the figures recorded at a0fea67 (the commit that added the
count, before the snapshot; `git worktree add /tmp/before a0fea67` and run this file with
PYTHONPATH=/tmp/before/src:/tmp/before to measure them again); now, measured in this run.

    .venv/bin/python bench/reads.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: tests.reads

from tests import reads

from robson.clock import ManualClock

COLUMNS = (*reads.ASKED, "sent", "SQL", "commits", "paper SQL", "paper commits")
# use case -> the columns above, before the snapshot (sent: place_order+place_oco+cancel_order)
BEFORE = {
    "plan": (5, 0, 0, 0, 0, "0+0+0", 10, 2, 5, 0),
    "plan (a position open)": (4, 6, 0, 0, 0, "0+0+0", 15, 2, 10, 0),
    "validate": (3, 1, 0, 0, 0, "0+0+0", 21, 2, 4, 0),
    "execute (OCO on the venue)": (5, 3, 3, 0, 0, "1+1+0", 51, 8, 28, 2),
    "execute (internal protection)": (5, 3, 1, 0, 0, "1+0+0", 38, 5, 19, 1),
    "close": (1, 2, 1, 1, 0, "1+0+1", 24, 5, 21, 2),
    "internal stop exit": (0, 0, 1, 0, 0, "1+0+0", 15, 3, 11, 1),
}


def figures(measured: reads.Reads) -> tuple[int | str, ...]:
    calls, sql = measured.calls, measured.sql
    sent = "+".join(str(calls[method]) for method in reads.SENT)
    asked = tuple(calls[method] for method in reads.ASKED)
    return (*asked, sent, sql.statements, sql.commits, sql.venue_statements, sql.venue_commits)


def main() -> None:
    print("per use case, before>now: the venue's calls by method (sent: place_order+place_oco+cancel_order), the")
    print("ledger's SQL statements and commits, and the paper venue's own (in the same SQLite database)")
    widths = [max(len(column), 11 if column == "sent" else 9) for column in COLUMNS]
    print(f"{'use case':<30} " + " ".join(f"{column:>{width}}" for column, width in zip(COLUMNS, widths, strict=True)))
    for name, (scenario, internal) in reads.SCENARIOS.items():
        with tempfile.TemporaryDirectory() as directory:
            build = reads.robson_on(f"sqlite:///{directory}/robson.db", None, ManualClock(reads.START))
            app = build(internal)
            try:
                now = figures(scenario(app))
            finally:
                app.close()
        cells = [f"{before}>{after}" for before, after in zip(BEFORE[name], now, strict=True)]
        print(f"{name:<30} " + " ".join(f"{cell:>{width}}" for cell, width in zip(cells, widths, strict=True)))


if __name__ == "__main__":
    main()
