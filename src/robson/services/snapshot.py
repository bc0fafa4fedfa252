"""One decision's snapshot: what a use case reads of the venue and the ledger once, at its start, and hands to
everything that decides: the sizing, the risk gateway's pre-trade checks, the policy's mark to market, the market
checks and the routing's reference price.

It holds the account's balances (one read: on Binance a signed request of weight 20), the last price of each symbol
the decision needs (once per symbol: the operation's own, every open operation's, each asset the account holds),
the operations the risk rules measure (one load) and the policy state the decision is judged on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from robson.domain.account import Account
from robson.domain.fills import Fill
from robson.domain.operation import Operation, OperationStatus
from robson.ports import UnitOfWork
from robson.risk import policy_state
from robson.risk.policy_state import PolicyState
from robson.services.context import Context
from robson.services.portfolio import pairs_to_value, values_of


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one decision read, once. `operations` are the unit of work's own objects: what the use case changes
    on them since shows in them (as it would in a second read of the ledger)."""

    account: Account
    prices: Mapping[str, Decimal | None]  # symbol -> its last price (None: the venue has none), each symbol read
    operations: tuple[Operation, ...]  # what the risk rules measure (`measured`)
    policy: PolicyState | None  # the state the decision is judged on (after its mark, once marked)
    quote: str  # the account's currency: equity is measured in it
    now: datetime

    @property
    def equity(self) -> Decimal:
        """Net equity in the quote: what the account holds less what it owes, at the snapshot's prices."""
        return self.account.net_equity(self.quote, values_of(self.prices, self.quote))

    @property
    def free(self) -> Decimal:
        """The quote the account can spend."""
        return self.account.free(self.quote)

    def price(self, symbol: str) -> Decimal | None:
        """The last price read for `symbol`; a symbol the decision did not ask for is a mistake, not a price."""
        if symbol not in self.prices:
            raise KeyError(f"{symbol}: not in the decision's snapshot (read {', '.join(self.prices) or 'none'})")
        return self.prices[symbol]

    def after(self, fills: Sequence[Fill], ctx: Context) -> Snapshot:
        """The snapshot once these fills have settled (a mark after the decision's own orders filled), without
        asking the venue for the account again."""
        if not fills:
            return self
        settled = [(fill, *_assets(ctx, fill.symbol)) for fill in fills]
        return replace(self, account=self.account.settled(settled))


def _assets(ctx: Context, symbol: str) -> tuple[str, str]:
    instrument = ctx.instrument(symbol)
    return instrument.base, instrument.quote


def open_operations(operations: Iterable[Operation]) -> list[Operation]:
    return [op for op in operations if op.status is OperationStatus.ACTIVE and not op.position.is_flat]


def measured(uow: UnitOfWork, now: datetime) -> list[Operation]:
    """The operations the risk rules measure, not the whole history: the open ones, those created or closed this
    week or this month (today's trades, the periods' P&L), and the last closed ones (the loss streak, the recent
    results). Loading every operation ever stored would make each decision slower as the ledger grows."""
    today = now.astimezone(UTC).date()
    start = min(today.replace(day=1), today - timedelta(days=today.weekday()))
    return uow.operations.recent(datetime.combine(start, time(), tzinfo=UTC), policy_state.RECENT_TRADES)


def take(
    ctx: Context,
    uow: UnitOfWork,
    symbols: Iterable[str] = (),
    operations: Sequence[Operation] | None = None,
    policy: PolicyState | None = None,
) -> Snapshot:
    """Read the decision's snapshot: the measured operations (`operations` when the caller has just loaded them),
    the balances once, and the last price of each of `symbols`, of every open operation's symbol and of each asset
    held, once per symbol. `policy`: the state to judge on (the policy's mark sets it)."""
    now = ctx.clock.now()
    loaded = tuple(operations if operations is not None else measured(uow, now))
    account = Account(ctx.exchange.balances())
    wanted = dict.fromkeys(
        [*symbols, *(op.symbol for op in open_operations(loaded)), *pairs_to_value(ctx.exchange, ctx.quote, account)]
    )
    prices = {symbol: ctx.exchange.last_price(symbol) for symbol in wanted}
    return Snapshot(account, prices, loaded, policy, ctx.quote, now)
