"""The demo: seeded markets for two symbols, a handful of operations planned, validated and executed on
the paper exchange, and prices pushed bar by bar until each one exits by its stop or its target."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from robson.backtest.candles import Candle, continuous, find_shared_candles, load_freqtrade_json
from robson.backtest.synthetic import generate_bars
from robson.domain.bars import Bar
from robson.domain.operation import Operation, OperationStatus
from robson.domain.values import HUNDRED, ZERO, Side
from robson.monitor.replay import ReplayLoop
from robson.ports import PaperMarket, SimulatedClock
from robson.services import planning, policy, portfolio, trading
from robson.services.context import Context
from robson.services.errors import Refused
from robson.services.working import Outcome

START_PRICES = {"BTC/USDT": Decimal("90000"), "ETH/USDT": Decimal("3000"), "SOL/USDT": Decimal("150")}
MARK_SECONDS = Decimal(300)  # the demo's bars are 5 minutes: the policy marks (and samples the volatility) at each
SHARED_WINDOW = 40_000  # the 5m bars a real series is read from: from 2020-12-01, about 140 days
SHARED_START = 20_000  # skip the first bars so the demo trades a stretch with both trends and chop


@dataclass(slots=True)
class DemoReport:
    operations: list[Operation] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)  # holds the demo's trader reviewed and lifted
    sources: dict[str, str] = field(default_factory=dict)
    capital_at_open: dict[int, Decimal] = field(default_factory=dict)
    capital_start: Decimal = ZERO
    capital_end: Decimal = ZERO
    bars_pushed: int = 0

    def loss_percent(self, op: Operation) -> Decimal:
        """The operation's loss as % of the capital it was sized from."""
        capital = self.capital_at_open.get(op.id or 0, self.capital_start)
        return -op.realized_pnl / capital * HUNDRED if op.realized_pnl < 0 else ZERO

    @property
    def over_budget(self) -> list[Operation]:
        return [op for op in self.operations if -op.realized_pnl > op.risk_amount]


def market_data(symbols: Sequence[str], bars: int, seed: int, tick: Decimal) -> dict[str, tuple[str, list[Candle]]]:
    """Real candles from ../shared/data when present (rebased to be continuous), generated ones otherwise."""
    data = {}
    for index, symbol in enumerate(symbols):
        path = find_shared_candles(symbol)
        if path is not None:
            candles = load_freqtrade_json(Path(path), limit=SHARED_START + SHARED_WINDOW)[SHARED_START:]
            data[symbol] = (f"real Binance 5m candles ({path.name})", continuous(candles[:bars], tick))
        else:
            generated = generate_bars(seed + index, bars, START_PRICES.get(symbol, Decimal("100")), tick)
            data[symbol] = ("synthetic: GBM, GARCH volatility clustering, jumps", generated)
    return data


def run_demo(
    ctx: Context,
    market: PaperMarket,
    clock: SimulatedClock,
    data: dict[str, tuple[str, list[Candle]]],
    operations_per_symbol: int = 3,
    on_bar: Callable[[], None] | None = None,
) -> DemoReport:
    report = DemoReport(sources={symbol: source for symbol, (source, _) in data.items()})
    market.reset({ctx.quote: Decimal("10000")})
    report.capital_start = portfolio.equity(ctx.exchange, ctx.quote)
    active: dict[str, int] = {}
    done = dict.fromkeys(data, 0)
    length = min(len(candles) for _, candles in data.values())
    loop = ReplayLoop(ctx, market, clock, mark_seconds=MARK_SECONDS)
    for index in range(length):
        for symbol, (_, candles) in data.items():
            bar = candles[index]
            ended = {o.operation.id for o in loop.step(symbol, Bar(bar.open, bar.high, bar.low, bar.close), bar.time)}
            report.bars_pushed += 1
            if symbol in active and active[symbol] in ended and planning.load(ctx, active[symbol]).status.is_final:
                del active[symbol]
                done[symbol] += 1
            if symbol not in active and done[symbol] < operations_per_symbol and index % 12 == 11:
                opened = _open(ctx, symbol, bar.close, report)
                if opened is not None and opened.operation.id is not None:
                    active[symbol] = opened.operation.id
                    loop.follow([opened])
        if on_bar is not None:
            on_bar()
        if not active and all(n >= operations_per_symbol for n in done.values()):
            break
    clock.advance(timedelta(minutes=5))
    for operation_id in active.values():  # the data ran out: close what is still open, by hand
        trading.close(ctx, operation_id, "demo data ended")
    with ctx.unit_of_work() as uow:
        report.operations = uow.operations.list()
    report.capital_end = portfolio.equity(ctx.exchange, ctx.quote)
    return report


def _open(ctx: Context, symbol: str, price: Decimal, report: DemoReport) -> Outcome | None:
    """Plan a long at the market with the strategy's default stop and target, validate it, execute it.
    When the risk engine holds trading (a loss streak, say), the demo's trader reviews it and resumes with an
    override, as a trader would: the hold and the override are both on the audit trail."""
    capital = portfolio.equity(ctx.exchange, ctx.quote)
    try:
        planned = planning.plan(ctx, symbol, Side.LONG, price)
    except Refused as refusal:
        report.refusals.append(f"{symbol}: {refusal}")
        held = policy.state(ctx)
        if held.holds:
            report.overrides.append(f"{', '.join(h.reason for h in held.holds)}: resumed with an override")
            policy.resume(ctx, "demo: the trader reviewed the hold and resumes")
        return None
    operation_id = planned.operation.id
    assert operation_id is not None
    report.capital_at_open[operation_id] = capital
    _, decision = planning.validate(ctx, operation_id)
    if not decision.approved:
        report.refusals.append(f"{symbol}: {decision.summary()}")
        trading.close(ctx, operation_id, "refused by validation")
        return None
    try:
        outcome = trading.execute(ctx, operation_id)
    except Refused as refusal:
        report.refusals.append(f"{symbol}: {refusal}")
        return None
    return outcome if outcome.operation.status is OperationStatus.ACTIVE else None
