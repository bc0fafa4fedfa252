"""Bench: what one decision asks of the venue and the ledger, per use case (issue 13, item 5).

Each use case runs on a fresh Robson (a SQLite ledger in a temporary directory, the paper venue in it, a manual
clock; nothing from the network), its paper account funded and BTC/USDT priced at 90,000. Only the use case itself
is counted: the venue's calls by method (on Binance a balance read is a signed request of weight 20, a last price
or a quote weight 2 each), and the SQL statements and commits the engine ran, by SQLAlchemy's events: the ledger's
apart from the paper venue's own (its account lives in the same database; a live venue has none of those).

    .venv/bin/python bench/reads.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: tests.reads

from tests import reads

from robson.clock import ManualClock

COLUMNS = (*reads.ASKED, "sent")


def _row(name: str, figures: reads.Reads) -> str:
    calls = figures.calls
    asked = [str(calls[method]) for method in reads.ASKED]
    sent = "+".join(str(calls[method]) for method in reads.SENT)
    sql = figures.sql
    return (
        f"{name:<30} {' '.join(f'{n:>11}' for n in asked)} {sent:>7} {sql.statements:>5} {sql.commits:>7} "
        f"{sql.venue_statements:>9} {sql.venue_commits:>13}"
    )


def main() -> None:
    print("venue calls per use case (sent: place_order+place_oco+cancel_order); SQL on SQLite")
    header = " ".join(f"{column:>11}" for column in COLUMNS[:-1])
    print(f"{'use case':<30} {header} {'sent':>7} {'SQL':>5} {'commits':>7} {'paper SQL':>9} {'paper commits':>13}")
    for name, (scenario, internal) in reads.SCENARIOS.items():
        with tempfile.TemporaryDirectory() as directory:
            build = reads.robson_on(f"sqlite:///{directory}/robson.db", None, ManualClock(reads.START))
            app = build(internal)
            try:
                print(_row(name, scenario(app)))
            finally:
                app.close()


if __name__ == "__main__":
    main()
